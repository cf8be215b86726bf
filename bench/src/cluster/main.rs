//! Cluster benchmark: websocket viewers split across relay nodes sharing one
//! Redis (`--nodes 2 --redis URL`), or all on one relay without Redis
//! (`--nodes 1`, today's mode), under the same client. Messages are posted
//! through the HTTP API at a fixed rate, alternating between the nodes, so
//! every node numbers events through Redis. The viewers run in separate
//! processes (`chyron-bench-cluster viewers …`, at most ~15,000 sockets
//! each); each checks its frames' seqs for gaps and duplicates and times
//! post → frame. Records deliveries, latency percentiles (all, and by
//! whether the message was posted through the viewer's node or another),
//! RSS per viewer per node, and CPU of every process; prints and saves JSON.
//!
//! `chyron-bench-cluster --nodes 2 --redis redis+unix:///tmp/r/redis.sock --viewers 10000 --rate 20 --seconds 60`

// The report's `json!` is long.
#![recursion_limit = "256"]

mod clients;

use chyron_bench::net::raise_nofile;
use chyron_bench::relay::{self, cpu_time, rss_kib, Relay};
use chyron_bench::seqcheck::{bench_body, mono_us};
use chyron_bench::viewers::percentile_ms;
use clap::{Parser, Subcommand};
use clients::{read_u32s, ClientReport, ViewerArgs};
use serde::Serialize;
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::Instant;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    viewers: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Sub {
    /// One viewer process (started by the benchmark itself).
    Viewers(ViewerArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Relay nodes; more than one needs `--redis`.
    #[arg(long, default_value_t = 2)]
    nodes: usize,
    /// The Redis the nodes share (as `scripts/redis.sh start` prints it).
    #[arg(long)]
    redis: Option<String>,
    /// Redis's PID file, to read its CPU and memory.
    #[arg(long)]
    redis_pidfile: Option<String>,
    /// Websocket viewers in all, split evenly across the nodes.
    #[arg(long, default_value_t = 10_000)]
    viewers: usize,
    /// Viewer processes (at least one per node, at most ~15,000 sockets each).
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// Messages posted per second (through node 0, 1, 0, … in turn).
    #[arg(long, default_value_t = 20)]
    rate: u32,
    /// Post every message through this node instead of through each in turn
    /// (so the others get them only through Redis).
    #[arg(long)]
    post_node: Option<usize>,
    /// Seconds to post for.
    #[arg(long, default_value_t = 60)]
    seconds: u32,
    /// Seconds a viewer waits for its next frame once messages flow.
    #[arg(long, default_value_t = 15)]
    quiet: u64,
    /// Seconds the viewers may take to connect.
    #[arg(long, default_value_t = 240)]
    connect_timeout: u64,
    /// The relay binary.
    #[arg(long, default_value = "target/release/chyron-relay")]
    relay: String,
    /// A name for this run in the report.
    #[arg(long, default_value = "")]
    label: String,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench/out/cluster.json")]
    out: String,
}

const TOKEN: &str = "bench-token";
/// Sockets one viewer process may hold (the hard limit here is 20,000).
const MAX_SOCKETS_PER_PROCESS: usize = 15_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if let Some(Sub::Viewers(args)) = cli.viewers {
        return clients::run(args).await;
    }
    let args = cli.run;
    if args.nodes > 1 && args.redis.is_none() {
        return Err("more than one node needs --redis".into());
    }
    raise_nofile();
    let report = run(&args).await?;
    chyron_bench::save_report(&args.out, &report)?;
    Ok(())
}

/// A viewer process: its node, viewers, and its stdout's lines.
struct Client {
    child: Child,
    node: usize,
    viewers: usize,
    lines: Lines<BufReader<ChildStdout>>,
    latencies: String,
}

/// A relay node's figures.
#[derive(Serialize)]
struct NodeFigures {
    node: usize,
    viewers: usize,
    rss_kib_idle: u64,
    rss_kib_connected: u64,
    rss_kib_peak: u64,
    rss_kib_per_viewer: f64,
    cpu_pct: f64,
    alive_at_end: bool,
    /// Lines of the relay's log at WARN (or above), and those saying its
    /// Redis pub/sub connection broke and is reconnecting.
    log_warnings: usize,
    pubsub_reconnects: usize,
    /// The first lines of its log.
    log_sample: Vec<String>,
}

async fn run(args: &RunArgs) -> Result<Value, Box<dyn std::error::Error>> {
    let nodes = args.nodes.max(1);
    let loadavg_start = loadavg();
    let mut relays = Vec::with_capacity(nodes);
    let tmp = std::env::temp_dir().join(format!("chyron-bench-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let logs: Vec<_> = (0..nodes)
        .map(|n| tmp.join(format!("relay-{n}.log")))
        .collect();
    for log in &logs {
        let mut extra = vec!["--max-connections".to_string(), "19000".to_string()];
        if let Some(url) = &args.redis {
            extra.extend(["--redis".to_string(), url.clone()]);
        }
        let options = relay::Options {
            loosen_limits: true,
            extra,
            die_with_parent: true,
            log_file: Some(log.clone()),
            ..relay::Options::default()
        };
        relays.push(Relay::start_with(&args.relay, TOKEN, options).await?);
    }
    let redis_pid = args
        .redis_pidfile
        .as_deref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| s.trim().parse::<u32>().ok());
    // A channel of its own per run: runs may share one Redis.
    let channel = format!("bench-{}-{}", std::process::id(), mono_us() % 1_000_000);
    let http = reqwest::Client::new();
    let post_urls: Vec<String> = relays
        .iter()
        .map(|r| format!("{}/api/v1/channels/{channel}/messages", r.url))
        .collect();
    // Every node loads the channel (and subscribes to it in Redis) first.
    for url in &post_urls {
        post(&http, url, "warm-up").await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle: Vec<u64> = relays.iter().map(Relay::rss_kib).collect();

    let messages = (args.rate * args.seconds) as usize;
    let needed = args.viewers.div_ceil(MAX_SOCKETS_PER_PROCESS);
    let processes = args.clients.max(nodes).max(needed);
    let connect_start = Instant::now();
    let deadline = args.connect_timeout + u64::from(args.seconds) + args.quiet + 60;
    let exe = std::env::current_exe()?;
    let mut clients = Vec::with_capacity(processes);
    for c in 0..processes {
        let node = c % nodes;
        let viewers = args.viewers / processes + usize::from(c < args.viewers % processes);
        let latencies = tmp.join(format!("lat-{c}")).to_string_lossy().into_owned();
        let url = format!(
            "{}/feed/{channel}?limit=1",
            relays[node].url.replacen("http", "ws", 1)
        );
        let mut command = Command::new(&exe);
        command
            .arg("viewers")
            .args(["--url", &url, "--latencies", &latencies])
            .args(["--count", &viewers.to_string()])
            .args(["--messages", &messages.to_string()])
            .args(["--node", &node.to_string(), "--nodes", &nodes.to_string()])
            .args(args.post_node.map(|n| format!("--post-node={n}")))
            .args(["--quiet", &args.quiet.to_string()])
            .args(["--deadline", &deadline.to_string()])
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        relay::die_with_parent(&mut command);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = BufReader::new(stdout).lines();
        clients.push(Client {
            child,
            node,
            viewers,
            lines,
            latencies,
        });
    }
    let ready_by = connect_start + Duration::from_secs(args.connect_timeout);
    for c in &mut clients {
        match tokio::time::timeout_at(ready_by, c.lines.next_line()).await {
            Ok(Ok(Some(line))) if line == "ready" => {}
            other => return Err(format!("a viewer process did not get ready: {other:?}").into()),
        }
    }
    let connect_seconds = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected: Vec<u64> = relays.iter().map(Relay::rss_kib).collect();

    // Peaks of each relay and of Redis, sampled every 250 ms.
    let mut watched: Vec<u32> = relays.iter().filter_map(Relay::pid).collect();
    watched.extend(redis_pid);
    let peaks: Arc<Vec<AtomicU64>> = Arc::new(watched.iter().map(|_| AtomicU64::new(0)).collect());
    let sampler = tokio::spawn(sample_rss(watched.clone(), peaks.clone()));
    let client_pids: Vec<u32> = clients.iter().filter_map(|c| c.child.id()).collect();
    let cpu_at = |pids: &[u32]| pids.iter().map(|p| cpu_time(*p)).collect::<Vec<_>>();
    let (relay_pids, me) = (&watched[..relays.len()], std::process::id());
    let (cpu0_relays, cpu0_clients) = (cpu_at(relay_pids), cpu_at(&client_pids));
    let (cpu0_redis, cpu0_me) = (redis_pid.map(cpu_time), cpu_time(me));
    let posting = Instant::now();

    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = Vec::with_capacity(messages);
    for i in 0..messages {
        tick.tick().await;
        let at = mono_us();
        let through = args.post_node.unwrap_or(i % nodes).min(nodes - 1);
        let (http, url) = (http.clone(), post_urls[through].clone());
        posts.push(tokio::spawn(async move {
            let ok = post(&http, &url, &bench_body(i, at)).await;
            (ok, mono_us().saturating_sub(at))
        }));
    }
    let post_seconds = posting.elapsed().as_secs_f64();
    let (mut post_errors, mut call_us, mut post_seqs) = (Vec::new(), Vec::new(), Vec::new());
    for p in posts {
        match p.await? {
            (Ok(seq), us) => {
                call_us.push(us.min(u64::from(u32::MAX)) as u32);
                post_seqs.push(seq);
            }
            (Err(e), _) => post_errors.push(e),
        }
    }

    // A viewer stops once it has every message, `quiet` s after its last
    // frame, or at its deadline: a process that falls behind may take long.
    let results_by = connect_start + Duration::from_secs(deadline + 10);
    let mut reports = Vec::with_capacity(clients.len());
    for c in &mut clients {
        let line = tokio::time::timeout_at(results_by, c.lines.next_line()).await;
        let report: ClientReport = match line {
            Ok(Ok(Some(line))) => serde_json::from_str(&line)?,
            other => {
                eprintln!("[cluster] a viewer process gave no result: {other:?}");
                ClientReport::default()
            }
        };
        reports.push(report);
    }
    let window = posting.elapsed().as_secs_f64();
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / window;
    let cpu_relays: Vec<f64> = cpu_at(relay_pids)
        .iter()
        .zip(&cpu0_relays)
        .map(|(b, a)| pct(b.saturating_sub(*a)))
        .collect();
    let cpu_redis =
        redis_pid.map(|p| pct(cpu_time(p).saturating_sub(cpu0_redis.unwrap_or_default())));
    let cpu_me = pct(cpu_time(me).saturating_sub(cpu0_me));
    sampler.abort();
    let alive: Vec<bool> = relays.iter_mut().map(Relay::alive).collect();
    let peak_of = |i: usize| peaks[i].load(Ordering::Relaxed);

    // Latencies, all viewers together; then by where the message was posted.
    let (mut same, mut cross) = (Vec::new(), Vec::new());
    for c in &clients {
        same.extend(read_u32s(&format!("{}-same.bin", c.latencies)).unwrap_or_default());
        cross.extend(read_u32s(&format!("{}-cross.bin", c.latencies)).unwrap_or_default());
    }
    let relay_logs: Vec<String> = logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap_or_default())
        .collect();
    let _ = std::fs::remove_dir_all(&tmp);
    let mut all: Vec<u32> = same.iter().chain(&cross).copied().collect();
    all.sort_unstable();
    same.sort_unstable();
    cross.sort_unstable();
    call_us.sort_unstable();

    // Every process must have seen each message under the same seq.
    let mut seq_of = vec![0u64; messages];
    let mut cross_process_mismatches = 0;
    for r in &reports {
        for (i, &s) in r.seqs.iter().enumerate().take(messages) {
            if s == 0 {
                continue;
            }
            if seq_of[i] == 0 {
                seq_of[i] = s;
            } else if seq_of[i] != s {
                cross_process_mismatches += 1;
            }
        }
    }
    post_seqs.sort_unstable();
    let distinct_post_seqs = {
        let mut d = post_seqs.clone();
        d.dedup();
        d.len()
    };

    let sum = |f: fn(&ClientReport) -> u64| reports.iter().map(f).sum::<u64>();
    let node_figures: Vec<NodeFigures> = (0..nodes)
        .map(|n| {
            let viewers: usize = clients
                .iter()
                .filter(|c| c.node == n)
                .map(|c| c.viewers)
                .sum();
            NodeFigures {
                node: n,
                viewers,
                rss_kib_idle: rss_idle[n],
                rss_kib_connected: rss_connected[n],
                rss_kib_peak: peak_of(n).max(rss_connected[n]),
                rss_kib_per_viewer: rss_connected[n].saturating_sub(rss_idle[n]) as f64
                    / viewers.max(1) as f64,
                cpu_pct: cpu_relays[n],
                alive_at_end: alive[n],
                log_warnings: relay_logs[n].lines().filter(|l| l.contains("WARN")).count(),
                pubsub_reconnects: relay_logs[n]
                    .lines()
                    .filter(|l| l.contains("redis pub/sub") && l.contains("reconnecting"))
                    .count(),
                log_sample: relay_logs[n].lines().take(3).map(strip_ansi).collect(),
            }
        })
        .collect();
    let client_figures: Vec<Value> = clients
        .iter()
        .zip(&reports)
        .zip(&cpu0_clients)
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
    let lat = |v: &[u32]| {
        json!({
            "deliveries": v.len(),
            "p50_ms": percentile_ms(v, 0.50),
            "p99_ms": percentile_ms(v, 0.99),
            "max_ms": percentile_ms(v, 1.0),
        })
    };
    Ok(json!({
        "mode": if args.redis.is_some() { "cluster" } else { "single" },
        "label": args.label,
        "nodes": nodes,
        "redis": args.redis.is_some(),
        "channel": channel,
        "viewers": args.viewers,
        "viewer_processes": processes,
        "messages": messages,
        "post_node": args.post_node,
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "posts_ok": call_us.len(),
        "posts_failed": post_errors.len(),
        "post_errors": post_errors.iter().take(5).collect::<Vec<_>>(),
        "post_seqs_distinct": distinct_post_seqs,
        "post_seq_first": post_seqs.first(),
        "post_seq_last": post_seqs.last(),
        "post_call_ms_p50": percentile_ms(&call_us, 0.50),
        "post_call_ms_p99": percentile_ms(&call_us, 0.99),
        "post_seconds": post_seconds,
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
        "seq_mismatches": sum(|r| r.seq_mismatches) + cross_process_mismatches,
        "lagged_resyncs": sum(|r| r.lagged_resyncs),
        "viewers_closed_early": sum(|r| r.closed_early),
        "viewers_timed_out": sum(|r| r.timed_out),
        "relays": node_figures,
        "redis_server": redis_pid.map(|p| json!({
            "cpu_pct": cpu_redis,
            "rss_kib_peak": peak_of(relays.len()).max(rss_kib(p)),
        })),
        "viewer_clients": client_figures,
        "poster_cpu_pct": cpu_me,
        "connect_seconds": connect_seconds,
        "window_seconds": window,
        "loadavg_start": loadavg_start,
        "loadavg_end": loadavg(),
    }))
}

/// Keeps the highest RSS of each process in `peaks`, sampled every 250 ms.
async fn sample_rss(pids: Vec<u32>, peaks: Arc<Vec<AtomicU64>>) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    loop {
        every.tick().await;
        for (pid, peak) in pids.iter().zip(peaks.iter()) {
            peak.fetch_max(rss_kib(*pid), Ordering::Relaxed);
        }
    }
}

/// Posts one message; the seq the relay gave it.
async fn post(http: &reqwest::Client, url: &str, body: &str) -> Result<u64, String> {
    let response = http
        .post(url)
        .bearer_auth(TOKEN)
        .json(&json!({"sender": "bench", "body": body}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("{status}: {text}"));
    }
    let v: Value = response.json().await.map_err(|e| e.to_string())?;
    v["seq"].as_u64().ok_or_else(|| format!("no seq in {v}"))
}

/// The 1, 5 and 15 minute load averages.
fn loadavg() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect()
}

/// A log line without its terminal colours.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ … letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
