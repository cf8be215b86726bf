//! One viewer process (`chyron-bench-cluster viewers …`): opens its share of
//! the websocket viewers on one node, says `ready` on stdout once each has
//! its snapshot, then reads every frame: seqs checked for gaps and
//! duplicates, the benchmark's messages timed post → frame (the post time is
//! in the body). At the end it writes its latencies to files and one JSON
//! line of counts on stdout. Many processes, so none holds more sockets than
//! the machine's open-files limit allows.

use crate::watch::{watch, Shared};
use chyron_bench::net::raise_nofile;
use chyron_bench::relay::cpu_time;
use clap::Args as ClapArgs;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Each viewer's websocket read buffer: a few frames (tungstenite zero-fills
/// all of it before each read; its 128 KiB default costs the client CPU).
const READ_BUFFER_BYTES: usize = 4 * 1024;

#[derive(ClapArgs)]
pub struct ViewerArgs {
    /// The node's feed URL (`ws://…/feed/CHANNEL?limit=1`).
    #[arg(long)]
    pub url: String,
    /// Viewers this process opens.
    #[arg(long)]
    pub count: usize,
    /// Benchmark messages to expect.
    #[arg(long)]
    pub messages: usize,
    /// This process's node, and how many nodes the poster alternates over:
    /// message `i` is posted through node `i % nodes`.
    #[arg(long, default_value_t = 0)]
    pub node: usize,
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// The node every message is posted through, if not in turn.
    #[arg(long)]
    pub post_node: Option<usize>,
    /// Seconds without a frame, once messages flow, before a viewer gives up.
    #[arg(long, default_value_t = 15)]
    pub quiet: u64,
    /// Seconds from start after which every viewer stops.
    #[arg(long)]
    pub deadline: u64,
    /// Latencies (µs, u32 little-endian) go to PREFIX-same.bin (message
    /// posted through this node) and PREFIX-cross.bin (through another);
    /// failovers (µs on the monotonic clock, u64 little-endian: closed,
    /// back, first frame) to PREFIX-failover.bin.
    #[arg(long)]
    pub latencies: String,
    /// The other node's feed URL (no query): a viewer whose socket ends
    /// reconnects there, resuming from its epoch and last seq.
    #[arg(long)]
    pub fallback: Option<String>,
    /// Reconnect attempts (the widget's backoff between them).
    #[arg(long, default_value_t = 6)]
    pub attempts: u32,
}

/// The process's result line.
#[derive(Serialize, Deserialize, Default)]
pub struct ClientReport {
    pub viewers: usize,
    pub connect_failed: usize,
    pub connect_seconds: f64,
    /// Benchmark messages received (each viewer's first of each).
    pub deliveries: u64,
    /// Seqs skipped, times the seq jumped, events received again.
    pub missing_seqs: u64,
    pub gaps: u64,
    pub duplicates: u64,
    /// The same benchmark message received twice by one viewer.
    pub duplicate_messages: u64,
    /// Viewers that saw a benchmark message under another seq than the
    /// first viewer of this process saw it under.
    pub seq_mismatches: u64,
    pub lagged_resyncs: u64,
    /// Viewers whose socket closed, or that gave up waiting, before all.
    pub closed_early: u64,
    pub timed_out: u64,
    /// The seq of each benchmark message as this process saw it (0: never).
    pub seqs: Vec<u64>,
    /// This process's CPU time (user + system) at the end, in seconds.
    pub cpu_seconds: f64,
    /// Viewers that reconnected to the fallback node.
    pub failovers: u64,
    /// Viewers that tried to and never got back.
    pub reconnect_failed: u64,
    /// Snapshots after a reconnect: resumes the fallback could not serve.
    pub fresh_snapshots: u64,
}

pub async fn run(args: ViewerArgs) -> Result<(), Box<dyn std::error::Error>> {
    raise_nofile();
    let start = Instant::now();
    let shared = Arc::new(Shared {
        seqs: (0..args.messages).map(|_| AtomicU64::new(0)).collect(),
        node: args.node,
        nodes: args.nodes.max(1),
        post_node: args.post_node,
        messages: args.messages,
        quiet: Duration::from_secs(args.quiet),
        deadline: start + Duration::from_secs(args.deadline),
        fallback: args.fallback.clone(),
        attempts: args.attempts,
        config: WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES),
    });
    let config = shared.config;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.count.max(1));
    let mut viewers = Vec::with_capacity(args.count);
    let mut connect_failed = 0;
    for _ in 0..args.count {
        let connect = tokio_tungstenite::connect_async_with_config(&args.url, Some(config), true);
        match tokio::time::timeout_at(shared.deadline, connect).await {
            Ok(Ok((ws, _))) => {
                let task = watch(ws, shared.clone(), ready_tx.clone());
                viewers.push(tokio::spawn(task));
            }
            Ok(Err(e)) => {
                connect_failed += 1;
                if connect_failed <= 3 {
                    eprintln!("[viewers] connect to {}: {e}", args.url);
                }
            }
            Err(_) => connect_failed += 1,
        }
    }
    drop(ready_tx);
    for _ in 0..viewers.len() {
        if tokio::time::timeout_at(shared.deadline, ready_rx.recv())
            .await
            .ok()
            .flatten()
            .is_none()
        {
            break;
        }
    }
    let connect_seconds = start.elapsed().as_secs_f64();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready")?;
        out.flush()?;
    }

    let mut report = ClientReport {
        viewers: viewers.len(),
        connect_failed,
        connect_seconds,
        ..ClientReport::default()
    };
    let (mut same, mut cross, mut failovers) = (Vec::new(), Vec::new(), Vec::new());
    for v in viewers {
        let t = v.await?;
        report.deliveries += (t.same_us.len() + t.cross_us.len()) as u64;
        report.missing_seqs += t.check.missing;
        report.gaps += t.check.gaps;
        report.duplicates += t.check.duplicates;
        report.duplicate_messages += t.duplicate_messages;
        report.seq_mismatches += t.seq_mismatches;
        report.lagged_resyncs += t.lagged;
        report.closed_early += u64::from(t.closed);
        report.timed_out += u64::from(t.timed_out);
        report.reconnect_failed += u64::from(t.reconnect_failed);
        report.fresh_snapshots += t.fresh_snapshots;
        failovers.extend(t.failover.map(|f| f.to_u64s()));
        same.extend(t.same_us);
        cross.extend(t.cross_us);
    }
    write_u32s(&format!("{}-same.bin", args.latencies), &same)?;
    write_u32s(&format!("{}-cross.bin", args.latencies), &cross)?;
    report.failovers = failovers.len() as u64;
    let bytes: Vec<u8> = failovers
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(format!("{}-failover.bin", args.latencies), bytes)?;
    report.seqs = shared
        .seqs
        .iter()
        .map(|s| s.load(Ordering::Relaxed))
        .collect();
    report.cpu_seconds = cpu_time(std::process::id()).as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&report)?)?;
    out.flush()?;
    Ok(())
}

fn write_u32s(path: &str, values: &[u32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes)
}

/// Reads a failover file: (closed, back, first frame) of each viewer that
/// failed over (empty if none did).
pub fn read_failovers(path: &str) -> Vec<[u64; 3]> {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes
        .chunks_exact(24)
        .map(|c| {
            let at =
                |k: usize| u64::from_le_bytes(c[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
            [at(0), at(1), at(2)]
        })
        .collect()
}

/// Reads a file [`write_u32s`] wrote.
pub fn read_u32s(path: &str) -> std::io::Result<Vec<u32>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}
