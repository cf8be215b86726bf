//! The run's report: what [`run`](crate::run::run) measured, and the viewer
//! processes' results, summed and checked into one JSON value.

use crate::clients::{read_failovers, read_u32s, ClientReport};
use crate::launch::Client;
use crate::procs::{loadavg, strip_ansi};
use crate::RunArgs;
use chyron_bench::relay::{rss_kib, Server};
use chyron_bench::viewers::percentile_ms;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

/// What the run measured itself (the viewers' part is in their reports).
pub struct Measured {
    /// Relay nodes started.
    pub nodes: usize,
    /// The run's channel.
    pub channel: String,
    /// Benchmark messages posted.
    pub messages: usize,
    /// Viewer processes.
    pub processes: usize,
    /// Each node's RSS (KiB) before its viewers: the base of RSS per viewer.
    pub rss_idle: Vec<u64>,
    /// Each node's RSS (KiB) with its viewers connected.
    pub rss_connected: Vec<u64>,
    /// Peak RSS (KiB) of each node, then of Redis if watched.
    pub peaks: Vec<u64>,
    /// Whether each node still ran at the end.
    pub alive: Vec<bool>,
    /// CPU of each node over the run, % of one core.
    pub cpu_relays: Vec<f64>,
    /// Redis's PID, when the run was told its PID file.
    pub redis_pid: Option<u32>,
    /// Redis's CPU over the run, % of one core.
    pub cpu_redis: Option<f64>,
    /// The poster's (this process's) CPU over the run, % of one core.
    pub cpu_me: f64,
    /// Each viewer process's CPU time when posting started.
    pub cpu0_clients: Vec<Duration>,
    /// Each node's log.
    pub relay_logs: Vec<String>,
    /// Failed posts' errors.
    pub post_errors: Vec<String>,
    /// Successful posts' call times (µs).
    pub call_us: Vec<u32>,
    /// Successful posts' seqs: distinct ones prove Redis numbered each once.
    pub post_seqs: Vec<u64>,
    /// Seconds the posting took.
    pub post_seconds: f64,
    /// Seconds the viewers took to connect.
    pub connect_seconds: f64,
    /// Seconds from the first post to the last result: CPU's denominator.
    pub window: f64,
    /// Load averages when the run started.
    pub loadavg_start: Vec<f64>,
    /// The node killed in a failover run, and when (µs, monotonic clock).
    pub kill: Option<(usize, u64)>,
}

/// A relay node's figures.
#[derive(Serialize)]
struct NodeFigures {
    /// The node's number.
    node: usize,
    /// Viewers started on it.
    viewers: usize,
    /// RSS before its viewers (KiB).
    rss_kib_idle: u64,
    /// RSS with its viewers connected (KiB).
    rss_kib_connected: u64,
    /// The highest RSS sampled during the run (KiB).
    rss_kib_peak: u64,
    /// (connected − idle) ÷ viewers.
    rss_kib_per_viewer: f64,
    /// CPU over the run, % of one core.
    cpu_pct: f64,
    /// Whether it still ran at the end (a crash shows here).
    alive_at_end: bool,
    /// Lines of the relay's log at WARN (or above).
    log_warnings: usize,
    /// Log lines saying its Redis pub/sub connection broke and reconnects.
    pubsub_reconnects: usize,
    /// The first lines of its log.
    log_sample: Vec<String>,
}

/// Latency percentiles of sorted µs.
fn lat(v: &[u32]) -> Value {
    json!({
        "deliveries": v.len(),
        "p50_ms": percentile_ms(v, 0.50),
        "p99_ms": percentile_ms(v, 0.99),
        "max_ms": percentile_ms(v, 1.0),
    })
}

/// Benchmark messages some process saw under another seq than another did.
fn cross_process_mismatches(reports: &[ClientReport], messages: usize) -> u64 {
    let mut seq_of = vec![0u64; messages];
    let mut mismatches = 0;
    for r in reports {
        for (i, &s) in r.seqs.iter().enumerate().take(messages) {
            if s == 0 {
                continue;
            }
            if seq_of[i] == 0 {
                seq_of[i] = s;
            } else if seq_of[i] != s {
                mismatches += 1;
            }
        }
    }
    mismatches
}

/// Sorted µs from `from` to each `to` (0 `to`s, never reached, left out).
fn spans(pairs: impl Iterator<Item = (u64, u64)>) -> Vec<u32> {
    let mut us: Vec<u32> = pairs
        .filter(|(_, to)| *to != 0)
        .map(|(from, to)| to.saturating_sub(from).min(u64::from(u32::MAX)) as u32)
        .collect();
    us.sort_unstable();
    us
}

/// The failover run's figures: how long the killed node's viewers took to
/// be back on the other node, from the kill and from their socket's end,
/// and to their first frame there; how many got back, and how many only
/// with a fresh snapshot.
fn failover(kill: (usize, u64), clients: &[Client], reports: &[ClientReport]) -> Value {
    let (node, at) = kill;
    let times: Vec<[u64; 3]> = clients
        .iter()
        .flat_map(|c| read_failovers(&format!("{}-failover.bin", c.latencies)))
        .collect();
    let sum = |f: fn(&ClientReport) -> u64| reports.iter().map(f).sum::<u64>();
    let on_node: usize = clients
        .iter()
        .filter(|c| c.node == node)
        .map(|c| c.viewers)
        .sum();
    json!({
        "killed_node": node,
        "viewers_on_killed_node": on_node,
        "viewers_back": sum(|r| r.failovers),
        "reconnect_failed": sum(|r| r.reconnect_failed),
        "fresh_snapshots": sum(|r| r.fresh_snapshots),
        "back_since_kill": lat(&spans(times.iter().map(|t| (at, t[1])))),
        "back_since_socket_closed": lat(&spans(times.iter().map(|t| (t[0], t[1])))),
        "first_frame_since_kill": lat(&spans(times.iter().map(|t| (at, t[2])))),
    })
}

impl Measured {
    fn node_figures(&self, n: usize, clients: &[Client]) -> NodeFigures {
        let viewers: usize = clients
            .iter()
            .filter(|c| c.node == n)
            .map(|c| c.viewers)
            .sum();
        let log = self.relay_logs.get(n).map_or("", String::as_str);
        NodeFigures {
            node: n,
            viewers,
            rss_kib_idle: self.rss_idle[n],
            rss_kib_connected: self.rss_connected[n],
            rss_kib_peak: self.peaks[n].max(self.rss_connected[n]),
            rss_kib_per_viewer: self.rss_connected[n].saturating_sub(self.rss_idle[n]) as f64
                / viewers.max(1) as f64,
            cpu_pct: self.cpu_relays[n],
            alive_at_end: self.alive[n],
            log_warnings: log.lines().filter(|l| l.contains("WARN")).count(),
            pubsub_reconnects: log
                .lines()
                .filter(|l| l.contains("redis pub/sub") && l.contains("reconnecting"))
                .count(),
            log_sample: log.lines().take(3).map(strip_ansi).collect(),
        }
    }

    /// The run's report; reads the viewer processes' latency files.
    pub fn report(mut self, args: &RunArgs, clients: &[Client], reports: &[ClientReport]) -> Value {
        let messages = self.messages;
        // Latencies, all viewers together; then by where the message was posted.
        let (mut same, mut cross) = (Vec::new(), Vec::new());
        for c in clients {
            same.extend(read_u32s(&format!("{}-same.bin", c.latencies)).unwrap_or_default());
            cross.extend(read_u32s(&format!("{}-cross.bin", c.latencies)).unwrap_or_default());
        }
        let mut all: Vec<u32> = same.iter().chain(&cross).copied().collect();
        all.sort_unstable();
        same.sort_unstable();
        cross.sort_unstable();
        self.call_us.sort_unstable();
        self.post_seqs.sort_unstable();
        let distinct_post_seqs = {
            let mut d = self.post_seqs.clone();
            d.dedup();
            d.len()
        };
        let sum = |f: fn(&ClientReport) -> u64| reports.iter().map(f).sum::<u64>();
        let node_figures: Vec<NodeFigures> = (0..self.nodes)
            .map(|n| self.node_figures(n, clients))
            .collect();
        let window = self.window;
        let client_figures: Vec<Value> = clients
            .iter()
            .zip(reports)
            .zip(&self.cpu0_clients)
            .map(|((c, r), cpu0)| {
                json!({
                    "node": c.node,
                    "viewers": c.viewers,
                    "connected": r.viewers,
                    "connect_failed": r.connect_failed,
                    "connect_seconds": r.connect_seconds,
                    "cpu_pct": 100.0 * (r.cpu_seconds - cpu0.as_secs_f64()).max(0.0) / window,
                })
            })
            .collect();
        let expected = (messages * args.viewers) as u64;
        let deliveries = all.len() as u64;
        let redis_peak = self.peaks.get(self.nodes).copied().unwrap_or(0);
        json!({
            "mode": match (args.server, args.redis.is_some()) {
                (Server::Node, _) => "node-ws",
                (Server::Relay, true) => "cluster",
                (Server::Relay, false) => "single",
            },
            "server": args.server,
            "label": args.label,
            "nodes": self.nodes,
            "redis": args.redis.is_some(),
            "channel": self.channel,
            "viewers": args.viewers,
            "viewer_processes": self.processes,
            "messages": messages,
            "post_node": args.post_node,
            "rate_per_s": args.rate,
            "seconds": args.seconds,
            "posts_ok": self.call_us.len(),
            "posts_failed": self.post_errors.len(),
            "post_errors": self.post_errors.iter().take(5).collect::<Vec<_>>(),
            "post_seqs_distinct": distinct_post_seqs,
            "post_seq_first": self.post_seqs.first(),
            "post_seq_last": self.post_seqs.last(),
            "post_call_ms_p50": percentile_ms(&self.call_us, 0.50),
            "post_call_ms_p99": percentile_ms(&self.call_us, 0.99),
            "post_seconds": self.post_seconds,
            "deliveries": deliveries,
            "expected_deliveries": expected,
            "lost": expected.saturating_sub(deliveries),
            "latency_ms_p50": percentile_ms(&all, 0.50),
            "latency_ms_p99": percentile_ms(&all, 0.99),
            "latency_ms_max": percentile_ms(&all, 1.0),
            "latency_posted_on_own_node": lat(&same),
            "latency_posted_on_other_node": lat(&cross),
            "missing_seqs": sum(|r| r.missing_seqs),
            "gaps": sum(|r| r.gaps),
            "duplicates": sum(|r| r.duplicates),
            "duplicate_messages": sum(|r| r.duplicate_messages),
            "seq_mismatches": sum(|r| r.seq_mismatches) + cross_process_mismatches(reports, messages),
            "lagged_resyncs": sum(|r| r.lagged_resyncs),
            "viewers_closed_early": sum(|r| r.closed_early),
            "viewers_timed_out": sum(|r| r.timed_out),
            "relays": node_figures,
            "redis_server": self.redis_pid.map(|p| json!({
                "cpu_pct": self.cpu_redis,
                "rss_kib_peak": redis_peak.max(rss_kib(p)),
            })),
            "viewer_clients": client_figures,
            "poster_cpu_pct": self.cpu_me,
            "connect_seconds": self.connect_seconds,
            "window_seconds": window,
            "loadavg_start": self.loadavg_start,
            "loadavg_end": loadavg(),
            "failover": self.kill.map(|k| failover(k, clients, reports)),
        })
    }
}
