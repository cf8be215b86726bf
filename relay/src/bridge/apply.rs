//! Turns a [`Mapped`] Matrix event into a hub event, with the Matrix event id
//! as its origin id: stored in the same transaction, so an event delivered
//! again (a replayed sync, a restart before the sync token was saved) is
//! skipped instead of shown twice.

use crate::bridge::map::{render_body, render_name, Mapped};
use crate::hub::{Action, Hub, HubError, NewPost};
use crate::store;
use chyron_protocol::Source;
use matrix_sdk::ruma::OwnedEventId;

/// Applies one mapped event to `channel`. `display_name` is the sender's
/// current display name in the room, if it has one. Only storage failures are
/// errors; anything the event cannot do (unknown target, someone else's edit,
/// an empty body, a duplicate) is logged and skipped.
pub async fn apply(
    hub: &Hub,
    channel: &str,
    mapped: Mapped,
    display_name: Option<&str>,
) -> Result<(), HubError> {
    match mapped {
        Mapped::Ignore(why) => {
            tracing::debug!(channel, "matrix: ignored: {why}");
            Ok(())
        }
        Mapped::Post {
            event_id,
            sender,
            kind,
            body,
        } => {
            let name = render_name(display_name, &sender);
            let Some(body) = render_body(kind, &name, &body) else {
                tracing::info!(channel, %event_id, "matrix: dropped a message with an empty body");
                return Ok(());
            };
            let post = NewPost {
                sender: name,
                sender_id: sender.to_string(),
                body,
                source: Source::Matrix,
            };
            append(hub, channel, Action::Post(post), event_id).await
        }
        Mapped::Edit {
            event_id,
            sender,
            target,
            kind,
            body,
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
            let Some(body) = render_body(kind, &name, &body) else {
                tracing::info!(channel, %event_id, "matrix: dropped an edit with an empty body");
                return Ok(());
            };
            append(hub, channel, Action::Edit { id, body }, event_id).await
        }
        Mapped::Delete { event_id, target } => {
            let Some((id, _)) = original(hub, channel, &target).await? else {
                tracing::info!(channel, %event_id, %target, "matrix: redaction of an unknown or deleted message ignored");
                return Ok(());
            };
            append(hub, channel, Action::Delete { id }, event_id).await
        }
        Mapped::Clear { event_id, user } => {
            let action = Action::Clear {
                sender_id: user.to_string(),
            };
            append(hub, channel, action, event_id).await
        }
    }
}

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

async fn append(
    hub: &Hub,
    channel: &str,
    action: Action,
    event_id: OwnedEventId,
) -> Result<(), HubError> {
    match hub
        .append_from(channel, action, Some(event_id.to_string()))
        .await
    {
        Ok(done) => {
            tracing::debug!(channel, %event_id, seq = done.seq, "matrix: applied");
            Ok(())
        }
        Err(HubError::Duplicate) => {
            tracing::debug!(channel, %event_id, "matrix: already applied, skipped");
            Ok(())
        }
        Err(HubError::NotFound) => {
            tracing::info!(channel, %event_id, "matrix: its message is gone, skipped");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
