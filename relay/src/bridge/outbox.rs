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
//! - Each entry is sent with transaction id `chyron-outbox-{id}`, so a send
//!   that reached the homeserver before a crash is not duplicated on retry.
//! - A refusal (4xx other than 429: no permission, too large) drops that
//!   entry with a log line; anything else (homeserver down, 5xx, 429) ends
//!   the session, which is retried with backoff, and the entry stays queued.

use crate::html::escape;
use crate::hub::Hub;
use crate::store::{self, OutboxEntry, OutboxKind};
use chyron_protocol::Source;
use matrix_sdk::ruma::events::room::message::{ReplacementMetadata, RoomMessageEventContent};
use matrix_sdk::ruma::{OwnedEventId, OwnedTransactionId};
use matrix_sdk::Room;
use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

/// How often the queue is looked at with no wake-up (a safety net).
const POLL: Duration = Duration::from_secs(5);

/// Why one entry could not be sent.
#[derive(Debug)]
pub enum SendError {
    /// The homeserver refused it for good; drop it.
    Refused(String),
    /// Try again later (the session ends and is retried).
    Retry(String),
}

/// Sends queued changes until a send fails in a way worth retrying; only
/// returns then, with why.
pub async fn run(hub: &Hub, rooms: &HashMap<String, Room>) -> Result<Infallible, String> {
    loop {
        let next = hub
            .store()
            .call(store::next_outbox)
            .await
            .map_err(|e| format!("reading the outbox: {e}"))?;
        let Some(entry) = next else {
            hub.metrics().outbox.set(0);
            // Woken by a new entry, or polled.
            let _ = tokio::time::timeout(POLL, hub.outbox_queued()).await;
            continue;
        };
        match rooms.get(&entry.channel) {
            None => {
                tracing::warn!(channel = %entry.channel, id = entry.id, "matrix outbox: channel no longer bridged, dropped")
            }
            Some(room) => match send(hub, room, &entry).await {
                Ok(()) => {}
                Err(SendError::Refused(why)) => {
                    tracing::warn!(channel = %entry.channel, id = entry.id, message = %entry.message_id, "matrix outbox: refused by the homeserver, dropped: {why}");
                }
                Err(SendError::Retry(why)) => return Err(format!("sending to matrix: {why}")),
            },
        }
        let id = entry.id;
        let left = hub
            .store()
            .call(move |c| {
                store::dequeue_outbox(c, id)?;
                store::outbox_len(c)
            })
            .await
            .map_err(|e| format!("updating the outbox: {e}"))?;
        hub.metrics().outbox.set(left as i64);
    }
}

async fn send(hub: &Hub, room: &Room, entry: &OutboxEntry) -> Result<(), SendError> {
    let txn: OwnedTransactionId = format!("chyron-outbox-{}", entry.id).into();
    match entry.kind {
        OutboxKind::Post => {
            let content = attributed(&entry.sender, entry.source, &entry.body);
            let sent = room
                .send(content)
                .with_transaction_id(txn)
                .await
                .map_err(classify)?;
            let event_id = sent.response.event_id.to_string();
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
async fn sent_as(hub: &Hub, entry: &OutboxEntry) -> Result<Option<OwnedEventId>, SendError> {
    let (channel, message_id) = (entry.channel.clone(), entry.message_id.clone());
    Ok(hub
        .store()
        .call(move |c| store::message_origin(c, &channel, &message_id))
        .await
        .map_err(|e| SendError::Retry(e.to_string()))?
        .and_then(|id| OwnedEventId::try_from(id).ok()))
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
    if super::refused_for_good(&e) {
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
