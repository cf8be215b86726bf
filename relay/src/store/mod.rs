//! Durable state in one SQLite file, `DIR/chyron.sqlite3`.
//!
//! WAL with `synchronous=FULL`: a transaction is on disk when `commit` returns,
//! and callers answer 2xx only after that. Every method blocks; async code
//! calls them through [`Store::call`], which runs them on the blocking pool.

pub mod avatars;
pub mod identity;
pub mod live;
pub mod moderation;
mod outbox;
pub mod replica;
pub mod seen;
mod webhooks;

pub use outbox::{
    dequeue_outbox, next_outbox, outbox_len, outgoing, OutboxEntry, OutboxKind, Outgoing,
};
pub use webhooks::{get_webhook, insert_webhook, list_webhooks, revoke_webhook, Webhook};

use crate::event::{Change, Origin};
use chyron_protocol::{Media, Message, Source};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The database. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Store {
    /// One connection: writes are serialized anyway, and one connection keeps
    /// read-your-writes trivially true.
    conn: Arc<Mutex<Connection>>,
}

/// A store error: SQLite failed, or the change named a message that is gone.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The edited or deleted message does not exist or is already deleted.
    #[error("no such message")]
    NotFound,
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be created.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// The blocking task panicked or was cancelled.
    #[error("database task failed: {0}")]
    Join(String),
    /// The event's origin id (e.g. a Matrix event id) was applied before.
    #[error("event already applied")]
    Duplicate,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS channels (
    name TEXT PRIMARY KEY, epoch TEXT NOT NULL, head_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    channel TEXT NOT NULL, seq INTEGER NOT NULL, frame TEXT NOT NULL,
    PRIMARY KEY (channel, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    channel TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
    sender TEXT NOT NULL, sender_id TEXT NOT NULL, body TEXT NOT NULL, ts INTEGER NOT NULL,
    edited INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL,
    html TEXT, media TEXT, avatar TEXT,
    PRIMARY KEY (channel, id));
CREATE INDEX IF NOT EXISTS messages_by_seq ON messages (channel, deleted, seq);
CREATE INDEX IF NOT EXISTS messages_by_sender ON messages (channel, sender_id, deleted);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, name TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL, created_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS origins (
    channel TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT,
    media TEXT, PRIMARY KEY (channel, origin)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS origins_by_message ON origins (channel, message_id);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, seq INTEGER NOT NULL,
    kind TEXT NOT NULL, message_id TEXT NOT NULL, sender TEXT NOT NULL, body TEXT NOT NULL,
    source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS avatars (
    channel TEXT NOT NULL, key TEXT NOT NULL, uri TEXT NOT NULL,
    PRIMARY KEY (channel, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mod_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT NOT NULL, created INTEGER NOT NULL, outcome TEXT);
CREATE TABLE IF NOT EXISTS live_djs (
    channel TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT, since INTEGER NOT NULL,
    PRIMARY KEY (channel, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen (
    channel TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT NOT NULL,
    first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL, posted_ts INTEGER,
    PRIMARY KEY (channel, user_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_by_time ON seen (channel, last_ts);
CREATE INDEX IF NOT EXISTS messages_with_links ON messages (channel, seq)
    WHERE deleted = 0 AND (media IS NOT NULL OR instr(body, '://') > 0);
";

impl Store {
    /// Opens (creating if needed) `dir/chyron.sqlite3`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Join(format!("create {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("chyron.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&conn)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(moderation::SCHEMA)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking thread pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Join(e.to_string()))?
    }
}

/// Brings a database from an earlier version up to [`SCHEMA`]: columns added
/// since are added (empty), nothing is rewritten.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    for (table, column, kind) in [
        ("messages", "html", "TEXT"),
        ("messages", "media", "TEXT"),
        ("messages", "avatar", "TEXT"),
        ("origins", "media", "TEXT"),
        ("seen", "posted_ts", "INTEGER"),
    ] {
        let exists: bool = conn.query_row(
            &format!(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
            ),
            [],
            |r| r.get::<_, i64>(0),
        )? == 1;
        let has = exists
            && conn
                .prepare(&format!(
                    "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
                ))?
                .exists([column])?;
        if exists && !has {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}

/// The channel's epoch and head seq, if it ever had an event. A channel is
/// stored with its first event, not when someone merely watches it, so
/// anonymous viewers cannot grow the database.
pub fn load_channel(
    conn: &mut Connection,
    name: &str,
) -> Result<Option<(String, u64)>, StoreError> {
    let row = conn
        .query_row(
            "SELECT epoch, head_seq FROM channels WHERE name = ?1",
            [name],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()?;
    Ok(row.map(|(epoch, head)| (epoch, head as u64)))
}

/// The serialized event frames with seq in `(after, ..]`, oldest first.
pub fn events_after(
    conn: &mut Connection,
    channel: &str,
    after: u64,
) -> Result<Vec<(u64, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, frame FROM events WHERE channel = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![channel, after as i64], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Applies `change` as event `seq` with serialized `frame`, in one durable
/// transaction. Returns how many messages it changed (for clear, profile).
///
/// `origin` is where the event came from (a Matrix event): its id is
/// recorded in the same transaction, and an id recorded before makes the call
/// fail with [`StoreError::Duplicate`] without changing anything, so a
/// re-delivered event is never applied twice. `outbox` queues the change for
/// the Matrix room in the same transaction (see [`next_outbox`]).
#[allow(clippy::too_many_arguments)]
pub fn apply(
    conn: &mut Connection,
    channel: &str,
    epoch: &str,
    seq: u64,
    frame: &str,
    change: &Change<Message>,
    origin: Option<&Origin>,
    outbox: bool,
) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    let post_id = match change {
        Change::Post(m) => Some(m.id.as_str()),
        _ => None,
    };
    if let Some(origin) = origin {
        let seen = tx
            .query_row(
                "SELECT 1 FROM origins WHERE channel = ?1 AND origin = ?2",
                params![channel, origin.id],
                |_| Ok(()),
            )
            .optional()?;
        if seen.is_some() {
            return Err(StoreError::Duplicate);
        }
        tx.execute(
            "INSERT INTO origins (channel, origin, seq, message_id, media) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![channel, origin.id, seq as i64, post_id, origin.media],
        )?;
        if let Some(uri) = &origin.avatar {
            avatars::record(&tx, channel, uri)?;
        }
    }
    let affected = match change {
        Change::Post(m) => {
            let media = m.media.as_ref().map(media_json).transpose()?;
            tx.execute(
                "INSERT INTO messages (channel, id, seq, sender, sender_id, body, ts, edited, source, html, media, avatar)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10, ?11)",
                params![channel, m.id, seq as i64, m.sender, m.sender_id, m.body, m.ts,
                    source_name(m.source), m.html, media, m.avatar],
            )?;
            seen::record(&tx, channel, &m.sender_id, &m.sender, m.ts)?;
            1
        }
        Change::Edit { id, body, html } => tx.execute(
            "UPDATE messages SET body = ?3, html = ?4, edited = 1
             WHERE channel = ?1 AND id = ?2 AND deleted = 0",
            params![channel, id, body, html],
        )?,
        Change::Delete { id } => tx.execute(
            "UPDATE messages SET deleted = 1 WHERE channel = ?1 AND id = ?2 AND deleted = 0",
            params![channel, id],
        )?,
        Change::Clear { sender_id } => tx.execute(
            "UPDATE messages SET deleted = 1 WHERE channel = ?1 AND sender_id = ?2 AND deleted = 0",
            params![channel, sender_id],
        )?,
        // Only an attachment can be marked (`json_set` of NULL is NULL).
        Change::Mark { id, mark } => tx.execute(
            "UPDATE messages SET media = json_set(media, '$.mark', ?3)
             WHERE channel = ?1 AND id = ?2 AND deleted = 0 AND media IS NOT NULL",
            params![channel, id, mark_name(*mark)],
        )?,
        Change::Profile {
            sender_id,
            sender,
            avatar,
        } => tx.execute(
            "UPDATE messages SET sender = ?3, avatar = ?4
             WHERE channel = ?1 AND sender_id = ?2 AND deleted = 0",
            params![channel, sender_id, sender, avatar],
        )?,
    };
    // An edit or delete of nothing is an error; so is a rename of a sender
    // with nothing shown (no event: viewers have nothing to update).
    let needs_target = matches!(
        change,
        Change::Edit { .. } | Change::Delete { .. } | Change::Mark { .. } | Change::Profile { .. }
    );
    if affected == 0 && needs_target {
        return Err(StoreError::NotFound);
    }
    if outbox {
        outbox::enqueue(&tx, channel, seq, change)?;
    }
    replica::insert_event(&tx, channel, epoch, seq, frame)?;
    tx.commit()?;
    Ok(affected)
}

/// A mark's wire name, as stored inside the message's media JSON.
fn mark_name(mark: chyron_protocol::Mark) -> String {
    serde_json::to_value(mark)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn media_json(media: &Media) -> Result<String, StoreError> {
    serde_json::to_string(media).map_err(|e| StoreError::Join(format!("media: {e}")))
}

/// Records that the visible message `message_id` is Matrix event `origin`
/// too (a post the bridge sent to the room), so Matrix redactions and edits
/// of that event find it. A no-op if the origin is recorded already.
pub fn link_origin(
    conn: &mut Connection,
    channel: &str,
    origin: &str,
    seq: u64,
    message_id: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO origins (channel, origin, seq, message_id) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
        params![channel, origin, seq as i64, message_id],
    )?;
    Ok(())
}

/// The Matrix event a message is (or was sent as), if any.
pub fn message_origin(
    conn: &mut Connection,
    channel: &str,
    message_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT origin FROM origins WHERE channel = ?1 AND message_id = ?2",
            params![channel, message_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// The content URI of a visible message's attachment, if it has one.
pub fn media_source(
    conn: &mut Connection,
    channel: &str,
    message_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT o.media FROM origins o
             JOIN messages m ON m.channel = o.channel AND m.id = o.message_id
             WHERE o.channel = ?1 AND o.message_id = ?2 AND m.deleted = 0 AND o.media IS NOT NULL",
            params![channel, message_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Whether an event with this origin id was applied to the channel.
pub fn origin_seen(conn: &mut Connection, channel: &str, origin: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM origins WHERE channel = ?1 AND origin = ?2",
            params![channel, origin],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// The message a post with this origin id became, with its `sender_id`, if
/// that post was applied and the message is still visible.
pub fn origin_message(
    conn: &mut Connection,
    channel: &str,
    origin: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT m.id, m.sender_id FROM origins o
             JOIN messages m ON m.channel = o.channel AND m.id = o.message_id
             WHERE o.channel = ?1 AND o.origin = ?2 AND m.deleted = 0",
            params![channel, origin],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// A persisted setting (e.g. the Matrix sync token).
pub fn get_setting(conn: &mut Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Stores a setting, replacing its old value.
pub fn set_setting(conn: &mut Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The newest `limit` visible messages, oldest first.
pub fn recent_messages(
    conn: &mut Connection,
    channel: &str,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, sender, sender_id, body, ts, edited, source, html, media, avatar,
            (SELECT o.origin FROM origins o WHERE o.channel = m.channel AND o.message_id = m.id
             LIMIT 1)
         FROM messages m WHERE channel = ?1 AND deleted = 0 ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![channel, limit as i64], |r| {
        let source = parse_source(&r.get::<_, String>(6)?);
        Ok(Message {
            id: r.get(0)?,
            sender: r.get(1)?,
            sender_id: r.get(2)?,
            body: r.get(3)?,
            ts: r.get(4)?,
            edited: r.get::<_, i64>(5)? != 0,
            source,
            html: r.get(7)?,
            // Written by this module from a `Media`; unreadable means a
            // newer version wrote it, and the message still shows its body.
            media: r
                .get::<_, Option<String>>(8)?
                .and_then(|j| serde_json::from_str(&j).ok()),
            avatar: r.get(9)?,
            // Only a Matrix message's origin is its own event (an API post
            // sent on to Matrix is linked to the bot's copy).
            event_id: r
                .get::<_, Option<String>>(10)?
                .filter(|_| source == Source::Matrix),
        })
    })?;
    let mut messages: Vec<Message> = rows.collect::<Result<_, _>>()?;
    messages.reverse();
    Ok(messages)
}

pub(crate) fn source_name(source: Source) -> &'static str {
    match source {
        Source::Api => "api",
        Source::Webhook => "webhook",
        Source::Matrix => "matrix",
        Source::Other => "other",
    }
}

pub(crate) fn parse_source(name: &str) -> Source {
    match name {
        "api" => Source::Api,
        "webhook" => Source::Webhook,
        "matrix" => Source::Matrix,
        _ => Source::Other,
    }
}

#[cfg(test)]
mod tests;
