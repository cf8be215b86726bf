//! Records every node of a cluster must agree on, kept in Redis: webhooks
//! (a hook created through one node posts through any), the DJs marked live
//! (the directory of every node lists them), and the bridged rooms (only the
//! node running the Matrix link joins them; every node's directory offers
//! them).
//!
//! Keys: `chyron:webhooks` (hash: id → webhook JSON), `chyron:live` (hash:
//! `channel` + `\n` + user id → [`LiveDj`] JSON), `chyron:rooms` (hash:
//! channel → room JSON). Each change is one command or one script, so two
//! nodes changing the same record at once leave one of the two results,
//! never a mix. They live as long as Redis keeps its data: README says to
//! run a cluster's Redis with persistence (`appendonly yes`).

use super::{timed, Cluster, ClusterError};
use chyron_protocol::LiveDj;
use redis::Script;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

const WEBHOOKS: &str = "chyron:webhooks";
const LIVE: &str = "chyron:live";
const ROOMS: &str = "chyron:rooms";

/// Marks `ARGV[1]` (a field: channel, newline, user id) live with the JSON
/// `ARGV[2]`, unless the channel (`ARGV[3]`, fields starting `ARGV[3]\n`)
/// already has `ARGV[4]` live DJs; a DJ live already keeps their `since`
/// (the stored JSON's, spliced in). Returns 1, or 0 when full.
const MARK_LIVE: &str = r#"
local old = redis.call('HGET', KEYS[1], ARGV[1])
local new = ARGV[2]
if old then
  local since = string.match(old, '"since":(%-?%d+)')
  if since then new = string.gsub(new, '"since":%-?%d+', '"since":' .. since, 1) end
else
  local prefix = ARGV[3] .. '\n'
  local n = 0
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(field, 1, #prefix) == prefix then n = n + 1 end
  end
  if n >= tonumber(ARGV[4]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], new)
return 1
"#;

/// Revokes webhook `ARGV[1]` of channel `ARGV[2]` if it is live there:
/// rewrites its JSON with `revoked` true. Returns 1 if it did.
const REVOKE: &str = r#"
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local hook = cjson.decode(old)
if hook['channel'] ~= ARGV[2] or hook['revoked'] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"#;

/// A webhook as Redis keeps it (the secret's SHA-256 in hex, never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRecord {
    /// Public id, the first path segment of the hook URL.
    pub id: String,
    /// The channel it posts to.
    pub channel: String,
    /// Default sender name.
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Revoked hooks stay, so their ids are never reused.
    pub revoked: bool,
}

/// A bridged room as Redis keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRecord {
    /// The room id the bot joined.
    pub room_id: String,
    /// The alias the channel was configured with, if it was one.
    pub alias: Option<String>,
    /// Whether guests may join and post there.
    pub guests_can_post: bool,
}

fn corrupt(what: &str, e: serde_json::Error) -> ClusterError {
    ClusterError::Corrupt(format!("{what}: {e}"))
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ClusterError> {
    serde_json::to_string(value).map_err(|e| ClusterError::Corrupt(e.to_string()))
}

fn live_field(channel: &str, user_id: &str) -> String {
    format!("{channel}\n{user_id}")
}

/// [`REVOKE`], hashed once.
static REVOKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(REVOKE));

/// [`MARK_LIVE`], hashed once.
static MARK_LIVE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(MARK_LIVE));

impl Cluster {
    /// Stores a new webhook; `false` if its id is taken.
    pub async fn insert_hook(&self, hook: &HookRecord) -> Result<bool, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HSETNX");
        cmd.arg(WEBHOOKS).arg(&hook.id).arg(to_json(hook)?);
        timed(cmd.query_async(&mut conn)).await
    }

    /// One webhook by id, revoked or not.
    pub async fn hook(&self, id: &str) -> Result<Option<HookRecord>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(WEBHOOKS).arg(id);
        let text: Option<String> = timed(cmd.query_async(&mut conn)).await?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt("webhook", e)))
            .transpose()
    }

    /// The channel's live (not revoked) webhooks, oldest first.
    pub async fn hooks(&self, channel: &str) -> Result<Vec<HookRecord>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HVALS");
        cmd.arg(WEBHOOKS);
        let all: Vec<String> = timed(cmd.query_async(&mut conn)).await?;
        let mut hooks = Vec::new();
        for text in all {
            let hook: HookRecord =
                serde_json::from_str(&text).map_err(|e| corrupt("webhook", e))?;
            if hook.channel == channel && !hook.revoked {
                hooks.push(hook);
            }
        }
        hooks.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(hooks)
    }

    /// Revokes a live webhook of `channel`; `false` if there is none.
    pub async fn revoke_hook(&self, channel: &str, id: &str) -> Result<bool, ClusterError> {
        let Some(mut hook) = self.hook(id).await? else {
            return Ok(false);
        };
        hook.revoked = true;
        let mut conn = self.conn.clone();
        let script = &*REVOKE_SCRIPT;
        let mut call = script.key(WEBHOOKS);
        call.arg(id).arg(channel).arg(to_json(&hook)?);
        let done: i64 = timed(call.invoke_async(&mut conn)).await?;
        Ok(done == 1)
    }

    /// Every channel's live DJs, in no order.
    pub async fn live(&self) -> Result<Vec<(String, LiveDj)>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(LIVE);
        let all: Vec<(String, String)> = timed(cmd.query_async(&mut conn)).await?;
        all.into_iter()
            .map(|(field, text)| {
                let channel = field.split_once('\n').map_or(field.as_str(), |(c, _)| c);
                let dj = serde_json::from_str(&text).map_err(|e| corrupt("live DJ", e))?;
                Ok((channel.to_string(), dj))
            })
            .collect()
    }

    /// Marks `dj` live on `channel` (keeping the `since` of a DJ live
    /// already); `false` if the channel has `max` live DJs already.
    pub async fn mark_live(
        &self,
        channel: &str,
        dj: &LiveDj,
        max: usize,
    ) -> Result<bool, ClusterError> {
        let mut conn = self.conn.clone();
        let script = &*MARK_LIVE_SCRIPT;
        let mut call = script.key(LIVE);
        call.arg(live_field(channel, &dj.user_id))
            .arg(to_json(dj)?)
            .arg(channel)
            .arg(max);
        let done: i64 = timed(call.invoke_async(&mut conn)).await?;
        Ok(done == 1)
    }

    /// Marks `user_id` no longer live on `channel`.
    pub async fn unmark_live(&self, channel: &str, user_id: &str) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HDEL");
        cmd.arg(LIVE).arg(live_field(channel, user_id));
        let _: i64 = timed(cmd.query_async(&mut conn)).await?;
        Ok(())
    }

    /// Records `channel`'s bridged room for every node.
    pub async fn set_room(&self, channel: &str, room: &RoomRecord) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HSET");
        cmd.arg(ROOMS).arg(channel).arg(to_json(room)?);
        let _: i64 = timed(cmd.query_async(&mut conn)).await?;
        Ok(())
    }

    /// Every channel's bridged room, as the node running the bridge recorded.
    pub async fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(ROOMS);
        let all: Vec<(String, String)> = timed(cmd.query_async(&mut conn)).await?;
        all.into_iter()
            .map(|(channel, text)| {
                let room = serde_json::from_str(&text).map_err(|e| corrupt("room", e))?;
                Ok((channel, room))
            })
            .collect()
    }
}
