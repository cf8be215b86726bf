//! One viewer of a viewer process: reads its feed until it has every
//! benchmark message, checking each frame's seq for gaps and duplicates and
//! timing post → frame (the post time is in the body). Given a fallback
//! node, a viewer whose socket ends reconnects there once, resuming from its
//! epoch and last seq with the widget's backoff (`src/backoff.rs`,
//! `src/feed.rs`), and notes when it was back.

use crate::failover::{self, Failover};
use chyron_bench::seqcheck::{mono_us, read_event, SeqCheck};
use chyron_protocol::{ServerFrame, SnapshotReason};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A viewer's feed socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What one viewer saw.
#[derive(Default)]
pub struct Tally {
    /// Post → frame (µs) of messages posted through this viewer's node.
    pub same_us: Vec<u32>,
    /// Post → frame (µs) of messages posted through another node.
    pub cross_us: Vec<u32>,
    /// Its seqs' gaps and duplicates.
    pub check: SeqCheck,
    /// Benchmark messages it got more than once.
    pub duplicate_messages: u64,
    /// Messages it saw under another seq than the process's first viewer.
    pub seq_mismatches: u64,
    /// `lagged` snapshots: the relay resynced it.
    pub lagged: u64,
    /// Its socket ended before it had every message (and it did not, or
    /// could not, reconnect).
    pub closed: bool,
    /// It waited `quiet` for a frame, or reached the deadline.
    pub timed_out: bool,
    /// Its reconnect to the fallback node, if its node went away.
    pub failover: Option<Failover>,
    /// Snapshots it got after reconnecting: a resume the node could not
    /// serve (what it missed is then lost to it).
    pub fresh_snapshots: u64,
    /// It tried to reconnect and never got back.
    pub reconnect_failed: bool,
}

/// What the viewers of one process share.
pub struct Shared {
    /// seq of each benchmark message, as the first viewer to get it saw it.
    pub seqs: Vec<AtomicU64>,
    /// This process's node.
    pub node: usize,
    /// Nodes the poster alternates over: message `i` goes through `i % nodes`.
    pub nodes: usize,
    /// The node every message is posted through, if not in turn.
    pub post_node: Option<usize>,
    /// Benchmark messages to expect.
    pub messages: usize,
    /// How long a viewer waits for its next frame once messages flow.
    pub quiet: Duration,
    /// When every viewer stops.
    pub deadline: Instant,
    /// The feed URL (no query) of the node to fail over to, if any.
    pub fallback: Option<String>,
    /// Reconnect attempts before a viewer gives up.
    pub attempts: u32,
    /// The sockets' configuration (a small read buffer).
    pub config: WebSocketConfig,
}

/// Reads one viewer's feed until it has every benchmark message, its socket
/// closes (for good), it waited `quiet` for a frame once messages flowed, or
/// the deadline; `ready` is told at its first snapshot.
pub async fn watch(mut ws: Ws, shared: Arc<Shared>, ready: tokio::sync::mpsc::Sender<()>) -> Tally {
    let mut t = Tally::default();
    let mut ready = Some(ready);
    let mut seen = vec![false; shared.messages];
    let mut epoch: Option<String> = None;
    let mut got = 0;
    let mut until = shared.deadline;
    while got < shared.messages {
        let frame = match tokio::time::timeout_at(until, ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            Ok(_) => {
                if let Some(back) = fail_over(&shared, &mut t, epoch.as_deref()).await {
                    ws = back;
                    until = shared.deadline.min(Instant::now() + shared.quiet);
                    continue;
                }
                t.closed = true;
                break;
            }
            Err(_) => {
                t.timed_out = true;
                break;
            }
        };
        let now = mono_us();
        if let Some(f) = t.failover.as_mut().filter(|f| f.first_frame_at == 0) {
            f.first_frame_at = now;
        }
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
            epoch = Some(s.epoch);
            if let Some(r) = ready.take() {
                let _ = r.send(()).await;
            }
            if t.failover.is_some() {
                t.fresh_snapshots += 1;
            }
            if s.reason == SnapshotReason::Lagged {
                t.lagged += 1;
            }
        }
    }
    t
}

/// After the viewer's socket ended: its new socket on the fallback node,
/// resumed from its cursor, if it has a fallback, has not failed over yet
/// and got back in time.
async fn fail_over(shared: &Shared, t: &mut Tally, epoch: Option<&str>) -> Option<Ws> {
    let fallback = shared.fallback.as_deref()?;
    let since = t.check.last()?;
    if t.failover.is_some() {
        return None;
    }
    let closed_at = mono_us();
    let url = failover::resume_url(fallback, epoch?, since);
    let attempts = shared.attempts;
    match failover::reconnect(&url, shared.config, attempts, shared.deadline).await {
        Some(ws) => {
            t.failover = Some(Failover {
                closed_at,
                back_at: mono_us(),
                first_frame_at: 0,
            });
            Some(ws)
        }
        None => {
            t.reconnect_failed = true;
            None
        }
    }
}
