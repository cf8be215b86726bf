//! Moderation's records in clustered mode, so every node agrees on who is
//! timed out or banned, who may moderate, karma, the log and the sessions'
//! key. Plain data: `moderation::records` turns it into the store's types.
//!
//! Keys (all under `chyron:mod:`):
//! - `chyron:mod:sanctions`: hash, `{kind}\n{channel}\n{user id}` (kind
//!   `timeout` or `ban`) → JSON `{"until"?, "reason"?, "actor", "since"}`.
//!   One hash, so a node reads every sanction in force with one `HGETALL`.
//! - `chyron:mod:owners:{channel}`: sorted set, user id scored by when the
//!   API added them (`ZRANGE` lists them by that, then by id).
//! - `chyron:mod:moderators:{scope}`: hash, user id → JSON
//!   `{"from"?, "until"?, "appointed_by", "added"}` (scope `channel:{c}` or
//!   `owner:{user id}`).
//! - `chyron:mod:karma`: hash, `{owner}\n{user id}` → `{points} {last ms}`.
//! - `chyron:mod:log:{channel}`: sorted set, `{id} {line JSON}` scored by
//!   `id`, capped at [`LOG_KEPT`] lines per channel (the oldest go);
//!   `chyron:mod:log-id`: the counter that numbers lines (all channels).
//! - `chyron:mod:session-key`: string, the sessions' HMAC key in hex, set
//!   once (`SET NX`) by the first node that needs it.
//!
//! Scripts where two nodes could race: [`LIFT`] (a timeout's end is lifted
//! by the one node whose compare-and-delete succeeds) and [`TIME_OUT`] (the
//! timeout and the karma it adds, in one step).

use super::{timed, Cluster, ClusterError};
use redis::Script;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

const SANCTIONS: &str = "chyron:mod:sanctions";
const KARMA: &str = "chyron:mod:karma";
const LOG_ID: &str = "chyron:mod:log-id";
const SESSION_KEY: &str = "chyron:mod:session-key";

/// Log lines kept per channel; older ones are dropped.
pub const LOG_KEPT: usize = 10_000;

fn owners_key(channel: &str) -> String {
    format!("chyron:mod:owners:{channel}")
}

fn moderators_key(scope: &str) -> String {
    format!("chyron:mod:moderators:{scope}")
}

fn log_key(channel: &str) -> String {
    format!("chyron:mod:log:{channel}")
}

/// A sanction's field in [`SANCTIONS`].
pub fn sanction_field(kind: &str, channel: &str, user_id: &str) -> String {
    format!("{kind}\n{channel}\n{user_id}")
}

fn karma_field(owner: &str, user_id: &str) -> String {
    format!("{owner}\n{user_id}")
}

/// Deletes sanction field `ARGV[1]`; with `ARGV[2]` not empty, only if its
/// `until` is still that (a timeout's end: one node lifts it, and never a
/// timeout extended meanwhile). Returns 1 if it deleted.
const LIFT: &str = r"
if ARGV[2] == '' then return redis.call('HDEL', KEYS[1], ARGV[1]) end
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
if cjson.decode(old)['until'] ~= tonumber(ARGV[2]) then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
";

/// Puts timeout `ARGV[2]` (JSON) at field `ARGV[1]`; unless the one it
/// replaces lasts past `ARGV[3]` (now: an extension), also sets karma
/// field `ARGV[4]` to `ARGV[5]`. Returns 1 for an extension, else 0.
const TIME_OUT: &str = r"
local old = redis.call('HGET', KEYS[1], ARGV[1])
local extended = old and (cjson.decode(old)['until'] or 0) > tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if extended then return 1 end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
return 0
";

/// Appends line `ARGV[1]` (JSON) to log `KEYS[1]` under the next id of
/// counter `KEYS[2]`, keeping the newest `ARGV[2]`. Returns the id.
const LOG: &str = r"
local id = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], id, id .. ' ' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -1 - tonumber(ARGV[2]))
return id
";

static LIFT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(LIFT));
static TIME_OUT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TIME_OUT));
static LOG_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(LOG));

/// A sanction as Redis keeps it (its kind, channel and person in the field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SanctionRecord {
    /// A timeout's end, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who imposed it.
    pub actor: String,
    /// When, ms.
    pub since: i64,
}

/// An appointment as Redis keeps it (scope and person in key and field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentRecord {
    /// From when (event appointments), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// Until when (event appointments), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// Who appointed them.
    pub appointed_by: String,
    /// When, ms: the list's order.
    pub added: i64,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Corrupt(format!("{what}: {e}"))
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ClusterError> {
    serde_json::to_string(value).map_err(|e| corrupt("json", e))
}

impl Cluster {
    /// Runs `cmd` within [`super::CALL_TIMEOUT`].
    pub(super) async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: redis::Cmd,
    ) -> Result<T, ClusterError> {
        let mut conn = self.conn.clone();
        timed(cmd.query_async(&mut conn)).await
    }

    /// Every sanction in force: (field parts kind, channel, user id; record).
    pub async fn mod_sanctions(
        &self,
    ) -> Result<Vec<(String, String, String, SanctionRecord)>, ClusterError> {
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(SANCTIONS);
        let all: Vec<(String, String)> = self.query(cmd).await?;
        all.into_iter()
            .map(|(field, json)| {
                let mut parts = field.splitn(3, '\n');
                let (Some(kind), Some(channel), Some(user)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(corrupt("sanction field", &field));
                };
                let record = serde_json::from_str(&json).map_err(|e| corrupt("sanction", e))?;
                Ok((kind.into(), channel.into(), user.into(), record))
            })
            .collect()
    }

    /// Puts (or replaces) a sanction at `field`.
    pub async fn mod_put_sanction(
        &self,
        field: &str,
        record: &SanctionRecord,
    ) -> Result<(), ClusterError> {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(SANCTIONS).arg(field).arg(to_json(record)?);
        self.query::<i64>(cmd).await.map(drop)
    }

    /// Puts a timeout and, unless it extends one lasting past `now`, the
    /// karma it adds, in one step ([`TIME_OUT`]); whether it extended.
    pub async fn mod_time_out(
        &self,
        field: &str,
        record: &SanctionRecord,
        now: i64,
        owner: &str,
        user_id: &str,
        karma: (i64, i64),
    ) -> Result<bool, ClusterError> {
        let mut conn = self.conn.clone();
        let mut call = TIME_OUT_SCRIPT.key(SANCTIONS);
        call.key(KARMA)
            .arg(field)
            .arg(to_json(record)?)
            .arg(now)
            .arg(karma_field(owner, user_id))
            .arg(format!("{} {}", karma.0, karma.1));
        let extended: i64 = timed(call.invoke_async(&mut conn)).await?;
        Ok(extended == 1)
    }

    /// Lifts the sanction at `field` ([`LIFT`]); only if its end is still
    /// `until` when given. Whether this call lifted it.
    pub async fn mod_lift(&self, field: &str, until: Option<i64>) -> Result<bool, ClusterError> {
        let mut conn = self.conn.clone();
        let mut call = LIFT_SCRIPT.key(SANCTIONS);
        call.arg(field)
            .arg(until.map(|u| u.to_string()).unwrap_or_default());
        let n: i64 = timed(call.invoke_async(&mut conn)).await?;
        Ok(n > 0)
    }

    /// The owners the API added to `channel`, by when, then by id.
    pub async fn mod_owners(&self, channel: &str) -> Result<Vec<String>, ClusterError> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(owners_key(channel)).arg(0).arg(-1);
        self.query(cmd).await
    }

    /// Adds (`on`) or removes an owner; whether anything changed.
    pub async fn mod_set_owner(
        &self,
        channel: &str,
        user_id: &str,
        on: bool,
        now: i64,
    ) -> Result<bool, ClusterError> {
        let mut cmd = if on {
            let mut cmd = redis::cmd("ZADD");
            cmd.arg(owners_key(channel)).arg("NX").arg(now);
            cmd
        } else {
            let mut cmd = redis::cmd("ZREM");
            cmd.arg(owners_key(channel));
            cmd
        };
        cmd.arg(user_id);
        Ok(self.query::<i64>(cmd).await? > 0)
    }

    /// The appointments of `scope`: (user id, record), in no order.
    pub async fn mod_appointments(
        &self,
        scope: &str,
    ) -> Result<Vec<(String, AppointmentRecord)>, ClusterError> {
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(moderators_key(scope));
        let all: Vec<(String, String)> = self.query(cmd).await?;
        all.into_iter()
            .map(|(user, json)| {
                let r = serde_json::from_str(&json).map_err(|e| corrupt("appointment", e))?;
                Ok((user, r))
            })
            .collect()
    }

    /// Records an appointment (replacing the scope's one for that person).
    pub async fn mod_appoint(
        &self,
        scope: &str,
        user_id: &str,
        record: &AppointmentRecord,
    ) -> Result<(), ClusterError> {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(moderators_key(scope))
            .arg(user_id)
            .arg(to_json(record)?);
        self.query::<i64>(cmd).await.map(drop)
    }

    /// Removes an appointment; whether there was one.
    pub async fn mod_dismiss(&self, scope: &str, user_id: &str) -> Result<bool, ClusterError> {
        let mut cmd = redis::cmd("HDEL");
        cmd.arg(moderators_key(scope)).arg(user_id);
        Ok(self.query::<i64>(cmd).await? > 0)
    }

    /// A person's karma with one owner: (points, last), if recorded.
    pub async fn mod_karma(
        &self,
        owner: &str,
        user_id: &str,
    ) -> Result<Option<(i64, i64)>, ClusterError> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(KARMA).arg(karma_field(owner, user_id));
        let text: Option<String> = self.query(cmd).await?;
        text.map(|t| {
            let (p, l) = t.split_once(' ').ok_or_else(|| corrupt("karma", &t))?;
            match (p.parse(), l.parse()) {
                (Ok(p), Ok(l)) => Ok((p, l)),
                _ => Err(corrupt("karma", &t)),
            }
        })
        .transpose()
    }

    /// Appends a line (JSON without its id) to `channel`'s log; its id.
    pub async fn mod_log(&self, channel: &str, line: &str) -> Result<i64, ClusterError> {
        let mut conn = self.conn.clone();
        let mut call = LOG_SCRIPT.key(log_key(channel));
        call.key(LOG_ID).arg(line).arg(LOG_KEPT);
        timed(call.invoke_async(&mut conn)).await
    }

    /// Up to `limit` of `channel`'s log lines with ids below `before`,
    /// newest first: (id, line JSON).
    pub async fn mod_log_page(
        &self,
        channel: &str,
        before: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, ClusterError> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(log_key(channel))
            .arg(format!("({before}"))
            .arg("-inf")
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(limit);
        let rows: Vec<String> = self.query(cmd).await?;
        rows.into_iter()
            .map(|row| {
                let (id, json) = row.split_once(' ').ok_or_else(|| corrupt("log", &row))?;
                let id = id.parse().map_err(|_| corrupt("log id", &row))?;
                Ok((id, json.to_string()))
            })
            .collect()
    }

    /// The sessions' key: `fresh` if no node stored one yet, else theirs.
    pub async fn mod_session_key(&self, fresh: &str) -> Result<String, ClusterError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(SESSION_KEY).arg(fresh).arg("NX").arg("GET");
        let old: Option<String> = self.query(cmd).await?;
        Ok(old.unwrap_or_else(|| fresh.to_string()))
    }
}
