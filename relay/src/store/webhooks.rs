//! Webhook records: a public id, the channel, a default name and the SHA-256
//! of the secret (never the secret itself).

use super::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

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
