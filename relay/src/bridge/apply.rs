//! Turns a [`Mapped`] Matrix event into a hub event, with the Matrix event id
//! as its origin id: stored in the same transaction, so an event delivered
//! again (a replayed sync, a restart before the sync token was saved) is
//! skipped instead of shown twice.

use crate::bridge::map::{render_body, render_name, Content, Mapped};
use crate::bridge::redact::may_redact;
use crate::hub::{Action, Hub, HubError, NewPost, Origin};
use crate::store::{self, avatars};
use chyron_protocol::Source;
use matrix_sdk::ruma::events::room::power_levels::RoomPowerLevels;
use matrix_sdk::ruma::OwnedEventId;

/// The sender of a post or edit as the room shows them now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    /// Their display name, if they set one.
    pub name: Option<String>,
    /// Their avatar's content URI, if valid (see [`crate::bridge::map::avatar_uri`]).
    pub avatar: Option<String>,
}

/// Applies one mapped event to `channel`; `member` is the sender as the room
/// shows them now (used by posts and edits), `levels` the room's power
/// levels now (used by redactions of someone else's message; `None` if
/// unknown). Only storage failures are errors; anything the event cannot do
/// (unknown target, someone else's edit, a redaction without the power, an
/// empty body, a duplicate) is logged and skipped.
pub async fn apply(
    hub: &Hub,
    channel: &str,
    mapped: Mapped,
    member: &Member,
    levels: Option<&RoomPowerLevels>,
) -> Result<(), HubError> {
    let display_name = member.name.as_deref();
    match mapped {
        Mapped::Ignore(why) => {
            tracing::debug!(channel, "matrix: ignored: {why}");
            Ok(())
        }
        Mapped::Post {
            event_id,
            sender,
            content,
        } => {
            let name = render_name(display_name, &sender);
            let Some(body) = render_body(content.kind, &name, &content.body) else {
                tracing::info!(channel, %event_id, "matrix: dropped a message with an empty body");
                return Ok(());
            };
            let html = safe_html(channel, &event_id, &content);
            let post = NewPost {
                sender: name,
                sender_id: sender.to_string(),
                body,
                source: Source::Matrix,
                html,
                media: content.media,
                avatar: member
                    .avatar
                    .as_deref()
                    .map(|uri| avatars::path(channel, uri)),
            };
            let origin = Origin {
                id: event_id.to_string(),
                media: content.media_source,
                avatar: member.avatar.clone(),
            };
            append(hub, channel, Action::Post(post), origin).await
        }
        Mapped::Edit {
            event_id,
            sender,
            target,
            content,
        } => {
            let Some((id, owner)) = original(hub, channel, &target).await? else {
                tracing::info!(channel, %event_id, %target, "matrix: edit of an unknown or deleted message ignored");
                return Ok(());
            };
            if owner != sender.as_str() {
                tracing::info!(channel, %event_id, %target, %sender, "matrix: edit by someone other than the original sender ignored");
                return Ok(());
            }
            let name = render_name(display_name, &sender);
            let Some(body) = render_body(content.kind, &name, &content.body) else {
                tracing::info!(channel, %event_id, "matrix: dropped an edit with an empty body");
                return Ok(());
            };
            let html = safe_html(channel, &event_id, &content);
            append(
                hub,
                channel,
                Action::Edit { id, body, html },
                plain(event_id),
            )
            .await
        }
        Mapped::Delete {
            event_id,
            sender,
            target,
        } => {
            let Some((id, owner)) = original(hub, channel, &target).await? else {
                tracing::info!(channel, %event_id, %target, "matrix: redaction of an unknown or deleted message ignored");
                return Ok(());
            };
            if !may_redact(&sender, &owner, levels) {
                tracing::info!(channel, %event_id, %target, %sender, "matrix: redaction by someone without the power to redact it ignored");
                return Ok(());
            }
            append(hub, channel, Action::Delete { id }, plain(event_id)).await
        }
        Mapped::Clear { event_id, user } => {
            let action = Action::Clear {
                sender_id: user.to_string(),
            };
            append(hub, channel, action, plain(event_id)).await
        }
        Mapped::Profile {
            event_id,
            user,
            name,
            avatar,
        } => {
            let action = Action::Profile {
                sender_id: user.to_string(),
                sender: render_name(name.as_deref(), &user),
                avatar: avatar.as_deref().map(|uri| avatars::path(channel, uri)),
            };
            let origin = Origin {
                avatar,
                ..plain(event_id)
            };
            append(hub, channel, action, origin).await
        }
    }
}

/// The origin of an event with no attachment.
fn plain(event_id: OwnedEventId) -> Origin {
    Origin {
        id: event_id.to_string(),
        media: None,
        avatar: None,
    }
}

/// The message's HTML, sanitised (see [`crate::html`]); dropped, with a log
/// line, when nothing is left or it is over [`MAX_HTML_BYTES`] (the plain
/// body still shows).
fn safe_html(channel: &str, event_id: &OwnedEventId, content: &Content) -> Option<String> {
    let clean = crate::html::sanitize(content.html.as_deref()?)?;
    if clean.len() > MAX_HTML_BYTES {
        tracing::info!(channel, %event_id, bytes = clean.len(), "matrix: formatted body too large, plain body only");
        return None;
    }
    Some(clean)
}

/// Largest sanitised HTML carried beside a body: twice the largest plain
/// body in UTF-8 bytes, room for markup around the text.
pub const MAX_HTML_BYTES: usize = 2 * 4 * chyron_protocol::limits::MAX_BODY_CHARS;

/// The channel's visible message that Matrix event `target` became, with its
/// sender id.
async fn original(
    hub: &Hub,
    channel: &str,
    target: &OwnedEventId,
) -> Result<Option<(String, String)>, HubError> {
    let (channel, target) = (channel.to_string(), target.to_string());
    Ok(hub
        .store()
        .call(move |c| store::origin_message(c, &channel, &target))
        .await?)
}

async fn append(hub: &Hub, channel: &str, action: Action, origin: Origin) -> Result<(), HubError> {
    let event_id = origin.id.clone();
    match hub.append_from(channel, action, Some(origin)).await {
        Ok(done) => {
            tracing::debug!(channel, %event_id, seq = done.seq, "matrix: applied");
            Ok(())
        }
        Err(HubError::Duplicate) => {
            tracing::debug!(channel, %event_id, "matrix: already applied, skipped");
            Ok(())
        }
        Err(HubError::NotFound) => {
            tracing::info!(channel, %event_id, "matrix: no shown message it changes, skipped");
            Ok(())
        }
        // A timed-out or banned sender's post that the homeserver let
        // through (the bot lacked the power to stop it): never shown.
        Err(HubError::Refused(why)) => {
            tracing::info!(channel, %event_id, banned = why.banned, "matrix: sender refused by moderation, not shown");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
