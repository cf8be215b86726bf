//! The node's pub/sub connection: one subscription per loaded channel,
//! reconnected (and every subscription renewed) after Redis comes back.
//!
//! What it hears goes to the hub as [`Heard`] values, in Redis's order. A
//! message may be lost while the connection is down; the hub finds out from
//! the next event's seq, or from [`Heard::Reconnected`], and fills the gap
//! from the channel's stream.

use super::{channel_of, topic, ClusterError};
use futures_util::StreamExt;
use redis::aio::PubSubSink;
use redis::Client;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How often a quiet connection is pinged (a hung Redis is noticed).
const PING_EVERY: Duration = Duration::from_secs(1);

/// Wait before reconnecting, doubled per failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What the pub/sub connection heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// An event of a channel this node watches.
    Event {
        /// The chat channel.
        channel: String,
        /// The channel's epoch in Redis when the event was ordered.
        epoch: String,
        /// Its seq.
        seq: u64,
        /// The event, as the hub's `Entry` in JSON.
        entry: String,
    },
    /// The connection is (again) up and subscribed to every watched
    /// channel: anything published meanwhile may have been missed.
    Reconnected,
}

/// The channels this node watches and the live connection's sink.
#[derive(Default)]
pub struct Subscriptions {
    /// Guarded together: a connection subscribes to what is wanted at the
    /// moment its sink is put here, and a watch after that goes through it.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Channels wanted (loaded on this node), renewed on every connection.
    wanted: HashSet<String>,
    /// The connection's sink; `None` while there is no connection.
    sink: Option<PubSubSink>,
}

impl Subscriptions {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the pub/sub connection is up.
    pub(super) fn is_connected(&self) -> bool {
        self.lock().sink.is_some()
    }

    /// Subscribes to `name` (see [`super::Cluster::watch`]).
    pub(super) async fn watch(&self, name: &str) -> Result<(), ClusterError> {
        let sink = {
            let mut st = self.lock();
            st.wanted.insert(name.to_string());
            st.sink.clone()
        };
        let Some(mut sink) = sink else {
            self.lock().wanted.remove(name);
            return Err(ClusterError::Unavailable("no pub/sub connection".into()));
        };
        let done = tokio::time::timeout(super::CALL_TIMEOUT, sink.subscribe(topic(name))).await;
        match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.lock().wanted.remove(name);
                Err(e.into())
            }
            Err(_) => {
                self.lock().wanted.remove(name);
                Err(ClusterError::Unavailable(
                    "subscribe: no answer in time".into(),
                ))
            }
        }
    }

    /// Unsubscribes from `name`; a failure is harmless (the next connection
    /// subscribes only to what is wanted).
    pub(super) async fn unwatch(&self, name: &str) {
        let sink = {
            let mut st = self.lock();
            st.wanted.remove(name);
            st.sink.clone()
        };
        if let Some(mut sink) = sink {
            let _ = tokio::time::timeout(super::CALL_TIMEOUT, sink.unsubscribe(topic(name))).await;
        }
    }
}

/// Keeps the pub/sub connection up until `stop` turns `true`, reporting what
/// it hears to `heard`.
pub(super) async fn run(
    client: Client,
    subs: Arc<Subscriptions>,
    heard: mpsc::UnboundedSender<Heard>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        if let Err(e) = session(&client, &subs, &heard, &mut stop).await {
            tracing::warn!("redis pub/sub: {e}; reconnecting");
        } else {
            backoff = MIN_BACKOFF;
        }
        subs.lock().sink = None;
        if *stop.borrow() || heard.is_closed() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life: subscribe to what is wanted, then forward
/// messages until it breaks (`Err`) or the relay stops (`Ok`).
async fn session(
    client: &Client,
    subs: &Subscriptions,
    heard: &mpsc::UnboundedSender<Heard>,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), ClusterError> {
    let pubsub = super::timed(client.get_async_pubsub()).await?;
    let (mut sink, mut stream) = pubsub.split();
    loop {
        // Subscribe to what is wanted, then publish the sink, with nothing
        // wanted in between (else subscribe again).
        let wanted: Vec<String> = subs.lock().wanted.iter().map(|n| topic(n)).collect();
        if !wanted.is_empty() {
            super::timed(sink.subscribe(&wanted)).await?;
        }
        let mut st = subs.lock();
        if st.wanted.iter().all(|n| wanted.contains(&topic(n))) {
            st.sink = Some(sink.clone());
            break;
        }
    }
    let _ = heard.send(Heard::Reconnected);
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        // Decided here, acted on below: nothing is awaited while the
        // stop signal's wait is alive.
        let next = tokio::select! {
            msg = stream.next() => Some(msg),
            _ = ping.tick() => None,
            _ = stop.wait_for(|s| *s) => return Ok(()),
        };
        match next {
            Some(None) => {
                return Err(ClusterError::Unavailable(
                    "pub/sub connection closed".into(),
                ))
            }
            Some(Some(msg)) => {
                let event = parse(msg.get_channel_name(), msg.get_payload_bytes());
                if event.is_some_and(|e| heard.send(e).is_err()) {
                    return Ok(());
                }
            }
            None => {
                // A subscribed connection answers `["pong", ""]`, not
                // `PONG`: any answer in time will do.
                super::timed(sink.ping::<redis::Value>()).await?;
            }
        }
    }
}

/// An event message: `{epoch} {seq} {entry}` on `chyron:{name}:events`.
fn parse(topic: &str, payload: &[u8]) -> Option<Heard> {
    let channel = channel_of(topic)?.to_string();
    let text = std::str::from_utf8(payload).ok()?;
    let mut parts = text.splitn(3, ' ');
    let epoch = parts.next()?.to_string();
    let seq = parts.next()?.parse().ok()?;
    let entry = parts.next()?.to_string();
    Some(Heard::Event {
        channel,
        epoch,
        seq,
        entry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_and_foreign_ones_are_ignored() {
        let heard = parse("chyron:{demo}:events", b"ab12 7 {\"x\": 1}");
        assert_eq!(
            heard,
            Some(Heard::Event {
                channel: "demo".into(),
                epoch: "ab12".into(),
                seq: 7,
                entry: "{\"x\": 1}".into(),
            })
        );
        assert_eq!(parse("other:{demo}:events", b"ab12 7 {}"), None);
        assert_eq!(parse("chyron:{demo}:events", b"ab12 x {}"), None);
        assert_eq!(parse("chyron:{demo}:events", b"ab12 7"), None);
    }
}
