//! How long to wait before reconnecting to the feed.
//!
//! Exponential backoff with full jitter: the n-th retry waits a random time in
//! `[0, min(MAX, BASE·2ⁿ)]`, so a relay restart is not met by every viewer
//! reconnecting in the same instant. A connection that stayed up long enough
//! counts as healthy and resets the count, so one blip after hours of
//! streaming reconnects quickly.

/// First retry window, in milliseconds.
pub const BASE_MS: f64 = 500.0;
/// Longest retry window, in milliseconds.
pub const MAX_MS: f64 = 30_000.0;
/// A connection open at least this long (milliseconds) resets the backoff.
pub const HEALTHY_MS: f64 = 10_000.0;

/// Retry state of one feed connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backoff {
    /// Retries since the last healthy connection.
    attempt: u32,
    /// When the current connection opened, if it did.
    opened_at: Option<f64>,
}

impl Backoff {
    /// The connection opened at `now`.
    pub fn opened(&mut self, now: f64) {
        self.opened_at = Some(now);
    }

    /// The connection ended (or failed) at `now`: the delay before the next
    /// try. `random` is uniform in `[0, 1)` (e.g. `Math.random()`).
    pub fn next_delay(&mut self, now: f64, random: f64) -> f64 {
        if let Some(opened) = self.opened_at.take() {
            if now - opened >= HEALTHY_MS {
                self.attempt = 0;
            }
        }
        let window = (BASE_MS * 2f64.powi(self.attempt as i32)).min(MAX_MS);
        // 2^7 · 500 ms already exceeds the maximum; stop counting there.
        self.attempt = (self.attempt + 1).min(8);
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            1.0
        };
        window * random
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_double_up_to_the_maximum() {
        let mut b = Backoff::default();
        let windows: Vec<f64> = (0..10).map(|_| b.next_delay(0.0, 1.0)).collect();
        assert_eq!(
            windows,
            [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0, 30000.0, 30000.0, 30000.0, 30000.0]
        );
    }

    #[test]
    fn delays_are_jittered_within_the_window() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay(0.0, 0.0), 0.0);
        assert_eq!(b.next_delay(0.0, 0.5), 500.0);
        assert_eq!(b.next_delay(0.0, f64::NAN), 2000.0);
        assert_eq!(b.next_delay(0.0, 7.0), 4000.0);
    }

    #[test]
    fn a_healthy_connection_resets_and_a_short_one_does_not() {
        let mut b = Backoff::default();
        for _ in 0..5 {
            b.next_delay(0.0, 1.0);
        }
        b.opened(1000.0);
        assert_eq!(b.next_delay(2000.0, 1.0), 16000.0);
        b.opened(3000.0);
        assert_eq!(b.next_delay(3000.0 + HEALTHY_MS, 1.0), 500.0);
        assert_eq!(b.next_delay(20_000.0, 1.0), 1000.0);
    }
}
