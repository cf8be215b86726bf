//! What a Matrix timeline event does to a channel: pure functions over ruma's
//! event types, so every rule here is tested without a homeserver.
//!
//! Rules:
//! - `m.text`, `m.notice`, `m.emote` messages are posts (an emote reads
//!   `* name body`); other message types (images, files, …) are not bridged
//!   yet and are ignored with a reason.
//! - An `m.replace` relation is an edit of the original event; whether its
//!   sender wrote the original is checked where the original is known
//!   (`apply`), since only the store knows it.
//! - A redaction deletes its target (room v11+ `content.redacts`, or the
//!   older top-level `redacts`).
//! - A ban clears the banned user's lines; a kick does too when
//!   `bridge_clear_on_kick` is set.
//! - The bot's own events are ignored (its echoes would be captions twice).
//! - Bodies are cleaned, not refused: control characters other than newline
//!   and tab become spaces and a body over the protocol's limit is truncated
//!   with `…`; an empty body is dropped.

use chyron_protocol::limits::{MAX_BODY_CHARS, MAX_SENDER_CHARS};
use matrix_sdk::ruma::events::room::member::{MembershipChange, MembershipState};
use matrix_sdk::ruma::events::room::message::{MessageType, Relation, SyncRoomMessageEvent};
use matrix_sdk::ruma::events::room::redaction::SyncRoomRedactionEvent;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncStateEvent, AnySyncTimelineEvent, SyncStateEvent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedUserId, UserId};

/// The kind of a bridged message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `m.text`: the body as is.
    Text,
    /// `m.notice` (bots): the body as is.
    Notice,
    /// `m.emote` (`/me waves`): shown as `* name body`.
    Emote,
}

/// What one Matrix event does to the bridged channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// A new line.
    Post {
        /// The Matrix event id, the line's origin id.
        event_id: OwnedEventId,
        /// Who wrote it (the line's `sender_id`).
        sender: OwnedUserId,
        /// Text, notice or emote.
        kind: Kind,
        /// The plain body, as sent.
        body: String,
    },
    /// A new body for an earlier line (`m.replace`).
    Edit {
        /// The edit event's own id.
        event_id: OwnedEventId,
        /// Who sent the edit; it must be the original's sender.
        sender: OwnedUserId,
        /// The edited event.
        target: OwnedEventId,
        /// The new content's kind.
        kind: Kind,
        /// The new plain body (`m.new_content`, not the `* …` fallback).
        body: String,
    },
    /// Hide an earlier line (a redaction).
    Delete {
        /// The redaction event's id.
        event_id: OwnedEventId,
        /// The redacted event.
        target: OwnedEventId,
    },
    /// Hide every line of a user (a ban, or a kick if configured).
    Clear {
        /// The membership event's id.
        event_id: OwnedEventId,
        /// The banned or kicked user.
        user: OwnedUserId,
    },
    /// Nothing to do; the reason is logged.
    Ignore(String),
}

/// Maps one timeline event. `me` is the bot; `clear_on_kick` is the
/// `bridge_clear_on_kick` setting.
pub fn map_event(ev: &AnySyncTimelineEvent, me: &UserId, clear_on_kick: bool) -> Mapped {
    if ev.sender() == me {
        return Mapped::Ignore(format!("{} is the bot's own event", ev.event_id()));
    }
    match ev {
        AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(msg)) => {
            map_message(msg)
        }
        AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomRedaction(
            SyncRoomRedactionEvent::Original(r),
        )) => match r.content.redacts.clone().or(r.redacts.clone()) {
            Some(target) => Mapped::Delete {
                event_id: r.event_id.clone(),
                target,
            },
            None => Mapped::Ignore(format!("redaction {} names no event", r.event_id)),
        },
        AnySyncTimelineEvent::State(AnySyncStateEvent::RoomMember(SyncStateEvent::Original(m))) => {
            let user = match OwnedUserId::try_from(m.state_key.as_str()) {
                Ok(u) => u,
                Err(_) => return Mapped::Ignore(format!("member event {} bad key", m.event_id)),
            };
            let by_other = m.sender != user;
            let banned = m.content.membership == MembershipState::Ban;
            let kicked = matches!(m.membership_change(), MembershipChange::Kicked)
                || (by_other && m.content.membership == MembershipState::Leave);
            if banned || (clear_on_kick && kicked) {
                Mapped::Clear {
                    event_id: m.event_id.clone(),
                    user,
                }
            } else {
                Mapped::Ignore(format!("member event {} changes no line", m.event_id))
            }
        }
        other => Mapped::Ignore(format!(
            "{} ({}) is not bridged",
            other.event_id(),
            other.event_type()
        )),
    }
}

fn map_message(msg: &SyncRoomMessageEvent) -> Mapped {
    let SyncRoomMessageEvent::Original(ev) = msg else {
        return Mapped::Ignore(format!("{} was redacted before it arrived", msg.event_id()));
    };
    if let Some(Relation::Replacement(r)) = &ev.content.relates_to {
        return match kind_and_body(&r.new_content.msgtype) {
            Some((kind, body)) => Mapped::Edit {
                event_id: ev.event_id.clone(),
                sender: ev.sender.clone(),
                target: r.event_id.clone(),
                kind,
                body,
            },
            None => Mapped::Ignore(format!(
                "edit {} to a {} is not bridged",
                ev.event_id,
                r.new_content.msgtype.msgtype()
            )),
        };
    }
    match kind_and_body(&ev.content.msgtype) {
        Some((kind, body)) => Mapped::Post {
            event_id: ev.event_id.clone(),
            sender: ev.sender.clone(),
            kind,
            body,
        },
        None => Mapped::Ignore(format!(
            "{} is a {} message, not bridged yet",
            ev.event_id,
            ev.content.msgtype.msgtype()
        )),
    }
}

fn kind_and_body(msgtype: &MessageType) -> Option<(Kind, String)> {
    match msgtype {
        MessageType::Text(t) => Some((Kind::Text, t.body.clone())),
        MessageType::Notice(n) => Some((Kind::Notice, n.body.clone())),
        MessageType::Emote(e) => Some((Kind::Emote, e.body.clone())),
        _ => None,
    }
}

/// The line's body: cleaned (see the module doc), an emote as `* name body`;
/// `None` when nothing readable is left.
pub fn render_body(kind: Kind, name: &str, body: &str) -> Option<String> {
    let text = match kind {
        Kind::Emote => format!("* {name} {body}"),
        Kind::Text | Kind::Notice => body.to_string(),
    };
    clean(&text, MAX_BODY_CHARS, true)
}

/// The sender name shown: the display name, else the user id, cleaned to
/// one line of at most the protocol's length.
pub fn render_name(display_name: Option<&str>, user: &UserId) -> String {
    display_name
        .and_then(|n| clean(n, MAX_SENDER_CHARS, false))
        .or_else(|| clean(user.as_str(), MAX_SENDER_CHARS, false))
        .unwrap_or_else(|| "matrix".to_string())
}

fn clean(text: &str, max_chars: usize, multiline: bool) -> Option<String> {
    let keep = |c: char| multiline && (c == '\n' || c == '\t');
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() && !keep(c) { ' ' } else { c })
        .collect();
    if out.trim().is_empty() {
        return None;
    }
    if out.chars().count() > max_chars {
        out = out.chars().take(max_chars - 1).collect();
        out.push('…');
    }
    Some(out)
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
