//! One overlay viewer: reads its feed socket and times each moderation
//! action from the request's start to the frame that shows it.

use super::plan::Targets;
use chyron_protocol::{ServerFrame, SnapshotReason};
use futures_util::{Stream, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

/// When each action's request started, in µs since the run's start, by
/// action number (stored before the request is sent, so before any frame).
pub type SentTimes = Arc<Vec<AtomicU64>>;

/// What one viewer saw.
#[derive(Default)]
pub struct Seen {
    /// (action number, request start → frame in µs), once per action.
    pub deliveries: Vec<(usize, u32)>,
    /// Frames of an action seen again (should stay 0).
    pub repeats: u64,
    /// `lagged` snapshots (the relay resynced this viewer: frames skipped).
    pub lagged: u64,
}

/// Reads frames until every action was seen or `stop` turns true; `ready` is
/// told at the first snapshot.
pub async fn watch<S>(
    mut ws: S,
    targets: Arc<Targets>,
    sent: SentTimes,
    start: Instant,
    ready: tokio::sync::mpsc::Sender<()>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Seen
where
    S: Stream<Item = Result<WsMessage, WsError>> + Unpin,
{
    let mut seen = Seen::default();
    let mut got = vec![false; sent.len()];
    let mut ready = Some(ready);
    while seen.deliveries.len() < sent.len() {
        let text = tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => text,
                Some(Ok(_)) => continue,
                _ => break,
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        let now = start.elapsed().as_micros() as u64;
        // Before the actions only the snapshot matters; after it, the
        // frames are few (one or two per action), so a full parse is cheap.
        let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else {
            continue;
        };
        if let ServerFrame::Snapshot(s) = &frame {
            if let Some(r) = ready.take() {
                let _ = r.send(()).await;
            }
            if s.reason == SnapshotReason::Lagged {
                seen.lagged += 1;
            }
            continue;
        }
        let Some(k) = targets.action_of(&frame) else {
            continue;
        };
        if std::mem::replace(&mut got[k], true) {
            seen.repeats += 1;
            continue;
        }
        let at = sent[k].load(Ordering::SeqCst);
        let us = now.saturating_sub(at).min(u64::from(u32::MAX)) as u32;
        seen.deliveries.push((k, us));
    }
    seen
}
