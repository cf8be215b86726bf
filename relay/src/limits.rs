//! Limits per client address, for what strangers can do without a token:
//! requests to the anonymous endpoints that reach the database, channel loads,
//! the bytes of frames their feeds hold unsent, feed connections, and pings.
//!
//! A client address is what [`client`] makes of the socket's peer: an IPv4
//! address, or an IPv6 /64 (one host usually holds a whole /64, so counting
//! single IPv6 addresses would give it billions of quotas).

#[cfg(test)]
use crate::client::bucket;
use crate::client::ClientAddr;
use crate::config::Limits;
use crate::error::ApiError;
use crate::quota::Limiter;
use crate::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::gauge::Gauge;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The per-address limiters, built from [`Limits`].
pub struct PerAddress {
    /// Requests to `/hooks/…` and `/media/…` per client address.
    pub anonymous: Limiter<IpAddr>,
    /// Loads of channels that were not in memory, per client address.
    pub channel_loads: Limiter<IpAddr>,
    /// Bytes being written to each address's feeds.
    pub unsent: Arc<UnsentBytes>,
}

impl PerAddress {
    /// Limiters with the configured quotas, all empty; unsent bytes are
    /// totalled in `unsent_gauge`.
    pub fn new(l: &Limits, unsent_gauge: Gauge) -> PerAddress {
        let second = Duration::from_secs(1);
        let minute = Duration::from_secs(60);
        PerAddress {
            anonymous: Limiter::new(
                "anonymous",
                l.anonymous_rate_limit_per_second,
                second,
                l.anonymous_rate_limit_burst,
            ),
            channel_loads: Limiter::new(
                "loads",
                l.channel_loads_per_minute,
                minute,
                l.channel_load_burst,
            ),
            unsent: Arc::new(UnsentBytes::new(
                l.max_unsent_bytes_per_ip as usize,
                l.max_unsent_bytes as usize,
                unsent_gauge,
            )),
        }
    }

    /// Forgets addresses whose quota is full again (call now and then, so the
    /// limiters' memory follows the addresses seen recently).
    pub fn forget_idle(&self) {
        self.anonymous.retain_recent();
        self.channel_loads.retain_recent();
    }
}

/// Middleware in front of the anonymous endpoints: each client address gets
/// its quota before any handler (and its database work) runs; over it, a
/// `429` JSON error with `Retry-After`.
pub async fn anonymous(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    req: Request,
    next: Next,
) -> Response {
    let cluster = state.cluster.as_deref();
    match state.per_address.anonymous.check(cluster, &client).await {
        None => next.run(req).await,
        Some(secs) => {
            state.metrics.refused("anonymous_rate");
            ApiError::rate_limited(secs.max(1)).into_response()
        }
    }
}

/// Bytes of frames handed to each address's feed sockets and not yet taken
/// by the kernel: what a client that never reads can make the relay hold.
pub struct UnsentBytes {
    /// Most bytes one address may have unsent at once.
    max: usize,
    /// Most bytes all addresses together may have unsent at once, so many
    /// addresses cannot add up to more than one bound.
    max_total: usize,
    /// The total, shown in `/metrics` as `chyron_unsent_bytes`.
    gauge: Gauge,
    /// Unsent bytes by address (entries at zero are removed), and their sum.
    by_ip: Mutex<(HashMap<IpAddr, usize>, usize)>,
}

/// Bytes counted for an address until dropped (the frame was written).
pub struct Unsent {
    /// The counter to give the bytes back to.
    of: Arc<UnsentBytes>,
    /// Whose bytes.
    ip: IpAddr,
    /// How many.
    bytes: usize,
}

impl UnsentBytes {
    /// A counter allowing `max` bytes per address and `max_total` in all,
    /// keeping `gauge` at the total.
    pub fn new(max: usize, max_total: usize, gauge: Gauge) -> UnsentBytes {
        UnsentBytes {
            max,
            max_total,
            gauge,
            by_ip: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// Counts `bytes` for `ip`, or `None` if that would pass the address's
    /// limit or the total. A single frame larger than a limit passes when
    /// nothing else is unsent there, so a big snapshot is never refused on
    /// its own.
    pub fn try_take(self: &Arc<Self>, ip: IpAddr, bytes: usize) -> Option<Unsent> {
        let mut guard = self.by_ip.lock().unwrap_or_else(|e| e.into_inner());
        let (map, total) = &mut *guard;
        if *total > 0 && *total + bytes > self.max_total {
            return None;
        }
        let held = map.entry(ip).or_insert(0);
        if *held > 0 && *held + bytes > self.max {
            return None;
        }
        *held += bytes;
        *total += bytes;
        self.gauge.inc_by(bytes as i64);
        Some(Unsent {
            of: self.clone(),
            ip,
            bytes,
        })
    }

    /// Bytes unsent for `ip` now.
    pub fn held(&self, ip: IpAddr) -> usize {
        let guard = self.by_ip.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Unsent {
    fn drop(&mut self) {
        let mut guard = self.of.by_ip.lock().unwrap_or_else(|e| e.into_inner());
        let (map, total) = &mut *guard;
        *total = total.saturating_sub(self.bytes);
        self.of.gauge.dec_by(self.bytes as i64);
        if let Some(held) = map.get_mut(&self.ip) {
            *held = held.saturating_sub(self.bytes);
            if *held == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// How often the per-address limiters forget idle addresses.
pub const FORGET_EVERY: Duration = Duration::from_secs(60);

/// Counts open feed connections per client IP.
#[derive(Default)]
pub struct ConnLimiter {
    /// Open connections by IP; entries at zero are removed.
    counts: Mutex<HashMap<IpAddr, u32>>,
}

/// One counted connection; dropping it frees the slot.
pub struct ConnGuard {
    /// The limiter to give the slot back to.
    limiter: Arc<ConnLimiter>,
    /// Whose slot it is.
    ip: IpAddr,
}

impl ConnLimiter {
    /// A slot for `ip`, or `None` if it already has `max` connections.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr, max: u32) -> Option<ConnGuard> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnGuard {
            limiter: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut counts = self
            .limiter
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Counts one feed's pings per window (`crate::feed::PING_WINDOW`).
pub struct Pings {
    /// When the current window began.
    since: tokio::time::Instant,
    /// Pings in it.
    count: u32,
    /// Pings allowed per window.
    max: u32,
    /// The window's length.
    window: Duration,
}

impl Pings {
    /// A counter allowing `max` pings per `window`, starting now.
    pub fn new(max: u32, window: Duration) -> Pings {
        Pings {
            since: tokio::time::Instant::now(),
            count: 0,
            max,
            window,
        }
    }

    /// Counts one ping at `now`; `false` once there are too many.
    pub fn allow(&mut self, now: tokio::time::Instant) -> bool {
        if now.duration_since(self.since) >= self.window {
            self.since = now;
            self.count = 0;
        }
        self.count += 1;
        self.count <= self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsent_bytes_are_bounded_per_address_and_given_back() {
        let gauge = Gauge::default();
        let u = Arc::new(UnsentBytes::new(100, 1000, gauge.clone()));
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let big = u.try_take(a, 150).expect("one frame alone always passes");
        assert!(u.try_take(a, 1).is_none(), "over the limit");
        let other = u.try_take(b, 60).expect("another address has its own");
        assert!(u.try_take(b, 50).is_none());
        assert_eq!(gauge.get(), 210);
        drop(big);
        assert_eq!(u.held(a), 0);
        let _x = u.try_take(a, 100).unwrap();
        drop(other);
        assert_eq!(u.held(b), 0);
        assert!(u.by_ip.lock().unwrap().0.len() == 1, "zero entries removed");
    }

    #[test]
    fn unsent_bytes_are_bounded_in_all_whatever_the_addresses() {
        let gauge = Gauge::default();
        let u = Arc::new(UnsentBytes::new(100, 250, gauge.clone()));
        let held: Vec<_> = (1..=3u8)
            .filter_map(|n| u.try_take([10, 0, 0, n].into(), 80))
            .collect();
        assert_eq!(held.len(), 3, "240 of 250");
        assert!(
            u.try_take([10, 0, 0, 4].into(), 80).is_none(),
            "a fourth address would pass the total"
        );
        assert_eq!(u.held([10, 0, 0, 4].into()), 0, "nothing counted for it");
        assert_eq!(gauge.get(), 240);
        drop(held);
        assert_eq!(gauge.get(), 0);
        let _alone = u
            .try_take([10, 0, 0, 4].into(), 400)
            .expect("alone, a big frame passes");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let key = |s: &str| bucket(s.parse().unwrap());
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:fffe")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(
            key("2001:db8:1:2::1"),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            key("::ffff:10.0.0.1"),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_ne!(
            key("10.0.0.1"),
            key("10.0.0.2"),
            "IPv4 addresses stay apart"
        );
    }

    #[test]
    fn pings_are_counted_per_window() {
        let mut p = Pings::new(2, Duration::from_secs(10));
        let t = tokio::time::Instant::now();
        assert!(p.allow(t) && p.allow(t));
        assert!(!p.allow(t + Duration::from_secs(9)));
        assert!(p.allow(t + Duration::from_secs(10)), "a new window");
    }
}
