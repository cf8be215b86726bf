//! Durable state in one SQLite file, `DIR/chyron.sqlite3`.
//!
//! WAL with `synchronous=FULL`: a transaction is on disk when `commit` returns,
//! and callers answer 2xx only after that. Every method blocks; async code
//! calls them through [`Store::call`], which runs them on the blocking pool.

use crate::event::Change;
use chyron_protocol::{Message, Source};
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

/// What a stored webhook is, minus its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Public identifier, the first path segment of the hook URL.
    pub id: String,
    /// The channel it posts to.
    pub channel: String,
    /// Default sender name for its posts.
    pub name: String,
    /// SHA-256 of the secret (the secret itself is never stored).
    pub secret_sha256: [u8; 32],
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Whether it was revoked (kept so revoked ids are never reused).
    pub revoked: bool,
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
    PRIMARY KEY (channel, id));
CREATE INDEX IF NOT EXISTS messages_by_seq ON messages (channel, deleted, seq);
CREATE INDEX IF NOT EXISTS messages_by_sender ON messages (channel, sender_id, deleted);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, name TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL, created_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS origins (
    channel TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT,
    PRIMARY KEY (channel, origin)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
        conn.execute_batch(SCHEMA)?;
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
/// transaction. Returns how many messages it removed (for clear).
///
/// `origin` is the id the event had where it came from (a Matrix event id):
/// it is recorded in the same transaction, and an origin recorded before makes
/// the call fail with [`StoreError::Duplicate`] without changing anything, so a
/// re-delivered event is never applied twice.
pub fn apply(
    conn: &mut Connection,
    channel: &str,
    epoch: &str,
    seq: u64,
    frame: &str,
    change: &Change<Message>,
    origin: Option<&str>,
) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    if let Some(origin) = origin {
        let seen = tx
            .query_row(
                "SELECT 1 FROM origins WHERE channel = ?1 AND origin = ?2",
                params![channel, origin],
                |_| Ok(()),
            )
            .optional()?;
        if seen.is_some() {
            return Err(StoreError::Duplicate);
        }
        let message_id = match change {
            Change::Post(m) => Some(m.id.as_str()),
            _ => None,
        };
        tx.execute(
            "INSERT INTO origins (channel, origin, seq, message_id) VALUES (?1, ?2, ?3, ?4)",
            params![channel, origin, seq as i64, message_id],
        )?;
    }
    let affected = match change {
        Change::Post(m) => tx.execute(
            "INSERT INTO messages (channel, id, seq, sender, sender_id, body, ts, edited, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)",
            params![channel, m.id, seq as i64, m.sender, m.sender_id, m.body, m.ts, source_name(m.source)],
        )?,
        Change::Edit { id, body } => tx.execute(
            "UPDATE messages SET body = ?3, edited = 1 WHERE channel = ?1 AND id = ?2 AND deleted = 0",
            params![channel, id, body],
        )?,
        Change::Delete { id } => tx.execute(
            "UPDATE messages SET deleted = 1 WHERE channel = ?1 AND id = ?2 AND deleted = 0",
            params![channel, id],
        )?,
        Change::Clear { sender_id } => tx.execute(
            "UPDATE messages SET deleted = 1 WHERE channel = ?1 AND sender_id = ?2 AND deleted = 0",
            params![channel, sender_id],
        )?,
    };
    if affected == 0 && matches!(change, Change::Edit { .. } | Change::Delete { .. }) {
        return Err(StoreError::NotFound);
    }
    tx.execute(
        "INSERT INTO events (channel, seq, frame) VALUES (?1, ?2, ?3)",
        params![channel, seq as i64, frame],
    )?;
    tx.execute(
        "INSERT INTO channels (name, epoch, head_seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET head_seq = excluded.head_seq",
        params![channel, epoch, seq as i64],
    )?;
    tx.commit()?;
    Ok(affected)
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
        "SELECT id, sender, sender_id, body, ts, edited, source FROM messages
         WHERE channel = ?1 AND deleted = 0 ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![channel, limit as i64], |r| {
        Ok(Message {
            id: r.get(0)?,
            sender: r.get(1)?,
            sender_id: r.get(2)?,
            body: r.get(3)?,
            ts: r.get(4)?,
            edited: r.get::<_, i64>(5)? != 0,
            source: parse_source(&r.get::<_, String>(6)?),
        })
    })?;
    let mut messages: Vec<Message> = rows.collect::<Result<_, _>>()?;
    messages.reverse();
    Ok(messages)
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Api => "api",
        Source::Webhook => "webhook",
        Source::Matrix => "matrix",
        Source::Other => "other",
    }
}

fn parse_source(name: &str) -> Source {
    match name {
        "api" => Source::Api,
        "webhook" => Source::Webhook,
        "matrix" => Source::Matrix,
        _ => Source::Other,
    }
}

/// Stores a new webhook.
pub fn insert_webhook(conn: &mut Connection, w: &Webhook) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO webhooks (id, channel, name, secret_sha256, created_at, revoked)
         VALUES (?1, ?2, ?3, ?4, ?5, 0)",
        params![w.id, w.channel, w.name, &w.secret_sha256[..], w.created_at],
    )?;
    Ok(())
}

/// One webhook by id, revoked or not.
pub fn get_webhook(conn: &mut Connection, id: &str) -> Result<Option<Webhook>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, channel, name, secret_sha256, created_at, revoked FROM webhooks WHERE id = ?1",
            [id],
            row_to_webhook,
        )
        .optional()?)
}

/// The channel's live (not revoked) webhooks, oldest first.
pub fn list_webhooks(conn: &mut Connection, channel: &str) -> Result<Vec<Webhook>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, channel, name, secret_sha256, created_at, revoked FROM webhooks
         WHERE channel = ?1 AND revoked = 0 ORDER BY created_at, rowid",
    )?;
    let rows = stmt.query_map([channel], row_to_webhook)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes a live webhook of the channel; false if there is none.
pub fn revoke_webhook(conn: &mut Connection, channel: &str, id: &str) -> Result<bool, StoreError> {
    let n = conn.execute(
        "UPDATE webhooks SET revoked = 1 WHERE id = ?1 AND channel = ?2 AND revoked = 0",
        params![id, channel],
    )?;
    Ok(n == 1)
}

fn row_to_webhook(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    let digest: Vec<u8> = r.get(3)?;
    let mut secret_sha256 = [0u8; 32];
    if digest.len() == 32 {
        secret_sha256.copy_from_slice(&digest);
    }
    Ok(Webhook {
        id: r.get(0)?,
        channel: r.get(1)?,
        name: r.get(2)?,
        secret_sha256,
        created_at: r.get(4)?,
        revoked: r.get::<_, i64>(5)? != 0,
    })
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
