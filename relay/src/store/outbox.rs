//! The Matrix outbox: changes made through the relay (API and webhook posts,
//! edits and deletes) in bridged channels, queued in the same transaction as
//! the event itself and removed only once the homeserver has them. A
//! homeserver outage or a relay restart therefore loses nothing, and the
//! queue is sent in the order it was made.

use super::{parse_source, source_name, StoreError};
use crate::event::{Action, Change};
use chyron_protocol::{Message, Source};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

/// What to do in the Matrix room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// Send the message.
    Post,
    /// Replace the body of the message sent earlier.
    Edit,
    /// Redact the message's Matrix event.
    Delete,
}

/// One queued change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Queue position; also the Matrix transaction id's suffix, so a send
    /// retried after a crash is not duplicated by the homeserver.
    pub id: i64,
    /// The bridged channel.
    pub channel: String,
    /// The feed event's seq.
    pub seq: u64,
    /// What to do.
    pub kind: OutboxKind,
    /// The feed message it concerns.
    pub message_id: String,
    /// Its sender's name (posts and edits).
    pub sender: String,
    /// Its body (posts and edits).
    pub body: String,
    /// Where the message came in (posts and edits): shown to Matrix users as
    /// "(via webhook)"; an edit of a `matrix` message is not sent.
    pub source: Source,
}

/// A change for the bridged room as a clustered node queues it in Redis,
/// before its seq is known (a post's message id is `m{seq}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// What to do.
    pub kind: OutboxKind,
    /// The message it concerns; `None` for a post (the event's own).
    pub message_id: Option<String>,
    /// Its sender's name (posts and edits).
    pub sender: String,
    /// Its body (posts and edits).
    pub body: String,
    /// Where the message came in (posts and edits).
    pub source: Source,
}

impl Outgoing {
    /// The queued entry once the change is event `seq` of `channel`; `id`
    /// is unused by the shared outbox (its transaction id comes from the
    /// channel, epoch and seq).
    pub fn entry(self, channel: &str, seq: u64) -> OutboxEntry {
        OutboxEntry {
            id: 0,
            channel: channel.to_string(),
            seq,
            kind: self.kind,
            message_id: self.message_id.unwrap_or_else(|| format!("m{seq}")),
            sender: self.sender,
            body: self.body,
            source: self.source,
        }
    }
}

/// What `action` in `channel` sends to the bridged room, if anything (an
/// edit is attributed like the message it edits, read here).
pub fn outgoing(
    conn: &mut Connection,
    channel: &str,
    action: &Action,
) -> Result<Option<Outgoing>, StoreError> {
    let (kind, message_id, sender, body, source) = match action {
        Change::Post(p) => (
            OutboxKind::Post,
            None,
            p.sender.clone(),
            p.body.clone(),
            p.source,
        ),
        Change::Edit { id, body, .. } => {
            let found: Option<(String, String)> = conn
                .query_row(
                    "SELECT sender, source FROM messages WHERE channel = ?1 AND id = ?2",
                    params![channel, id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((sender, source)) = found else {
                return Ok(None);
            };
            let source = parse_source(&source);
            (
                OutboxKind::Edit,
                Some(id.clone()),
                sender,
                body.clone(),
                source,
            )
        }
        Change::Delete { id } => {
            let id = Some(id.clone());
            (
                OutboxKind::Delete,
                id,
                String::new(),
                String::new(),
                Source::Other,
            )
        }
        Change::Clear { .. } | Change::Mark { .. } | Change::Profile { .. } => return Ok(None),
    };
    Ok(Some(Outgoing {
        kind,
        message_id,
        sender,
        body,
        source,
    }))
}

/// Queues `change` (event `seq` of `channel`) if Matrix has an equivalent;
/// clears and profile changes stay in the feed.
pub(super) fn enqueue(
    tx: &Transaction<'_>,
    channel: &str,
    seq: u64,
    change: &Change<Message>,
) -> Result<(), StoreError> {
    let (kind, message_id, sender, body, source) = match change {
        Change::Post(m) => ("post", &m.id, m.sender.clone(), m.body.as_str(), m.source),
        Change::Edit { id, body, .. } => {
            // The edited message's sender and door: the bot edits only what
            // it sent, attributed the same way.
            let (sender, source): (String, String) = tx.query_row(
                "SELECT sender, source FROM messages WHERE channel = ?1 AND id = ?2",
                params![channel, id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            ("edit", id, sender, body.as_str(), parse_source(&source))
        }
        Change::Delete { id } => ("delete", id, String::new(), "", Source::Other),
        Change::Clear { .. } | Change::Mark { .. } | Change::Profile { .. } => return Ok(()),
    };
    tx.execute(
        "INSERT INTO outbox (channel, seq, kind, message_id, sender, body, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            channel,
            seq as i64,
            kind,
            message_id,
            sender,
            body,
            source_name(source)
        ],
    )?;
    Ok(())
}

/// The oldest queued change, if any, of a channel not in `waiting` (bridged
/// channels whose room is not joined now: their changes keep their order
/// and wait, without holding up the other channels).
pub fn next_outbox(
    conn: &mut Connection,
    waiting: &[String],
) -> Result<Option<OutboxEntry>, StoreError> {
    let waiting = serde_json::to_string(waiting).unwrap_or_else(|_| "[]".into());
    Ok(conn
        .query_row(
            "SELECT id, channel, seq, kind, message_id, sender, body, source FROM outbox
             WHERE channel NOT IN (SELECT value FROM json_each(?1))
             ORDER BY id LIMIT 1",
            [waiting],
            |r| {
                Ok(OutboxEntry {
                    id: r.get(0)?,
                    channel: r.get(1)?,
                    seq: r.get::<_, i64>(2)? as u64,
                    kind: match r.get::<_, String>(3)?.as_str() {
                        "edit" => OutboxKind::Edit,
                        "delete" => OutboxKind::Delete,
                        _ => OutboxKind::Post,
                    },
                    message_id: r.get(4)?,
                    sender: r.get(5)?,
                    body: r.get(6)?,
                    source: parse_source(&r.get::<_, String>(7)?),
                })
            },
        )
        .optional()?)
}

/// Removes a delivered (or undeliverable) entry.
pub fn dequeue_outbox(conn: &mut Connection, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
    Ok(())
}

/// How many changes wait.
pub fn outbox_len(conn: &mut Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))? as u64)
}
