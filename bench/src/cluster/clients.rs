//! One viewer process (`chyron-bench-cluster viewers …`): opens its share of
//! the websocket viewers on one node, says `ready` on stdout once each has
//! its snapshot, then reads every frame: seqs checked for gaps and
//! duplicates, the benchmark's messages timed post → frame (the post time is
//! in the body). At the end it writes its latencies to files and one JSON
//! line of counts on stdout. Many processes, so none holds more sockets than
//! the machine's open-files limit allows.

use chyron_bench::net::raise_nofile;
use chyron_bench::relay::cpu_time;
use chyron_bench::seqcheck::{mono_us, read_event, SeqCheck};
use chyron_protocol::{ServerFrame, SnapshotReason};
use clap::Args as ClapArgs;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

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
    /// posted through this node) and PREFIX-cross.bin (through another).
    #[arg(long)]
    pub latencies: String,
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
}

/// What one viewer saw.
#[derive(Default)]
struct Tally {
    same_us: Vec<u32>,
    cross_us: Vec<u32>,
    check: SeqCheck,
    duplicate_messages: u64,
    seq_mismatches: u64,
    lagged: u64,
    closed: bool,
    timed_out: bool,
}

/// What the viewers of one process share.
struct Shared {
    /// seq of each benchmark message, as the first viewer to get it saw it.
    seqs: Vec<AtomicU64>,
    node: usize,
    nodes: usize,
    post_node: Option<usize>,
    messages: usize,
    quiet: Duration,
    deadline: Instant,
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
    });
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
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
    let (mut same, mut cross) = (Vec::new(), Vec::new());
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
        same.extend(t.same_us);
        cross.extend(t.cross_us);
    }
    write_u32s(&format!("{}-same.bin", args.latencies), &same)?;
    write_u32s(&format!("{}-cross.bin", args.latencies), &cross)?;
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

/// Reads one viewer's feed until it has every benchmark message, its socket
/// closes, it waited `quiet` for a frame once messages flowed, or the
/// deadline; `ready` is told at its first snapshot.
async fn watch<S>(mut ws: S, shared: Arc<Shared>, ready: tokio::sync::mpsc::Sender<()>) -> Tally
where
    S: Stream<Item = Result<WsMessage, WsError>> + Unpin,
{
    let mut t = Tally::default();
    let mut ready = Some(ready);
    let mut seen = vec![false; shared.messages];
    let mut got = 0;
    let mut until = shared.deadline;
    while got < shared.messages {
        let frame = match tokio::time::timeout_at(until, ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            Ok(_) => {
                t.closed = true;
                break;
            }
            Err(_) => {
                t.timed_out = true;
                break;
            }
        };
        let now = mono_us();
        // Message frames are read without a full parse: the client must stay
        // cheap beside the servers on two cores.
        if let Some(event) = read_event(&frame) {
            t.check.event(event.seq);
            until = shared.deadline.min(Instant::now() + shared.quiet);
            let Some((i, posted)) = event.bench.filter(|(i, _)| *i < shared.messages) else {
                continue;
            };
            if std::mem::replace(&mut seen[i], true) {
                t.duplicate_messages += 1;
                continue;
            }
            got += 1;
            let first =
                shared.seqs[i].compare_exchange(0, event.seq, Ordering::Relaxed, Ordering::Relaxed);
            if first.is_err_and(|s| s != event.seq) {
                t.seq_mismatches += 1;
            }
            let us = now.saturating_sub(posted).min(u64::from(u32::MAX)) as u32;
            if shared.post_node.unwrap_or(i % shared.nodes) == shared.node {
                t.same_us.push(us);
            } else {
                t.cross_us.push(us);
            }
        } else if let Ok(ServerFrame::Snapshot(s)) = serde_json::from_str::<ServerFrame>(&frame) {
            t.check.snapshot(s.seq);
            if let Some(r) = ready.take() {
                let _ = r.send(()).await;
            }
            if s.reason == SnapshotReason::Lagged {
                t.lagged += 1;
            }
        }
    }
    t
}

fn write_u32s(path: &str, values: &[u32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes)
}

/// Reads a file [`write_u32s`] wrote.
pub fn read_u32s(path: &str) -> std::io::Result<Vec<u32>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}
