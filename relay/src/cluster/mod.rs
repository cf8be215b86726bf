//! Clustered mode's shared log: Redis (`--redis URL`).
//!
//! Per channel, Redis holds a hash `chyron:{name}:meta` (the epoch and the
//! last seq), a stream `chyron:{name}:log` (the newest events, capped, each
//! with id `{seq}-0`) and a pub/sub channel `chyron:{name}:events`. One Lua
//! script per event ([`PUBLISH`]) assigns the next seq, appends the event to
//! the stream and publishes it, atomically, as Centrifugo's Redis engine
//! does: two nodes never hand out the same seq or skip one, and what pub/sub
//! brings is in the stream already, so a gap is always fillable while the
//! stream holds it. A missing hash means Redis lost the channel: the script
//! starts a new epoch, so viewers take a fresh snapshot.
//!
//! This module knows nothing of the hub: it orders, reads and subscribes;
//! the hub (`hub/remote.rs`) applies what it hears.

pub mod bridge;
pub mod bridge_memory;
pub mod moderation;
pub mod nodes;
pub mod people;
mod pubsub;
pub mod quota;
pub mod records;
pub mod role_edges;
pub mod tasks;

pub use pubsub::{Heard, Subscriptions};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Longest a Redis call may take before the relay answers `503` instead.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Assigns the next seq of a channel, appends the event to its stream and
/// publishes it, in one step. KEYS: meta hash, stream, origins (a sorted set
/// of the Matrix event ids ordered lately), outbox stream. ARGV: the event,
/// the epoch to start if the channel has none, the stream's cap, the pub/sub
/// channel, the event's origin id ('' if none), the change to send to the
/// bridged room ('' if none), how many origins to keep. Returns `{epoch,
/// seq}`, or nil when the origin was ordered already (by any node): a Matrix
/// event fetched again after a takeover is not shown twice.
const PUBLISH: &str = r"
if ARGV[5] ~= '' and redis.call('ZSCORE', KEYS[3], ARGV[5]) then
  return false
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[2]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], seq .. '-0', 'e', ARGV[1])
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[3], seq, ARGV[5])
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[7]))
end
if ARGV[6] ~= '' then
  redis.call('XADD', KEYS[4], '*', 'epoch', epoch, 'seq', seq, 'o', ARGV[6])
end
redis.call('PUBLISH', ARGV[4], epoch .. ' ' .. seq .. ' ' .. ARGV[1])
return {epoch, seq}
";

/// Matrix event ids remembered per channel for dedupe across nodes: far more
/// than one sync can bring again after a takeover (200 per room, plus a
/// filled gap).
const ORIGINS_KEPT: usize = 10_000;

/// The events with seq in `[ARGV[2], ARGV[3]]` (stream ids) of a channel
/// whose epoch is still `ARGV[1]`; `nil` if the epoch changed (Redis lost
/// the channel meanwhile: its stream is another epoch's). KEYS: meta, stream.
const RANGE: &str = r"
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then
  return false
end
return redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[3])
";

/// A Redis failure, as the hub sees it.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Redis did not answer (down, unreachable, too slow): retry later.
    #[error("redis: {0}")]
    Unavailable(String),
    /// The channel's epoch in Redis is not the one asked about any more.
    #[error("the channel's epoch changed in Redis")]
    EpochChanged,
    /// Redis answered something this relay did not write (a bug, or another
    /// program using the same keys).
    #[error("redis returned unexpected data: {0}")]
    Corrupt(String),
}

impl From<redis::RedisError> for ClusterError {
    fn from(e: redis::RedisError) -> Self {
        ClusterError::Unavailable(e.to_string())
    }
}

/// One node's handle on the shared Redis.
pub struct Cluster {
    /// Commands and scripts; reconnects on its own after an outage.
    conn: ConnectionManager,
    /// The [`PUBLISH`] script, run by hash (loaded again if Redis forgot it).
    publish: Script,
    /// The [`RANGE`] script.
    range: Script,
    /// Events kept in each channel's stream: how far back a viewer can
    /// resume on a node that has just loaded the channel.
    keep: usize,
    /// This node's pub/sub subscriptions (one per loaded channel).
    subs: Arc<Subscriptions>,
}

/// Where a channel's keys are; `{name}` is a hash tag, so one channel's keys
/// stay on one Redis Cluster slot.
fn key(name: &str, what: &str) -> String {
    format!("chyron:{{{name}}}:{what}")
}

/// The pub/sub channel of a chat channel.
pub fn topic(name: &str) -> String {
    key(name, "events")
}

/// The chat channel of a pub/sub channel, if it is one of ours.
pub fn channel_of(topic: &str) -> Option<&str> {
    topic.strip_prefix("chyron:{")?.strip_suffix("}:events")
}

/// Whether `url` is a Redis URL this relay can connect to; the reason if not.
pub fn check_url(url: &str) -> Result<(), String> {
    let known = ["redis://", "redis+unix://", "unix://"];
    if !known.iter().any(|p| url.starts_with(p)) {
        return Err(
            "must start with redis://, redis+unix:// or unix:// (TLS is not supported)".into(),
        );
    }
    Client::open(url).map(|_| ()).map_err(|e| e.to_string())
}

async fn timed<T>(
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, ClusterError> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(ClusterError::Unavailable("no answer in time".into())),
    }
}

impl Cluster {
    /// Connects to `url` (once, so a wrong URL fails at start) and starts the
    /// pub/sub connection, which reports what it hears to the returned
    /// receiver until `stop` turns `true`. `keep`: events per stream.
    pub async fn connect(
        url: &str,
        keep: usize,
        stop: watch::Receiver<bool>,
    ) -> Result<(Arc<Cluster>, mpsc::UnboundedReceiver<Heard>), ClusterError> {
        let client = Client::open(url).map_err(|e| ClusterError::Unavailable(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(CALL_TIMEOUT));
        let conn = timed(client.get_connection_manager_with_config(config)).await?;
        let subs = Arc::new(Subscriptions::default());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(pubsub::run(client, subs.clone(), tx, stop));
        // Serve nothing before the pub/sub connection is up: a channel is
        // loaded only once it is subscribed to.
        let up = async {
            while !subs.is_connected() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        if tokio::time::timeout(CALL_TIMEOUT, up).await.is_err() {
            return Err(ClusterError::Unavailable("no pub/sub connection".into()));
        }
        let cluster = Cluster {
            conn,
            publish: Script::new(PUBLISH),
            range: Script::new(RANGE),
            keep: keep.max(1),
            subs,
        };
        Ok((Arc::new(cluster), rx))
    }

    /// Orders one event: its `(epoch, seq)`, or `None` if its `origin` was
    /// ordered already. `fresh` is the epoch the channel starts if Redis has
    /// none (new, or lost); `outgoing`, the change to queue for the bridged
    /// room, if any.
    pub async fn publish(
        &self,
        name: &str,
        fresh: &str,
        entry: &str,
        origin: Option<&str>,
        outgoing: Option<&str>,
    ) -> Result<Option<(String, u64)>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut call = self.publish.key(key(name, "meta"));
        call.key(key(name, "log"))
            .key(key(name, "origins"))
            .key(key(name, "outbox"))
            .arg(entry)
            .arg(fresh)
            .arg(self.keep)
            .arg(topic(name))
            .arg(origin.unwrap_or(""))
            .arg(outgoing.unwrap_or(""))
            .arg(ORIGINS_KEPT);
        timed(call.invoke_async(&mut conn)).await
    }

    /// The channel's `(epoch, seq)` in Redis, `None` if it has none.
    pub async fn head(&self, name: &str) -> Result<Option<(String, u64)>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(key(name, "meta")).arg("epoch").arg("seq");
        let (epoch, seq): (Option<String>, Option<u64>) = timed(cmd.query_async(&mut conn)).await?;
        Ok(epoch.map(|e| (e, seq.unwrap_or(0))))
    }

    /// The events of `epoch` with seq in `(after, upto]` still in the
    /// stream, oldest first (the oldest may be later than `after + 1` if the
    /// stream was trimmed past it).
    pub async fn history(
        &self,
        name: &str,
        epoch: &str,
        after: u64,
        upto: u64,
    ) -> Result<Vec<(u64, String)>, ClusterError> {
        if upto <= after {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let mut call = self.range.key(key(name, "meta"));
        call.key(key(name, "log"))
            .arg(epoch)
            .arg(format!("{}-0", after + 1))
            .arg(format!("{upto}-0"));
        let rows: Option<Vec<(String, Vec<String>)>> = timed(call.invoke_async(&mut conn)).await?;
        let rows = rows.ok_or(ClusterError::EpochChanged)?;
        rows.into_iter()
            .map(|(id, fields)| {
                let seq = id.strip_suffix("-0").and_then(|s| s.parse().ok());
                match (seq, fields.as_slice()) {
                    (Some(seq), [field, entry]) if field == "e" => Ok((seq, entry.clone())),
                    _ => Err(ClusterError::Corrupt(format!("stream entry {id}"))),
                }
            })
            .collect()
    }

    /// Subscribes this node to `name`'s events; resolves once Redis
    /// confirmed, so nothing published after it is missed.
    pub async fn watch(&self, name: &str) -> Result<(), ClusterError> {
        self.subs.watch(name).await
    }

    /// Unsubscribes this node from `name` (dropped from memory).
    pub async fn unwatch(&self, name: &str) {
        self.subs.unwatch(name).await
    }
}
