//! Matrix members' avatars the relay may serve: recorded when an event that
//! shows one is stored (in its transaction), looked up by the avatar route.
//! Viewers see only a key derived from the content URI, never the URI.

use super::StoreError;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sha2::{Digest, Sha256};

/// The key of an avatar's content URI: 16 hex digits of its SHA-256. A new
/// picture has a new URI, so a new key, so browsers never show a stale one
/// from their cache.
pub fn key(uri: &str) -> String {
    hex::encode(&Sha256::digest(uri.as_bytes())[..8])
}

/// Where viewers fetch the avatar `uri` of a member of `channel`.
pub fn path(channel: &str, uri: &str) -> String {
    format!("/media/{channel}/avatars/{}", key(uri))
}

/// Records that `uri` is an avatar shown in `channel`.
pub(super) fn record(tx: &Transaction, channel: &str, uri: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR IGNORE INTO avatars (channel, key, uri) VALUES (?1, ?2, ?3)",
        params![channel, key(uri), uri],
    )?;
    Ok(())
}

/// The content URI recorded for avatar `key` of `channel`.
pub fn source(
    conn: &mut Connection,
    channel: &str,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT uri FROM avatars WHERE channel = ?1 AND key = ?2",
            params![channel, key],
            |r| r.get(0),
        )
        .optional()?)
}
