//! One event of a private room, as the homeserver's JSON (decrypted where
//! the client could): what it changes in the conversation, and the frame
//! that applies it to the conversation's timeline. Nothing here came
//! through the relay, so text is cleaned here (`clean_text`) and formatted
//! bodies are kept only for the chat's own allow-list (`rich`) to render.

use super::short_name;
use chyron_protocol::limits::MAX_BODY_CHARS;
use chyron_protocol::limits::MAX_SENDER_CHARS;
use chyron_protocol::{clean_text, Message, ServerFrame, Source};
use serde_json::Value;

/// Longest formatted body kept (a Matrix event is at most 64 KiB).
pub const MAX_HTML_BYTES: usize = 32 * 1024;
/// What a message this device could not decrypt says.
pub const UNABLE_TO_DECRYPT: &str =
    "Unable to decrypt this message: this device did not get its keys.";

/// What one event of a private room changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new message (also one that could not be decrypted).
    Said(Message),
    /// A message's text was replaced by its sender.
    Edited {
        /// The edited message's event id.
        id: String,
        /// The new plain body.
        body: String,
        /// The new formatted body, if any.
        html: Option<String>,
        /// Who edited: only the original sender's edits count.
        sender_id: String,
    },
    /// A message was deleted.
    Deleted {
        /// The deleted event's id.
        id: String,
    },
    /// Someone joined, left, was invited or renamed.
    Member {
        /// Whose membership.
        user_id: String,
        /// Their membership now.
        membership: Membership,
        /// Their display name, cleaned (absent: none set).
        name: Option<String>,
    },
}

/// A member's state in a room, as far as the chat cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// In the room.
    Join,
    /// Invited, not answered yet.
    Invite,
    /// Left, was kicked or banned, or declined.
    Gone,
}

/// Reads one timeline event's JSON. `utd`: the client could not decrypt
/// it. `None` for events the chat does not show (reactions, state it does
/// not use, malformed or redacted content).
pub fn event(json: &str, utd: bool) -> Option<Change> {
    let ev: Value = serde_json::from_str(json).ok()?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let sender = text(&ev, "sender")?;
    let id = text(&ev, "event_id")?;
    let ts = ev
        .get("origin_server_ts")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let content = ev.get("content")?;
    let message = |body: String, html: Option<String>| Message {
        id: id.clone(),
        sender: short_name(&sender),
        sender_id: sender.clone(),
        body,
        ts,
        edited: false,
        source: Source::Matrix,
        html,
        media: None,
        avatar: None,
        event_id: Some(id.clone()),
    };
    if utd {
        return Some(Change::Said(message(UNABLE_TO_DECRYPT.to_owned(), None)));
    }
    match ev.get("type")?.as_str()? {
        "m.room.message" => {
            let relates = content.get("m.relates_to");
            let replaces = relates
                .filter(|r| r.get("rel_type").and_then(Value::as_str) == Some("m.replace"))
                .and_then(|r| text(r, "event_id"));
            if let Some(original) = replaces {
                let (body, html) = body_of(content.get("m.new_content")?, &sender)?;
                return Some(Change::Edited {
                    id: original,
                    body,
                    html,
                    sender_id: sender,
                });
            }
            let (body, html) = body_of(content, &sender)?;
            Some(Change::Said(message(body, html)))
        }
        "m.room.redaction" => {
            let redacts = text(content, "redacts").or_else(|| text(&ev, "redacts"))?;
            Some(Change::Deleted { id: redacts })
        }
        "m.room.member" => {
            let user_id = text(&ev, "state_key")?;
            let membership = match content.get("membership")?.as_str()? {
                "join" => Membership::Join,
                "invite" => Membership::Invite,
                _ => Membership::Gone,
            };
            let name = content
                .get("displayname")
                .and_then(Value::as_str)
                .and_then(|n| clean_text(n, MAX_SENDER_CHARS, false));
            Some(Change::Member {
                user_id,
                membership,
                name,
            })
        }
        _ => None,
    }
}

/// A message content's plain body (cleaned) and formatted body (HTML only).
fn body_of(content: &Value, sender: &str) -> Option<(String, Option<String>)> {
    let body = content.get("body")?.as_str()?;
    let kind = content.get("msgtype").and_then(Value::as_str).unwrap_or("");
    let shown = match kind {
        "m.emote" => format!("* {} {body}", short_name(sender)),
        "m.image" => format!("sent an image: {body}"),
        "m.file" => format!("sent a file: {body}"),
        "m.video" => format!("sent a video: {body}"),
        "m.audio" => format!("sent a recording: {body}"),
        _ => body.to_owned(),
    };
    let body = clean_text(&shown, MAX_BODY_CHARS, true)?;
    let html = (content.get("format").and_then(Value::as_str) == Some("org.matrix.custom.html")
        && matches!(kind, "m.text" | "m.notice" | "m.emote"))
    .then(|| content.get("formatted_body").and_then(Value::as_str))
    .flatten()
    .filter(|h| h.len() <= MAX_HTML_BYTES)
    .map(str::to_owned);
    Some((body, html))
}

/// The timeline frame for a message change, at `seq` (private rooms have
/// no feed: the caller numbers their events, see [`next_seq`]).
pub fn frame(change: Change, seq: u64) -> Option<ServerFrame> {
    Some(match change {
        Change::Said(message) => ServerFrame::Message { seq, message },
        Change::Edited { id, body, html, .. } => ServerFrame::Edit {
            seq,
            id,
            body,
            html,
        },
        Change::Deleted { id } => ServerFrame::Delete { seq, id },
        Change::Member { .. } => return None,
    })
}

/// The number of a private room's next event: its timestamp, kept rising
/// (so a read mark, stored as a number, means the same after a reload).
pub fn next_seq(last: u64, ts: i64) -> u64 {
    u64::try_from(ts).unwrap_or(0).max(last + 1)
}

/// The timeline epoch of every private room (their numbers are timestamps,
/// the same across reloads).
pub const EPOCH: &str = "private";
