//! The store as a clustered node's replica. With `--redis`, Redis orders a
//! channel's events and every node applies all of them, its own and those
//! of other nodes, to its own SQLite, from which it serves snapshots. These
//! are the few things that mode needs besides [`super::apply`].

use super::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

/// Whether message `id` of `channel` is visible here (an edit or delete of it
/// is worth ordering).
pub fn visible(conn: &mut Connection, channel: &str, id: &str) -> Result<bool, StoreError> {
    exists(
        conn,
        "SELECT 1 FROM messages WHERE channel = ?1 AND id = ?2 AND deleted = 0",
        channel,
        id,
    )
}

/// Whether `sender_id` has a visible message in `channel` (a profile change
/// of theirs is worth ordering).
pub fn sender_visible(
    conn: &mut Connection,
    channel: &str,
    sender_id: &str,
) -> Result<bool, StoreError> {
    exists(
        conn,
        "SELECT 1 FROM messages WHERE channel = ?1 AND sender_id = ?2 AND deleted = 0 LIMIT 1",
        channel,
        sender_id,
    )
}

fn exists(conn: &mut Connection, sql: &str, channel: &str, key: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(sql, params![channel, key], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Records event `seq` whose change had nothing to change here (an edit of a
/// message another node deleted first, or older than this node's history):
/// the event and the head are stored, so seq numbering stays gap-free.
pub fn record_event(
    conn: &mut Connection,
    channel: &str,
    epoch: &str,
    seq: u64,
    frame: &str,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    insert_event(&tx, channel, epoch, seq, frame)?;
    tx.commit()?;
    Ok(())
}

/// Stores event `seq`'s frame and makes it the channel's head (the channel
/// row is created with its first event), inside the caller's transaction.
pub(super) fn insert_event(
    tx: &Connection,
    channel: &str,
    epoch: &str,
    seq: u64,
    frame: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO events (channel, seq, frame) VALUES (?1, ?2, ?3)",
        params![channel, seq as i64, frame],
    )?;
    tx.execute(
        "INSERT INTO channels (name, epoch, head_seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET head_seq = excluded.head_seq",
        params![channel, epoch, seq as i64],
    )?;
    Ok(())
}

/// Forgets `channel`'s events and messages (its epoch ended: Redis lost its
/// data and numbering starts again at 1 in a new epoch).
pub fn reset_channel(conn: &mut Connection, channel: &str) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    for table in [
        "channels WHERE name",
        "events WHERE channel",
        "messages WHERE channel",
        "origins WHERE channel",
    ] {
        tx.execute(&format!("DELETE FROM {table} = ?1"), [channel])?;
    }
    tx.commit()?;
    Ok(())
}
