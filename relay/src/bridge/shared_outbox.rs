//! The outbox in clustered mode: each bridged channel's changes wait in
//! Redis (`chyron:{channel}:outbox`, queued by the ordering script with the
//! event, whichever node took the change), and the node holding the bridge
//! lease sends them, oldest first per channel, as [`outbox::run`] does with
//! the relay's own SQLite queue.
//!
//! The transaction id is `chyron-{channel}-{epoch}-{seq}`, unique in the
//! cluster: an entry sent by a holder that died before deleting it is sent
//! again by the next holder with the same id, which the homeserver answers
//! with the first event instead of posting it twice (as far as the
//! homeserver dedupes transaction ids across the bot's logins: Synapse
//! scopes them to the device, and every holder logs in as device `CHYRON`).

use crate::bridge::outbox::{self, OutboxError, SendError};
use crate::bridge::rooms::Joined;
use crate::cluster::{bridge::Queued, Cluster};
use crate::hub::Hub;
use crate::store::Outgoing;
use matrix_sdk::ruma::OwnedTransactionId;
use std::convert::Infallible;
use std::time::Duration;

/// How often the queues are looked at when all are empty: a change made
/// through another node wakes nobody here.
const POLL: Duration = Duration::from_millis(250);

/// The Matrix transaction id of a queued change.
pub fn transaction_id(channel: &str, queued: &Queued) -> OwnedTransactionId {
    format!("chyron-{channel}-{}-{}", queued.epoch, queued.seq).into()
}

/// Sends the queued changes of the `bridged` channels whose rooms are
/// `joined` until a send fails in a way worth retrying. `sent` turns true
/// once something was sent.
pub async fn run(
    cluster: &Cluster,
    hub: &Hub,
    joined: &Joined,
    bridged: &[String],
    sent: &mut bool,
) -> Result<Infallible, OutboxError> {
    let retry = |what: &str, e: &dyn std::fmt::Display| OutboxError::Retry(format!("{what}: {e}"));
    loop {
        let mut idle = true;
        let mut queued_total = 0;
        for channel in bridged {
            let Some(room) = joined.room(channel) else {
                continue; // its changes wait, in order, for the room
            };
            let next = cluster
                .outbox_next(channel)
                .await
                .map_err(|e| retry("reading the outbox", &e))?;
            let Some(queued) = next else { continue };
            idle = false;
            match serde_json::from_str::<Outgoing>(&queued.payload) {
                Ok(out) => {
                    let entry = out.entry(channel, queued.seq);
                    let txn = transaction_id(channel, &queued);
                    match outbox::send(hub, &room, &entry, txn).await {
                        Ok(()) => *sent = true,
                        Err(SendError::Refused(why)) => {
                            tracing::warn!(%channel, seq = queued.seq, "matrix outbox: refused by the homeserver, dropped: {why}");
                        }
                        Err(SendError::Auth(why)) => return Err(OutboxError::Auth(why)),
                        Err(SendError::Retry(why)) => {
                            return Err(retry("sending to matrix", &why));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(%channel, id = %queued.id, "matrix outbox: unreadable entry dropped: {e}");
                }
            }
            cluster
                .outbox_done(channel, &queued.id)
                .await
                .map_err(|e| retry("updating the outbox", &e))?;
            queued_total += cluster.outbox_len(channel).await.unwrap_or(0);
        }
        hub.metrics().outbox.set(queued_total as i64);
        if idle {
            let _ = tokio::time::timeout(POLL, hub.outbox_queued()).await;
        }
    }
}
