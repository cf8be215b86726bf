//! Who is here now, in memory: the feed sockets open per channel
//! (viewers), and the signed-in chatters who said they are here lately
//! (presence, renewed every ≤ 30 s, gone [`PresenceLimits::ttl`] after the
//! last one). Both are per relay process.
//!
//! Bounded: at most [`PresenceLimits::per_channel`] chatters per channel and
//! [`PresenceLimits::total`] in all; expired ones are swept by
//! [`People::sweep`]. A chatter's arrival (and, while they stay, one renewal
//! every [`RECORD_EVERY`]) is queued to be recorded in `seen`, written in
//! one transaction by [`People::take_seen`]'s caller rather than one per
//! presence.

use crate::store::seen::Seen;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// How often a staying chatter's `seen` row is brought up to date.
pub const RECORD_EVERY: Duration = Duration::from_secs(300);

/// The presence bounds.
#[derive(Debug, Clone, Copy)]
pub struct PresenceLimits {
    /// A chatter with no presence for this long is gone.
    pub ttl: Duration,
    /// Most chatters present in one channel.
    pub per_channel: usize,
    /// Most chatters present in all channels together.
    pub total: usize,
}

impl Default for PresenceLimits {
    fn default() -> Self {
        PresenceLimits {
            ttl: Duration::from_secs(75),
            per_channel: 50_000,
            total: 200_000,
        }
    }
}

/// A presence refused: the channel, or the relay, has as many chatters as
/// it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// The counts and presences. Cheap to share (`Arc`).
#[derive(Debug, Default)]
pub struct People {
    /// The bounds.
    limits: PresenceLimits,
    /// Everything that changes together.
    inner: Mutex<Inner>,
    /// This node's id in the cluster's viewer counts (clustered mode: set
    /// once when the relay starts, by [`People::set_node`]).
    node: OnceLock<String>,
    /// Clustered mode, per channel: the newest presence sighting copied
    /// from Redis into this node's `seen` (ms), where the next copy starts.
    pulled: Mutex<HashMap<String, i64>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Open feed sockets per channel (no entry at zero).
    viewers: HashMap<String, usize>,
    /// Present chatters per channel, by user id (no entry when empty).
    chatters: HashMap<String, HashMap<String, Chatter>>,
    /// Chatters in `chatters`, all channels.
    total: usize,
    /// `seen` rows to write, by (channel, user id): at most one per chatter.
    seen: HashMap<(String, String), Seen>,
}

/// A chatter present in a channel.
#[derive(Debug, Clone)]
struct Chatter {
    /// When this stay began (ms since the Unix epoch): lists are newest first.
    since: i64,
    /// Gone after this, unless renewed.
    expires: Instant,
    /// When their `seen` row was last queued.
    recorded: Instant,
}

/// One present chatter, as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Present {
    /// Their Matrix user id.
    pub user_id: String,
    /// When this stay began (ms since the Unix epoch).
    pub since: i64,
}

/// Counts one open feed socket of a channel until dropped.
#[derive(Debug)]
pub struct Watching {
    /// Whose count to lower.
    people: Arc<People>,
    /// The channel watched.
    channel: String,
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut inner = self.people.lock();
        if let Some(n) = inner.viewers.get_mut(&self.channel) {
            *n -= 1;
            if *n == 0 {
                inner.viewers.remove(&self.channel);
            }
        }
    }
}

impl People {
    /// Empty, with `limits`.
    pub fn new(limits: PresenceLimits) -> People {
        People {
            limits,
            inner: Mutex::default(),
            node: OnceLock::new(),
            pulled: Mutex::default(),
        }
    }

    /// The bounds.
    pub fn limits(&self) -> PresenceLimits {
        self.limits
    }

    /// Names this node in the cluster's viewer counts (once; later calls
    /// change nothing).
    pub fn set_node(&self, id: &str) {
        let _ = self.node.set(id.to_string());
    }

    /// This node's id in the cluster's viewer counts, once set.
    pub fn node(&self) -> Option<&str> {
        self.node.get().map(String::as_str)
    }

    /// Where the next copy of `channel`'s sightings from Redis starts (ms).
    pub fn pulled(&self, channel: &str) -> Option<i64> {
        let pulled = self.pulled.lock().unwrap_or_else(|e| e.into_inner());
        pulled.get(channel).copied()
    }

    /// `channel`'s sightings are copied up to `ms`.
    pub fn set_pulled(&self, channel: &str, ms: i64) {
        let mut pulled = self.pulled.lock().unwrap_or_else(|e| e.into_inner());
        let at = pulled.entry(channel.to_string()).or_insert(ms);
        *at = (*at).max(ms);
    }

    /// The channels with feed sockets open on this node, and how many.
    pub fn all_viewers(&self) -> Vec<(String, usize)> {
        let inner = self.lock();
        inner.viewers.iter().map(|(c, n)| (c.clone(), *n)).collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a feed socket of `channel` while the guard lives.
    pub fn watching(self: &Arc<Self>, channel: &str) -> Watching {
        *self.lock().viewers.entry(channel.to_string()).or_default() += 1;
        Watching {
            people: self.clone(),
            channel: channel.to_string(),
        }
    }

    /// Feed sockets of `channel` open now.
    pub fn viewers(&self, channel: &str) -> usize {
        self.lock().viewers.get(channel).copied().unwrap_or(0)
    }

    /// `user_id` is in `channel` at `now` (`now_ms`, wall clock): present
    /// until `now` + ttl. Queues their `seen` row when they arrive, and
    /// every [`RECORD_EVERY`] while they stay.
    pub fn here(
        &self,
        channel: &str,
        user_id: &str,
        now: Instant,
        now_ms: i64,
    ) -> Result<(), Full> {
        let expires = now + self.limits.ttl;
        let mut inner = self.lock();
        let inner = &mut *inner;
        let present = inner.chatters.get(channel).map_or(0, HashMap::len);
        let room = self.limits.total;
        let chatters = inner.chatters.entry(channel.to_string()).or_default();
        let record = match chatters.get_mut(user_id) {
            Some(c) if c.expires > now => {
                c.expires = expires;
                let due = now.duration_since(c.recorded) >= RECORD_EVERY;
                if due {
                    c.recorded = now;
                }
                due
            }
            stale => {
                if stale.is_none() {
                    if present >= self.limits.per_channel || inner.total >= room {
                        if chatters.is_empty() {
                            inner.chatters.remove(channel);
                        }
                        return Err(Full);
                    }
                    inner.total += 1;
                }
                let arrived = Chatter {
                    since: now_ms,
                    expires,
                    recorded: now,
                };
                chatters.insert(user_id.to_string(), arrived);
                true
            }
        };
        if record {
            let key = (channel.to_string(), user_id.to_string());
            let row = inner.seen.entry(key).or_insert_with(|| Seen {
                user_id: user_id.to_string(),
                first_ts: now_ms,
                last_ts: now_ms,
            });
            row.last_ts = now_ms;
        }
        Ok(())
    }

    /// `user_id` left `channel` (said so, or signed out).
    pub fn gone(&self, channel: &str, user_id: &str) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        if let Some(chatters) = inner.chatters.get_mut(channel) {
            if chatters.remove(user_id).is_some() {
                inner.total -= 1;
            }
            if chatters.is_empty() {
                inner.chatters.remove(channel);
            }
        }
    }

    /// Chatters present in `channel` at `now`.
    pub fn chatters(&self, channel: &str, now: Instant) -> usize {
        let inner = self.lock();
        let chatters = inner.chatters.get(channel);
        chatters.map_or(0, |c| c.values().filter(|c| c.expires > now).count())
    }

    /// The `limit` chatters of `channel` present at `now` who arrived last,
    /// newest first.
    pub fn chatter_list(&self, channel: &str, now: Instant, limit: usize) -> Vec<Present> {
        let inner = self.lock();
        let Some(chatters) = inner.chatters.get(channel) else {
            return Vec::new();
        };
        let mut here: Vec<(&String, &Chatter)> =
            chatters.iter().filter(|(_, c)| c.expires > now).collect();
        here.sort_by(|a, b| b.1.since.cmp(&a.1.since).then(a.0.cmp(b.0)));
        here.into_iter()
            .take(limit)
            .map(|(user_id, c)| Present {
                user_id: user_id.clone(),
                since: c.since,
            })
            .collect()
    }

    /// Forgets the chatters gone by `now`; returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut inner = self.lock();
        let before = inner.total;
        inner.chatters.retain(|_, chatters| {
            chatters.retain(|_, c| c.expires > now);
            !chatters.is_empty()
        });
        inner.total = inner.chatters.values().map(HashMap::len).sum();
        before - inner.total
    }

    /// The `seen` rows queued since the last call, to be written.
    pub fn take_seen(&self) -> Vec<(String, Seen)> {
        let queued = std::mem::take(&mut self.lock().seen);
        queued.into_iter().map(|((c, _), s)| (c, s)).collect()
    }
}

#[cfg(test)]
#[path = "people_tests.rs"]
mod tests;
