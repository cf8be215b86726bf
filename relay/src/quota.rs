//! Rate limits: in this process (governor), and in clustered mode also in
//! Redis ([`crate::cluster::quota`]), so a client that spreads its requests
//! over every node still gets one quota. The local limiter answers first
//! (cheap, and what is left while Redis is unreachable: then each node
//! limits on its own, and says so in its log).

use crate::cluster::Cluster;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::fmt::Display;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds between two warnings that Redis could not be asked.
const WARN_EVERY_SECS: u64 = 10;

/// One kind of limit (API token, webhook, client address, channel loads).
pub struct Limiter<K: Hash + Eq + Clone> {
    /// What is limited, the prefix of its Redis keys (`api`, `hook`, …).
    kind: &'static str,
    /// This process's count.
    local: DefaultKeyedRateLimiter<K>,
    /// One cell every this long…
    every: Duration,
    /// …at most this many at once.
    burst: u32,
    /// When Redis last failed to answer was logged (seconds since the
    /// epoch), so an outage logs now and then, not once per request.
    warned: AtomicU64,
}

impl<K: Hash + Eq + Clone + Display> Limiter<K> {
    /// `count` per `period` (at least 1), at most `burst` at once.
    pub fn new(kind: &'static str, count: u32, period: Duration, burst: u32) -> Self {
        let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let every = period / count.max(1);
        let quota = Quota::with_period(every)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(nz(burst));
        Limiter {
            kind,
            local: RateLimiter::keyed(quota),
            every,
            burst: burst.max(1),
            warned: AtomicU64::new(0),
        }
    }

    /// Counts one request of `key`: `None` if it may go on, else the
    /// seconds (at least 1) to wait. `cluster`: check the shared quota too.
    pub async fn check(&self, cluster: Option<&Cluster>, key: &K) -> Option<u64> {
        if let Err(not_until) = self.local.check_key(key) {
            return Some(secs(
                not_until.wait_time_from(DefaultClock::default().now()),
            ));
        }
        let cluster = cluster?;
        match cluster
            .take(&format!("{}:{key}", self.kind), self.every, self.burst)
            .await
        {
            Ok(wait) => wait.map(secs),
            Err(e) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let last = self.warned.load(Ordering::Relaxed);
                if now >= last + WARN_EVERY_SECS
                    && self
                        .warned
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    tracing::warn!(
                        kind = self.kind,
                        "shared rate limit unavailable, limiting per node: {e}"
                    );
                }
                None
            }
        }
    }

    /// Forgets keys whose local quota is full again.
    pub fn retain_recent(&self) {
        self.local.retain_recent();
    }
}

fn secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn alone_the_local_quota_counts_and_names_the_wait() {
        let l: Limiter<String> = Limiter::new("t", 1, Duration::from_secs(60), 2);
        let k = "a".to_string();
        assert_eq!(l.check(None, &k).await, None);
        assert_eq!(l.check(None, &k).await, None);
        let wait = l.check(None, &k).await.expect("over the burst");
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(l.check(None, &"b".to_string()).await, None, "per key");
    }
}
