//! Sends the outbox (changes made through the relay's API and webhooks in
//! bridged channels, see [`crate::store::next_outbox`]) to the Matrix rooms,
//! one at a time and oldest first, as the bot.
//!
//! - A post becomes an `m.text` attributed to its sender, "alice (via
//!   webhook): hello" (bold name in the HTML form), and its Matrix event is
//!   linked to the feed message, so a Matrix moderator's redaction removes it
//!   from the feed too. Matrix shows the bot's own message once; the feed
//!   already has it and ignores the bot's echo.
//! - An edit of a message the relay sent becomes an `m.replace`; a delete of
//!   any message with a known Matrix event becomes a redaction.
//! - Each entry is sent with transaction id `chyron-{database}-{id}`
//!   ([`transaction_id`]), so a send that reached the homeserver before a
//!   crash is not duplicated on retry, and a new or wiped database never
//!   reuses an earlier one's ids (the homeserver would drop its posts as
//!   retries).
//! - A refusal of the content (4xx other than 429 and other than an
//!   authentication failure: no permission, too large) drops that entry with
//!   a log line. An authentication failure (expired or revoked token) ends
//!   the session, which logs in again; anything else (homeserver down, 5xx,
//!   429) ends this loop, which the session restarts with its own backoff
//!   while the sync goes on. Either way the entry stays queued.
//! - Changes of a channel whose room is not joined now wait (in order),
//!   without holding up the other channels.

use crate::bridge::rooms::Joined;
use crate::html::escape;
use crate::hub::Hub;
use crate::store::{self, OutboxEntry, OutboxKind};
use chyron_protocol::Source;
use matrix_sdk::ruma::events::room::message::{ReplacementMetadata, RoomMessageEventContent};
use matrix_sdk::ruma::{OwnedEventId, OwnedTransactionId};
use matrix_sdk::Room;
use std::convert::Infallible;
use std::time::Duration;

/// How often the queue is looked at with no wake-up (a safety net).
const POLL: Duration = Duration::from_secs(5);

/// Why one entry could not be sent.
#[derive(Debug)]
pub enum SendError {
    /// The homeserver refused it for good; drop it.
    Refused(String),
    /// The homeserver no longer accepts the bot's login; keep it, log in again.
    Auth(String),
    /// Try again later (the loop ends and is restarted after a wait).
    Retry(String),
}

/// Why the outbox loop stopped; the entry it was at stays queued.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The bot's login was refused: the session must log in again.
    #[error("the homeserver refused the bot's login: {0}")]
    Auth(String),
    /// Anything else: worth another try later.
    #[error("{0}")]
    Retry(String),
}

/// The Matrix transaction id of outbox entry `id` of database `database`
/// (see [`crate::store::identity`]).
pub fn transaction_id(database: &str, id: i64) -> OwnedTransactionId {
    format!("chyron-{database}-{id}").into()
}

/// Sends queued changes of the channels in `bridged` whose rooms are
/// `joined` until a send fails in a way worth retrying; only returns then,
/// with why. `sent` turns true once something was sent.
pub async fn run(
    hub: &Hub,
    joined: &Joined,
    bridged: &[String],
    database: &str,
    sent: &mut bool,
) -> Result<Infallible, OutboxError> {
    loop {
        let now_in = joined.channels();
        let waiting: Vec<String> = bridged
            .iter()
            .filter(|c| !now_in.contains(c))
            .cloned()
            .collect();
        let next = hub
            .store()
            .call(move |c| Ok((store::next_outbox(c, &waiting)?, store::outbox_len(c)?)))
            .await
            .map_err(|e| OutboxError::Retry(format!("reading the outbox: {e}")))?;
        let (next, queued) = next;
        let Some(entry) = next else {
            // Nothing to send now (the rest waits for its room).
            hub.metrics().outbox.set(queued as i64);
            // Woken by a new entry, or polled.
            let _ = tokio::time::timeout(POLL, hub.outbox_queued()).await;
            continue;
        };
        match joined.room(&entry.channel) {
            // Its room was lost since `waiting` was read: it waits.
            None if bridged.contains(&entry.channel) => continue,
            None => {
                tracing::warn!(channel = %entry.channel, id = entry.id, "matrix outbox: channel no longer bridged, dropped")
            }
            Some(room) => {
                match send(hub, &room, &entry, transaction_id(database, entry.id)).await {
                    Ok(()) => *sent = true,
                    Err(SendError::Refused(why)) => {
                        tracing::warn!(channel = %entry.channel, id = entry.id, message = %entry.message_id, "matrix outbox: refused by the homeserver, dropped: {why}");
                    }
                    Err(SendError::Auth(why)) => return Err(OutboxError::Auth(why)),
                    Err(SendError::Retry(why)) => {
                        return Err(OutboxError::Retry(format!("sending to matrix: {why}")))
                    }
                }
            }
        }
        let id = entry.id;
        let left = hub
            .store()
            .call(move |c| {
                store::dequeue_outbox(c, id)?;
                store::outbox_len(c)
            })
            .await
            .map_err(|e| OutboxError::Retry(format!("updating the outbox: {e}")))?;
        hub.metrics().outbox.set(left as i64);
    }
}

/// Sends one entry to `room` with transaction id `txn`.
pub async fn send(
    hub: &Hub,
    room: &Room,
    entry: &OutboxEntry,
    txn: OwnedTransactionId,
) -> Result<(), SendError> {
    match entry.kind {
        OutboxKind::Post => {
            let content = attributed(&entry.sender, entry.source, &entry.body);
            let sent = room
                .send(content)
                .with_transaction_id(txn)
                .await
                .map_err(classify)?;
            let event_id = sent.response.event_id.to_string();
            if let Some(cluster) = hub.cluster() {
                // For the next holder: it edits or redacts this event.
                cluster
                    .link_sent(&entry.channel, &entry.message_id, &event_id)
                    .await
                    .map_err(|e| SendError::Retry(e.to_string()))?;
            }
            let (channel, message_id, seq) =
                (entry.channel.clone(), entry.message_id.clone(), entry.seq);
            hub.store()
                .call(move |c| store::link_origin(c, &channel, &event_id, seq, &message_id))
                .await
                .map_err(|e| SendError::Retry(e.to_string()))?;
            tracing::debug!(channel = %entry.channel, id = entry.id, "matrix outbox: post sent");
        }
        OutboxKind::Edit => {
            // Matrix lets only the sender edit: the bot edits what it sent
            // (posts made here); other edits stay in the feed.
            let target = match entry.source {
                Source::Matrix => None,
                _ => sent_as(hub, entry).await?,
            };
            let Some(target) = target else {
                tracing::info!(channel = %entry.channel, message = %entry.message_id, "matrix outbox: edit of a message the bot did not send, kept in the feed only");
                return Ok(());
            };
            let content = attributed(&entry.sender, entry.source, &entry.body)
                .make_replacement(ReplacementMetadata::new(target, None));
            room.send(content)
                .with_transaction_id(txn)
                .await
                .map_err(classify)?;
        }
        OutboxKind::Delete => {
            let Some(target) = sent_as(hub, entry).await? else {
                return Ok(());
            };
            room.redact(&target, Some("deleted on the stream's chat"), Some(txn))
                .await
                .map_err(|e| classify(matrix_sdk::Error::Http(Box::new(e))))?;
        }
    }
    Ok(())
}

/// The Matrix event the entry's message is (or was sent as), if any.
/// In clustered mode a post an earlier holder sent is found in Redis.
async fn sent_as(hub: &Hub, entry: &OutboxEntry) -> Result<Option<OwnedEventId>, SendError> {
    let (channel, message_id) = (entry.channel.clone(), entry.message_id.clone());
    let mut found = hub
        .store()
        .call(move |c| store::message_origin(c, &channel, &message_id))
        .await
        .map_err(|e| SendError::Retry(e.to_string()))?;
    if let (None, Some(cluster)) = (&found, hub.cluster()) {
        found = cluster
            .sent_event(&entry.channel, &entry.message_id)
            .await
            .map_err(|e| SendError::Retry(e.to_string()))?;
    }
    Ok(found.and_then(|id| OwnedEventId::try_from(id).ok()))
}

/// The Matrix message for a post made through the relay: "alice (via
/// webhook): hello", the name in bold in the HTML form.
pub fn attributed(sender: &str, source: Source, body: &str) -> RoomMessageEventContent {
    let via = match source {
        Source::Webhook => " (via webhook)",
        Source::Api => " (via stream chat)",
        Source::Matrix | Source::Other => "",
    };
    let plain = format!("{sender}{via}: {body}");
    let html = format!(
        "<strong>{}</strong>{via}: {}",
        escape(sender),
        escape(body).replace('\n', "<br>")
    );
    RoomMessageEventContent::text_html(plain, html)
}

fn classify(e: matrix_sdk::Error) -> SendError {
    if super::auth_failed(&e) {
        SendError::Auth(e.to_string())
    } else if super::refused_for_good(&e) {
        SendError::Refused(e.to_string())
    } else {
        SendError::Retry(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matrix_sdk::ruma::events::room::message::MessageType;

    #[test]
    fn posts_are_attributed_and_escaped() {
        let c = attributed("alice <x>", Source::Webhook, "1 < 2 & \"ok\"\nnext");
        let MessageType::Text(t) = c.msgtype else {
            panic!("not text");
        };
        assert_eq!(t.body, "alice <x> (via webhook): 1 < 2 & \"ok\"\nnext");
        assert_eq!(
            t.formatted.unwrap().body,
            "<strong>alice &lt;x&gt;</strong> (via webhook): 1 &lt; 2 &amp; &quot;ok&quot;<br>next"
        );
        let MessageType::Text(t) = attributed("bob", Source::Api, "hi").msgtype else {
            panic!("not text");
        };
        assert_eq!(t.body, "bob (via stream chat): hi");
    }
}
