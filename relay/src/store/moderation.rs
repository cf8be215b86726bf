//! Moderation's tables in the relay's SQLite: owners and moderators added
//! through the API, timeouts and bans (their end stored as a time, never as
//! a sleeping task), karma per owner, and the moderation log. Plain
//! functions over a connection, called on the store's blocking pool.

use super::StoreError;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// The tables; created at open, idempotent.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS mod_owners (
    channel TEXT NOT NULL, user_id TEXT NOT NULL, added INTEGER NOT NULL,
    PRIMARY KEY (channel, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mod_moderators (
    scope TEXT NOT NULL, user_id TEXT NOT NULL, from_ms INTEGER, until_ms INTEGER,
    appointed_by TEXT NOT NULL, added INTEGER NOT NULL,
    PRIMARY KEY (scope, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mod_sanctions (
    channel TEXT NOT NULL, user_id TEXT NOT NULL, kind TEXT NOT NULL,
    until_ms INTEGER, reason TEXT, actor TEXT NOT NULL, since INTEGER NOT NULL,
    PRIMARY KEY (channel, user_id, kind)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mod_karma (
    owner TEXT NOT NULL, user_id TEXT NOT NULL, points INTEGER NOT NULL, last INTEGER NOT NULL,
    PRIMARY KEY (owner, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mod_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, ts INTEGER NOT NULL,
    actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, reason TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS mod_log_by_channel ON mod_log (channel, id);
CREATE TABLE IF NOT EXISTS mod_role_edges (edge TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS mod_role_edges_by_at ON mod_role_edges (at);
";

/// A timeout or a ban in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sanction {
    /// The channel it applies to.
    #[serde(skip)]
    pub channel: String,
    /// Whose posts are refused: a Matrix user id or an API sender name.
    #[serde(skip)]
    pub user_id: String,
    /// `timeout` or `ban`.
    #[serde(skip)]
    pub kind: Kind,
    /// When a timeout ends (ms since the epoch); a ban has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// Why, as the moderator wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a sanction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Posts refused until a time.
    Timeout,
    /// Posts refused until lifted; lines cleared.
    Ban,
}

impl Kind {
    /// As stored: `timeout` or `ban`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Timeout => "timeout",
            Kind::Ban => "ban",
        }
    }
}

/// One line of the moderation log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Its number, for paging (`before`).
    pub id: i64,
    /// When (ms since the epoch).
    pub ts: i64,
    /// Who acted: a Matrix user id, or `api`.
    pub actor: String,
    /// What was done (`timeout`, `ban`, `mark_nsfw`, `appoint`, …).
    pub action: String,
    /// To whom or what: a user id or a message id.
    pub target: String,
    /// The reason given, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What else happened (the timeout's end, what Matrix refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Every sanction in force (bans, and timeouts not yet lifted).
pub fn sanctions(c: &mut Connection) -> Result<Vec<Sanction>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT channel, user_id, kind, until_ms, reason FROM mod_sanctions ORDER BY since",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Sanction {
            channel: r.get(0)?,
            user_id: r.get(1)?,
            kind: match r.get::<_, String>(2)?.as_str() {
                "ban" => Kind::Ban,
                _ => Kind::Timeout,
            },
            until: r.get(3)?,
            reason: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records a sanction (replacing one of the same kind: a second timeout
/// sets a new end).
pub fn put_sanction(c: &Connection, s: &Sanction, actor: &str, now: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO mod_sanctions (channel, user_id, kind, until_ms, reason, actor, since)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (channel, user_id, kind) DO UPDATE SET
            until_ms = excluded.until_ms, reason = excluded.reason, actor = excluded.actor",
        params![
            s.channel,
            s.user_id,
            s.kind.name(),
            s.until,
            s.reason,
            actor,
            now
        ],
    )?;
    Ok(())
}

/// Lifts a sanction; with `until`, only a timeout still ending then (not
/// one extended meanwhile). Whether there was one.
pub fn lift(
    c: &mut Connection,
    channel: &str,
    user_id: &str,
    kind: Kind,
    until: Option<i64>,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "DELETE FROM mod_sanctions WHERE channel = ?1 AND user_id = ?2 AND kind = ?3
         AND (?4 IS NULL OR until_ms = ?4)",
        params![channel, user_id, kind.name(), until],
    )?;
    Ok(n > 0)
}

/// When `user_id`'s timeout in `channel` ends, if they have one recorded.
pub fn timeout_until(
    c: &Connection,
    channel: &str,
    user_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row(
        "SELECT until_ms FROM mod_sanctions WHERE channel = ?1 AND user_id = ?2 AND kind = 'timeout'",
        params![channel, user_id],
        |r| r.get::<_, Option<i64>>(0),
    )
    .optional()?
    .flatten())
}

/// The owners added through the API for `channel`.
pub fn owners(c: &mut Connection, channel: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT user_id FROM mod_owners WHERE channel = ?1 ORDER BY added, user_id",
    )?;
    let rows = stmt.query_map([channel], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds (`true`) or removes an owner; whether anything changed.
pub fn set_owner(
    c: &mut Connection,
    channel: &str,
    user_id: &str,
    on: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let n = if on {
        c.execute(
            "INSERT OR IGNORE INTO mod_owners (channel, user_id, added) VALUES (?1, ?2, ?3)",
            params![channel, user_id, now],
        )?
    } else {
        c.execute(
            "DELETE FROM mod_owners WHERE channel = ?1 AND user_id = ?2",
            params![channel, user_id],
        )?
    };
    Ok(n > 0)
}

/// One appointment: `scope` is `channel:{name}` (for one event, between
/// `from` and `until`) or `owner:{user id}` (every channel of that owner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appointment {
    /// Where the role holds.
    pub scope: String,
    /// Who holds it.
    pub user_id: String,
    /// From when (event appointments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// Until when (event appointments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// Who appointed them.
    pub appointed_by: String,
}

/// The appointments in `scopes` (a channel's, and its owners').
pub fn appointments(c: &mut Connection, scopes: &[String]) -> Result<Vec<Appointment>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT scope, user_id, from_ms, until_ms, appointed_by FROM mod_moderators
         WHERE scope = ?1 ORDER BY added, user_id",
    )?;
    let mut all = Vec::new();
    for scope in scopes {
        let rows = stmt.query_map([scope], |r| {
            Ok(Appointment {
                scope: r.get(0)?,
                user_id: r.get(1)?,
                from: r.get(2)?,
                until: r.get(3)?,
                appointed_by: r.get(4)?,
            })
        })?;
        for row in rows {
            all.push(row?);
        }
    }
    Ok(all)
}

/// Records an appointment (replacing the same scope's for that user).
pub fn appoint(c: &mut Connection, a: &Appointment, now: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO mod_moderators (scope, user_id, from_ms, until_ms, appointed_by, added)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (scope, user_id) DO UPDATE SET from_ms = excluded.from_ms,
            until_ms = excluded.until_ms, appointed_by = excluded.appointed_by",
        params![a.scope, a.user_id, a.from, a.until, a.appointed_by, now],
    )?;
    Ok(())
}

/// Removes an appointment; whether there was one.
pub fn dismiss(c: &mut Connection, scope: &str, user_id: &str) -> Result<bool, StoreError> {
    let n = c.execute(
        "DELETE FROM mod_moderators WHERE scope = ?1 AND user_id = ?2",
        params![scope, user_id],
    )?;
    Ok(n > 0)
}

/// A person's karma with one owner: points and when the last was added.
pub fn karma(
    c: &mut Connection,
    owner: &str,
    user_id: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    Ok(c.query_row(
        "SELECT points, last FROM mod_karma WHERE owner = ?1 AND user_id = ?2",
        params![owner, user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// Stores a person's karma with one owner.
pub fn set_karma(
    c: &Connection,
    owner: &str,
    user_id: &str,
    points: i64,
    last: i64,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO mod_karma (owner, user_id, points, last) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (owner, user_id) DO UPDATE SET points = excluded.points, last = excluded.last",
        params![owner, user_id, points, last],
    )?;
    Ok(())
}

/// Appends a line to the log; its id.
pub fn log(c: &mut Connection, channel: &str, line: &LogLine) -> Result<i64, StoreError> {
    c.execute(
        "INSERT INTO mod_log (channel, ts, actor, action, target, reason, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            channel,
            line.ts,
            line.actor,
            line.action,
            line.target,
            line.reason,
            line.detail
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// The newest `limit` log lines of `channel` before id `before`, newest first.
pub fn log_page(
    c: &mut Connection,
    channel: &str,
    before: i64,
    limit: usize,
) -> Result<Vec<LogLine>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT id, ts, actor, action, target, reason, detail FROM mod_log
         WHERE channel = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![channel, before, limit as i64], |r| {
        Ok(LogLine {
            id: r.get(0)?,
            ts: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            reason: r.get(5)?,
            detail: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The name `sender_id` last posted under in `channel`, if they posted.
pub fn last_name(
    conn: &mut Connection,
    channel: &str,
    sender_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT sender FROM messages WHERE channel = ?1 AND sender_id = ?2
             ORDER BY seq DESC LIMIT 1",
            params![channel, sender_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Stops serving the avatars `sender_id`'s lines in `channel` showed (a
/// ban): the avatar route finds them no more. Returns how many went.
pub fn forget_avatars(
    conn: &mut Connection,
    channel: &str,
    sender_id: &str,
) -> Result<usize, StoreError> {
    let prefix = format!("/media/{channel}/avatars/");
    Ok(conn.execute(
        "DELETE FROM avatars WHERE channel = ?1 AND ?3 || key IN
            (SELECT avatar FROM messages WHERE channel = ?1 AND sender_id = ?2 AND avatar IS NOT NULL)",
        params![channel, sender_id, prefix],
    )?)
}
