//! What a Matrix timeline event does to a channel: pure functions over ruma's
//! event types, so every rule here is tested without a homeserver.
//!
//! Rules:
//! - `m.text`, `m.notice`, `m.emote` messages are posts (an emote reads
//!   `* name body`); an HTML `formatted_body` rides beside the plain body
//!   (sanitised where it is applied). `m.image`, `m.video`, `m.audio` and
//!   `m.file` are posts with a media entry (the body is the file name or
//!   caption); its content URI is kept for the relay's thumbnails. Any other
//!   message type (location, unknown) shows its plain `body`, as the spec
//!   asks of clients that do not know a type.
//! - An `m.replace` relation is an edit of the original event; whether its
//!   sender wrote the original is checked where the original is known
//!   (`apply`), since only the store knows it.
//! - A redaction deletes its target (room v11+ `content.redacts`, or the
//!   older top-level `redacts`).
//! - A ban clears the banned user's lines; a kick does too when
//!   `bridge_clear_on_kick` is set. A display-name or avatar change shows
//!   the member's new profile on their lines (an avatar that is not a valid
//!   `mxc://` URI counts as none).
//! - A sender's MSC3725 content warning or MSC4193 spoiler on an image or
//!   video marks it NSFW ([`flags`], read from the raw event).
//! - The bot's own events are ignored (its echoes would be captions twice).
//! - Bodies are cleaned, not refused: control characters other than newline
//!   and tab become spaces and a body over the protocol's limit is truncated
//!   with `…`; an empty body is dropped.

mod flags;

pub use flags::sender_marks;

use chyron_protocol::limits::{MAX_BODY_CHARS, MAX_SENDER_CHARS};
use chyron_protocol::{clean_text, Media, MediaKind};
use matrix_sdk::ruma::events::room::member::{MembershipChange, MembershipState};
use matrix_sdk::ruma::events::room::message::{
    FormattedBody, MessageFormat, MessageType, Relation, SyncRoomMessageEvent,
};
use matrix_sdk::ruma::events::room::redaction::SyncRoomRedactionEvent;
use matrix_sdk::ruma::events::room::MediaSource;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncStateEvent, AnySyncTimelineEvent, SyncStateEvent,
};
use matrix_sdk::ruma::{MxcUri, OwnedEventId, OwnedUserId, UInt, UserId};

/// The kind of a bridged message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `m.text`: the body as is.
    Text,
    /// `m.notice` (bots): the body as is.
    Notice,
    /// `m.emote` (`/me waves`): shown as `* name body`.
    Emote,
    /// `m.image`, `m.video`, `m.audio`, `m.file`: the body describes it.
    Media,
}

/// What a message says: the plain body, HTML beside it, an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Text, notice, emote or media.
    pub kind: Kind,
    /// The plain body, as sent.
    pub body: String,
    /// The `formatted_body` if its format is HTML, unsanitised.
    pub html: Option<String>,
    /// The attachment, for media (its `thumbnail` unset: the hub sets it).
    pub media: Option<Media>,
    /// The content URI to thumbnail (`mxc://…`), if there is one to show.
    pub media_source: Option<String>,
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
        /// What it says.
        content: Content,
    },
    /// A new body for an earlier line (`m.replace`).
    Edit {
        /// The edit event's own id.
        event_id: OwnedEventId,
        /// Who sent the edit; it must be the original's sender.
        sender: OwnedUserId,
        /// The edited event.
        target: OwnedEventId,
        /// The new content (`m.new_content`, not the `* …` fallback).
        content: Content,
    },
    /// Hide an earlier line (a redaction).
    Delete {
        /// The redaction event's id.
        event_id: OwnedEventId,
        /// Who redacted: the original's sender, or someone with the room's
        /// `redact` power ([`crate::bridge::redact::may_redact`]), else it is not applied.
        sender: OwnedUserId,
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
    /// A member's new profile: display name and avatar (`None`: they have
    /// none now).
    Profile {
        /// The member event's id.
        event_id: OwnedEventId,
        /// The member.
        user: OwnedUserId,
        /// The display name now.
        name: Option<String>,
        /// The avatar's content URI now (valid `mxc://` only).
        avatar: Option<String>,
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
                sender: r.sender.clone(),
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
            } else if let MembershipChange::ProfileChanged {
                displayname_change,
                avatar_url_change,
            } = m.membership_change()
            {
                if displayname_change.is_none() && avatar_url_change.is_none() {
                    return Mapped::Ignore(format!("member event {} changes nothing", m.event_id));
                }
                Mapped::Profile {
                    event_id: m.event_id.clone(),
                    user,
                    name: m.content.displayname.clone(),
                    avatar: avatar_uri(m.content.avatar_url.as_deref()),
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
        return match content(&r.new_content.msgtype) {
            Some(content) => Mapped::Edit {
                event_id: ev.event_id.clone(),
                sender: ev.sender.clone(),
                target: r.event_id.clone(),
                content,
            },
            None => Mapped::Ignore(format!(
                "edit {} to a {} is not bridged",
                ev.event_id,
                r.new_content.msgtype.msgtype()
            )),
        };
    }
    match content(&ev.content.msgtype) {
        Some(content) => Mapped::Post {
            event_id: ev.event_id.clone(),
            sender: ev.sender.clone(),
            content,
        },
        None => Mapped::Ignore(format!(
            "{} is a {} message, not bridged yet",
            ev.event_id,
            ev.content.msgtype.msgtype()
        )),
    }
}

fn content(msgtype: &MessageType) -> Option<Content> {
    let text = |kind, body: &str, formatted: &Option<FormattedBody>| Content {
        kind,
        body: body.to_string(),
        html: html_of(formatted.as_ref()),
        media: None,
        media_source: None,
    };
    Some(match msgtype {
        MessageType::Text(t) => text(Kind::Text, &t.body, &t.formatted),
        MessageType::Notice(n) => text(Kind::Notice, &n.body, &n.formatted),
        MessageType::Emote(e) => text(Kind::Emote, &e.body, &e.formatted),
        MessageType::Image(i) => {
            let info = i.info.as_deref();
            // Synapse thumbnails images itself; the sender's own thumbnail,
            // if any, is smaller still.
            let thumb = info
                .and_then(|i| i.thumbnail_source.as_ref())
                .or(Some(&i.source));
            let (w, h, mime, size) = info.map_or((None, None, None, None), |i| {
                (i.width, i.height, i.mimetype.clone(), i.size)
            });
            media(
                MediaKind::Image,
                i.filename(),
                &i.body,
                &i.formatted,
                thumb,
                (w, h),
                mime,
                size,
            )
        }
        MessageType::Video(v) => {
            let info = v.info.as_deref();
            let thumb = info.and_then(|i| i.thumbnail_source.as_ref());
            let (w, h, mime, size) = info.map_or((None, None, None, None), |i| {
                (i.width, i.height, i.mimetype.clone(), i.size)
            });
            media(
                MediaKind::Video,
                v.filename(),
                &v.body,
                &v.formatted,
                thumb,
                (w, h),
                mime,
                size,
            )
        }
        MessageType::Audio(a) => {
            let (mime, size) = a
                .info
                .as_deref()
                .map_or((None, None), |i| (i.mimetype.clone(), i.size));
            media(
                MediaKind::Audio,
                a.filename(),
                &a.body,
                &a.formatted,
                None,
                (None, None),
                mime,
                size,
            )
        }
        MessageType::File(f) => {
            let info = f.info.as_deref();
            let thumb = info.and_then(|i| i.thumbnail_source.as_ref());
            let (mime, size) = info.map_or((None, None), |i| (i.mimetype.clone(), i.size));
            media(
                MediaKind::File,
                f.filename(),
                &f.body,
                &f.formatted,
                thumb,
                (None, None),
                mime,
                size,
            )
        }
        // Verification requests are device traffic, not chat.
        MessageType::VerificationRequest(_) => return None,
        // Any other type (location, server notice, unknown): the spec says
        // to show its `body`, which is plain text.
        other => text(Kind::Text, other.body(), &None),
    })
}

type Dimensions = (Option<UInt>, Option<UInt>);

#[allow(clippy::too_many_arguments)]
fn media(
    kind: MediaKind,
    filename: &str,
    body: &str,
    formatted: &Option<FormattedBody>,
    thumbnail: Option<&MediaSource>,
    (width, height): Dimensions,
    mimetype: Option<String>,
    size: Option<UInt>,
) -> Content {
    // Only plain (unencrypted) content can be thumbnailed by the relay.
    let media_source = match thumbnail {
        Some(MediaSource::Plain(uri)) if uri.is_valid() => Some(uri.to_string()),
        _ => None,
    };
    let dim = |d: Option<UInt>| d.and_then(|d| u32::try_from(u64::from(d)).ok());
    let name = clean_text(filename, MAX_SENDER_CHARS * 4, false).unwrap_or_else(|| "file".into());
    Content {
        kind: Kind::Media,
        body: body.to_string(),
        html: html_of(formatted.as_ref()),
        media: Some(Media {
            kind,
            name,
            mimetype: mimetype.and_then(|m| clean_text(&m, 255, false)),
            size: size.map(u64::from),
            width: dim(width),
            height: dim(height),
            thumbnail: None,
            mark: None,
        }),
        media_source,
    }
}

fn html_of(formatted: Option<&FormattedBody>) -> Option<String> {
    formatted
        .filter(|f| f.format == MessageFormat::Html)
        .map(|f| f.body.clone())
}

/// The line's body: cleaned (see the module doc), an emote as `* name body`;
/// `None` when nothing readable is left.
pub fn render_body(kind: Kind, name: &str, body: &str) -> Option<String> {
    let text = match kind {
        Kind::Emote => format!("* {name} {body}"),
        Kind::Text | Kind::Notice | Kind::Media => body.to_string(),
    };
    clean_text(&text, MAX_BODY_CHARS, true)
}

/// Longest avatar content URI kept (a valid one is far shorter).
pub const MAX_AVATAR_URI: usize = 255;

/// An avatar's content URI if it is one the relay can fetch: a valid
/// `mxc://server/id` with a non-empty id of the spec's characters
/// (`A-Z a-z 0-9 _ -`), not over [`MAX_AVATAR_URI`] bytes.
pub fn avatar_uri(uri: Option<&MxcUri>) -> Option<String> {
    let uri = uri?;
    let (_, id) = uri.parts().ok()?;
    let id_ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (id_ok && uri.as_str().len() <= MAX_AVATAR_URI).then(|| uri.to_string())
}

/// The sender name shown: the display name, else the user id, cleaned to
/// one line of at most the protocol's length.
pub fn render_name(display_name: Option<&str>, user: &UserId) -> String {
    display_name
        .and_then(|n| clean_text(n, MAX_SENDER_CHARS, false))
        .or_else(|| clean_text(user.as_str(), MAX_SENDER_CHARS, false))
        .unwrap_or_else(|| "matrix".to_string())
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
