//! Who is here, in clustered mode: every node's share in Redis, so each
//! node answers `…/people` for the whole cluster.
//!
//! Per channel (hash-tagged, one slot):
//! - `chyron:{name}:present`: the chatters present, a sorted set of user
//!   ids scored by when their presence expires (ms), so one chatter on two
//!   nodes is one member; `chyron:{name}:since` scores the same members by
//!   when their stay began (lists are newest first). [`HERE`] refuses a new
//!   chatter past the channel's bound and drops expired ones as it goes.
//! - `chyron:{name}:viewers`: a hash of node id → `"{sockets} {expiry ms}"`,
//!   rewritten by each node every second or so; a field past its expiry is
//!   a node that stopped, ignored and deleted by readers.
//! - `chyron:{name}:seen`: presence sightings, user id scored by when last
//!   seen (ms, Redis's clock), bumped at most every `record_every`, trimmed to the seen
//!   window and to [`SEEN_KEPT`] members. Posters are not in it: every node's
//!   SQLite holds them already, since every node applies every post.
//!
//! Knows nothing of the hub or HTTP: it stores and counts.

use super::{key, timed, Cluster, ClusterError};
use redis::Script;
use std::sync::LazyLock;

/// Presence sightings kept per channel: the newest ones.
pub const SEEN_KEPT: usize = 100_000;

/// Expired presences dropped per [`HERE`] call at most (Lua's stack, and
/// one call's time, stay small; the next calls drop the rest).
const DROP_PER_CALL: usize = 500;

/// Members a [`LIST`] call looks at, at most.
const LIST_SCAN: usize = 5_000;

/// A chatter says they are here. KEYS: present, since, seen. ARGV: user
/// id, now ms, expiry ms, most chatters, record_every ms, seen window ms,
/// sightings kept, present keys' lifetime ms, seen key's lifetime ms,
/// expired ones dropped at most. Returns -1 (full), 1 (arrived) or 0
/// (renewed). A sighting is scored by Redis's clock as the script runs,
/// so sightings are scored in the order they are written, whichever node
/// wrote them: a copy from the newest score on misses none.
const HERE: &str = r"
local now = tonumber(ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[10]))
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
local was = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not was and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return -1
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
if was then
  redis.call('ZADD', KEYS[2], 'NX', now, ARGV[1])
else
  redis.call('ZADD', KEYS[2], now, ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
local t = redis.call('TIME')
local seen = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not was or not last or tonumber(last) <= seen - tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[3], seen, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (seen - tonumber(ARGV[6])))
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1 - tonumber(ARGV[7]))
  redis.call('PEXPIRE', KEYS[3], ARGV[9])
end
if was then return 0 end
return 1
";

/// The chatters present, newest arrival first. KEYS: present, since. ARGV:
/// now ms, most listed, most looked at. Returns `{count, {id, since, …}}`.
const LIST: &str = r"
local now = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local count = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
local out = {}
local at = 0
while #out < 2 * want and at < tonumber(ARGV[3]) do
  local chunk = redis.call('ZREVRANGE', KEYS[2], at, at + 499, 'WITHSCORES')
  if #chunk == 0 then break end
  for i = 1, #chunk, 2 do
    local expires = redis.call('ZSCORE', KEYS[1], chunk[i])
    if expires and tonumber(expires) > now and #out < 2 * want then
      out[#out + 1] = chunk[i]
      out[#out + 1] = chunk[i + 1]
    end
  end
  at = at + 500
end
return {count, out}
";

/// The scripts, hashed once.
static HERE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(HERE));
static LIST_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(LIST));

/// What [`Cluster::here`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Here {
    /// A new chatter in the channel (on any node).
    Arrived,
    /// Someone present already.
    Renewed,
    /// The channel has as many chatters as it keeps.
    Full,
}

/// The bounds and clocks of one presence.
#[derive(Debug, Clone, Copy)]
pub struct Presence {
    /// Now, ms since the Unix epoch.
    pub now_ms: i64,
    /// How long the presence stands, ms.
    pub ttl_ms: i64,
    /// Most chatters one channel keeps.
    pub per_channel: usize,
    /// A staying chatter's sighting is bumped at most this often, ms.
    pub record_every_ms: i64,
    /// Sightings older than this are dropped, ms.
    pub window_ms: i64,
}

/// The Lua numbers Redis answers are integers; ids and scores are strings.
fn number(v: &redis::Value) -> Option<i64> {
    match v {
        redis::Value::Int(n) => Some(*n),
        redis::Value::BulkString(b) => std::str::from_utf8(b)
            .ok()?
            .parse::<f64>()
            .ok()
            .map(|f| f as i64),
        _ => None,
    }
}

impl Cluster {
    /// `user_id` is in `channel` now.
    pub async fn here(
        &self,
        channel: &str,
        user_id: &str,
        p: Presence,
    ) -> Result<Here, ClusterError> {
        let mut conn = self.conn.clone();
        let mut call = HERE_SCRIPT.key(key(channel, "present"));
        call.key(key(channel, "since"))
            .key(key(channel, "seen"))
            .arg(user_id)
            .arg(p.now_ms)
            .arg(p.now_ms + p.ttl_ms)
            .arg(p.per_channel)
            .arg(p.record_every_ms)
            .arg(p.window_ms)
            .arg(SEEN_KEPT)
            .arg(p.ttl_ms)
            .arg(p.window_ms)
            .arg(DROP_PER_CALL);
        let answer: i64 = timed(call.invoke_async(&mut conn)).await?;
        Ok(match answer {
            -1 => Here::Full,
            1 => Here::Arrived,
            _ => Here::Renewed,
        })
    }

    /// `user_id` left `channel`.
    pub async fn gone(&self, channel: &str, user_id: &str) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM")
            .arg(key(channel, "present"))
            .arg(user_id)
            .ignore();
        pipe.cmd("ZREM")
            .arg(key(channel, "since"))
            .arg(user_id)
            .ignore();
        timed(pipe.query_async::<()>(&mut conn)).await
    }

    /// Chatters present in `channel` at `now_ms`, on every node.
    pub async fn chatters(&self, channel: &str, now_ms: i64) -> Result<usize, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("ZCOUNT");
        cmd.arg(key(channel, "present"))
            .arg(format!("({now_ms}"))
            .arg("+inf");
        timed(cmd.query_async(&mut conn)).await
    }

    /// How many chatters are present in `channel` at `now_ms`, and the
    /// `limit` who arrived last as `(user id, since ms)`, newest first.
    pub async fn present(
        &self,
        channel: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<(usize, Vec<(String, i64)>), ClusterError> {
        let mut conn = self.conn.clone();
        let mut call = LIST_SCRIPT.key(key(channel, "present"));
        call.key(key(channel, "since"))
            .arg(now_ms)
            .arg(limit)
            .arg(LIST_SCAN);
        let (count, flat): (usize, Vec<redis::Value>) = timed(call.invoke_async(&mut conn)).await?;
        let mut listed = Vec::new();
        for pair in flat.chunks(2) {
            match pair {
                [redis::Value::BulkString(id), since] => {
                    let id = String::from_utf8(id.clone())
                        .map_err(|_| ClusterError::Corrupt("present: a user id".into()))?;
                    let since = number(since)
                        .ok_or_else(|| ClusterError::Corrupt("present: a score".into()))?;
                    listed.push((id, since));
                }
                _ => return Err(ClusterError::Corrupt("present: a list entry".into())),
            }
        }
        Ok((count, listed))
    }

    /// Node `node` has `sockets` feed sockets of `channel` open, standing
    /// until `expires_ms`; at zero its field goes.
    pub async fn set_viewers(
        &self,
        channel: &str,
        node: &str,
        sockets: usize,
        expires_ms: i64,
        lifetime_ms: i64,
    ) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        let hash = key(channel, "viewers");
        if sockets == 0 {
            pipe.cmd("HDEL").arg(&hash).arg(node).ignore();
        } else {
            let value = format!("{sockets} {expires_ms}");
            pipe.cmd("HSET").arg(&hash).arg(node).arg(value).ignore();
            pipe.cmd("PEXPIRE").arg(&hash).arg(lifetime_ms).ignore();
        }
        timed(pipe.query_async::<()>(&mut conn)).await
    }

    /// Feed sockets of `channel` open on the nodes other than `node` whose
    /// figure still stands at `now_ms` (stale fields are deleted).
    pub async fn viewers_elsewhere(
        &self,
        channel: &str,
        node: &str,
        now_ms: i64,
    ) -> Result<usize, ClusterError> {
        let mut conn = self.conn.clone();
        let hash = key(channel, "viewers");
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(&hash);
        let fields: Vec<(String, String)> = timed(cmd.query_async(&mut conn)).await?;
        let (mut sum, mut stale) = (0usize, Vec::new());
        for (id, value) in fields {
            let parsed = value
                .split_once(' ')
                .and_then(|(n, e)| Some((n.parse::<usize>().ok()?, e.parse::<i64>().ok()?)));
            match parsed {
                Some((n, expires)) if expires > now_ms => {
                    if id != node {
                        sum += n;
                    }
                }
                _ => stale.push(id),
            }
        }
        if !stale.is_empty() {
            let mut cmd = redis::cmd("HDEL");
            cmd.arg(&hash).arg(&stale);
            let _: i64 = timed(cmd.query_async(&mut conn)).await?;
        }
        Ok(sum)
    }

    /// Presence sightings in `channel` last seen at or after `from_ms`,
    /// oldest first, at most `limit`, as `(user id, last seen ms)`.
    pub async fn sightings(
        &self,
        channel: &str,
        from_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("ZRANGEBYSCORE");
        cmd.arg(key(channel, "seen"))
            .arg(from_ms)
            .arg("+inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(limit);
        let rows: Vec<(String, f64)> = timed(cmd.query_async(&mut conn)).await?;
        Ok(rows.into_iter().map(|(id, at)| (id, at as i64)).collect())
    }
}
