//! The fan-out benchmark's viewers: each reads one feed socket and times the
//! benchmark's messages from post to frame.

use chyron_protocol::{ServerFrame, SnapshotReason};
use futures_util::{Stream, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

/// Post times, in µs since the run's start, indexed by message number (0:
/// not posted yet).
pub type PostTimes = std::sync::Arc<Vec<AtomicU64>>;

/// What one viewer saw: latencies of the bench's messages, in microseconds.
#[derive(Default)]
pub struct Seen {
    /// Post → frame of each benchmark message received, in µs.
    pub latencies_us: Vec<u32>,
    /// `lagged` snapshots received (the relay resynced this viewer).
    pub lagged: u64,
}

/// The message number in a `message` frame posted by this benchmark.
pub fn bench_index(frame: &str) -> Option<usize> {
    if !frame.starts_with(r#"{"type":"message""#) {
        return None;
    }
    let rest = &frame[frame.find(r#""body":"bench "#)? + r#""body":"bench "#.len()..];
    rest[..rest.find('"')?].parse().ok()
}

/// Reads one viewer's feed until it saw every bench message (or `quiet` with
/// no frame); `ready` is told at its first snapshot.
pub async fn watch<S>(
    mut ws: S,
    sent: PostTimes,
    start: Instant,
    ready: tokio::sync::mpsc::Sender<()>,
    quiet: Duration,
) -> Seen
where
    S: Stream<Item = Result<WsMessage, WsError>> + Unpin,
{
    let messages = sent.len();
    let mut seen = Seen::default();
    let mut ready = Some(ready);
    let mut got = 0;
    while got < messages {
        let frame = match tokio::time::timeout(quiet, ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            _ => break,
        };
        let now = start.elapsed().as_micros() as u64;
        // The client must stay cheap beside the server on two cores: message
        // frames are recognised by their body's marker, not fully parsed.
        if let Some(i) = bench_index(&frame) {
            let at = sent[i].load(Ordering::SeqCst);
            seen.latencies_us
                .push(now.saturating_sub(at).min(u64::from(u32::MAX)) as u32);
            got += 1;
            if i + 1 == messages {
                break; // the last one: anything missing was lost to a resync
            }
        } else if let Ok(ServerFrame::Snapshot(s)) = serde_json::from_str::<ServerFrame>(&frame) {
            if let Some(r) = ready.take() {
                let _ = r.send(()).await;
            }
            if s.reason == SnapshotReason::Lagged {
                seen.lagged += 1;
            }
        }
    }
    seen
}

/// The `p`-quantile (0..=1) of sorted microseconds, in milliseconds (NaN if
/// empty).
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted_us[i]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_index_reads_the_relays_and_the_baselines_message_frames() {
        let relay = r#"{"type":"message","seq":7,"message":{"id":"m7","sender":"bench","sender_id":"bench","body":"bench 41","ts":1,"source":"api"}}"#;
        assert_eq!(bench_index(relay), Some(41));
        assert_eq!(bench_index(r#"{"type":"snapshot","body":"bench 1"}"#), None);
        assert_eq!(
            bench_index(r#"{"type":"message","message":{"body":"hi"}}"#),
            None
        );
    }

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let us: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&us, 0.5), 51.0);
        assert_eq!(percentile_ms(&us, 0.99), 99.0);
        assert_eq!(percentile_ms(&us, 1.0), 100.0);
        assert!(percentile_ms(&[], 0.5).is_nan());
    }
}
