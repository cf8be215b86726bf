//! A viewer's way back after its node died: the resume URL the widget would
//! use (`src/feed.rs`: `?epoch=E&since=N`) on the other node, tried with the
//! widget's backoff (`src/backoff.rs`: the n-th try waits a random time in
//! `[0, 500 ms · 2ⁿ]`, so the dead node's viewers do not all come at once),
//! and when it was back.

use crate::watch::Ws;
use chyron_bench::seqcheck::mono_us;
use std::hash::BuildHasher;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The widget's first retry window (`src/backoff.rs` BASE_MS), in ms.
const BASE_MS: f64 = 500.0;
/// The widget's longest retry window (`src/backoff.rs` MAX_MS), in ms.
const MAX_MS: f64 = 30_000.0;
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// When one viewer lost its node and got back, µs on [`mono_us`]'s clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failover {
    /// Its socket to the dead node ended.
    pub closed_at: u64,
    /// Its resumed socket on the other node opened.
    pub back_at: u64,
    /// Its first frame on the new socket (a missed event resent, a live
    /// one, or a snapshot); 0 if none came.
    pub first_frame_at: u64,
}

impl Failover {
    /// The three times, for the process's failover file.
    pub fn to_u64s(self) -> [u64; 3] {
        [self.closed_at, self.back_at, self.first_frame_at]
    }
}

/// The feed URL resuming after `since` in `epoch` on the node at `feed`.
pub fn resume_url(feed: &str, epoch: &str, since: u64) -> String {
    let mut encoded = String::with_capacity(epoch.len());
    for b in epoch.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{feed}?epoch={encoded}&since={since}&limit=1")
}

/// Uniform in `[0, 1)`, fresh each call (std's per-map random keys).
fn random() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().hash_one(mono_us());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Connects to `url` with up to `attempts` tries, each after the widget's
/// jittered backoff; `None` if none succeeded or the deadline came.
pub async fn reconnect(
    url: &str,
    config: WebSocketConfig,
    attempts: u32,
    deadline: Instant,
) -> Option<Ws> {
    for attempt in 0..attempts.min(16) {
        let window = (BASE_MS * 2f64.powi(attempt as i32)).min(MAX_MS);
        tokio::time::sleep(Duration::from_secs_f64(window * random() / 1000.0)).await;
        if Instant::now() >= deadline {
            return None;
        }
        let connect = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
        if let Ok(Ok((ws, _))) = tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            return Some(ws);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_url_is_the_widgets() {
        assert_eq!(
            resume_url("ws://127.0.0.1:1/feed/c", "00ff", 12),
            "ws://127.0.0.1:1/feed/c?epoch=00ff&since=12&limit=1"
        );
        assert_eq!(
            resume_url("ws://h/feed/c", "a&since=0 é", 7),
            "ws://h/feed/c?epoch=a%26since%3D0%20%C3%A9&since=7&limit=1"
        );
    }

    #[test]
    fn random_stays_in_the_unit_interval_and_varies() {
        let draws: Vec<f64> = (0..64).map(|_| random()).collect();
        assert!(draws.iter().all(|r| (0.0..1.0).contains(r)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }
}
