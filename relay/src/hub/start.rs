//! Where a viewer starts: its first frames and its live receiver.
//!
//! What a viewer gets first is decided under the channel's lock, together
//! with its receiver, so its first frames end exactly where the receiver
//! begins; a snapshot is only planned there (the newest messages, cached per
//! event) and serialized after the lock is released, so big snapshots for
//! many viewers never hold up appends.

use super::fanout::RESTARTED;
use super::{resumable, store, Channel, ChannelState, Hub, HubError, Subscription, MAX_SNAPSHOT};
use axum::extract::ws::Utf8Bytes;
use chyron_protocol::{Message, ServerFrame, Snapshot, SnapshotReason};
use std::sync::Arc;

impl Hub {
    /// Subscribes a viewer: resumes after `resume = (epoch, since)` if every
    /// later event is held, else starts from a snapshot of `limit` messages.
    /// The snapshot is serialized after the channel's lock is released, so
    /// big snapshots never hold up appends.
    pub async fn subscribe(
        &self,
        channel: &Arc<Channel>,
        resume: Option<(Option<String>, u64)>,
        limit: usize,
    ) -> Result<Subscription, HubError> {
        let start = match resume {
            Some((epoch, since)) => Start::Resume(epoch, since),
            None => Start::Snapshot(SnapshotReason::Initial),
        };
        self.start(channel, start, limit).await
    }

    /// A lagged viewer's restart point: a `lagged` snapshot and a new receiver.
    pub async fn resync(
        &self,
        channel: &Arc<Channel>,
        limit: usize,
    ) -> Result<Subscription, HubError> {
        let start = Start::Snapshot(SnapshotReason::Lagged);
        self.start(channel, start, limit).await
    }

    /// The restart point of a viewer whose queue closed because the channel's
    /// queue grew ([`super::Fanout`]): the events after the head it grew at, else a
    /// `lagged` snapshot, and a receiver of the new queue.
    pub async fn rejoin(
        &self,
        channel: &Arc<Channel>,
        limit: usize,
    ) -> Result<Subscription, HubError> {
        self.start(channel, Start::Regrown, limit).await
    }

    /// A viewer's subscription from `start`: under the channel's lock, a new
    /// receiver and the events after the start point if every one is held,
    /// else a planned snapshot; the snapshot is built after the lock is
    /// released.
    async fn start(
        &self,
        channel: &Arc<Channel>,
        start: Start,
        limit: usize,
    ) -> Result<Subscription, HubError> {
        let (first, rx) = {
            let mut st = channel.state.lock().await;
            let rx = channel.tx.subscribe();
            // Older than the ring: from PostgreSQL, if it holds it all.
            let mut durable = None;
            let (since, reason) = match start {
                Start::Resume(epoch, since) => {
                    let held = resumable(&st, epoch.as_deref(), since);
                    if !held {
                        durable = self
                            .resume_durable(channel, &st, epoch.as_deref(), since)
                            .await;
                    }
                    (held.then_some(since), SnapshotReason::ResumeUnavailable)
                }
                Start::Regrown => {
                    // After a restart (`Fanout::restart`) nothing resumes.
                    let since = channel.tx.grown_at().unwrap_or(st.head);
                    let resume =
                        since != RESTARTED && resumable(&st, Some(st.epoch.as_str()), since);
                    (resume.then_some(since), SnapshotReason::Lagged)
                }
                Start::Snapshot(reason) => (None, reason),
            };
            let first = match (since, durable) {
                (Some(since), _) => First::Frames(after(&st, since)),
                (None, Some(frames)) => First::Frames(frames),
                (None, None) => self.plan(channel, &mut st, reason, limit).await?,
            };
            (first, rx)
        };
        let first = self.build(channel, first).await?;
        self.subscription(channel, first, rx)
    }

    /// What a viewer's snapshot will hold, taken under the channel's lock:
    /// the cached default snapshot, or the newest visible messages (read from
    /// SQLite once per event) and the head they end at.
    async fn plan(
        &self,
        channel: &Channel,
        st: &mut ChannelState,
        reason: SnapshotReason,
        limit: usize,
    ) -> Result<First, HubError> {
        let default = reason == SnapshotReason::Initial && limit == self.limits.history;
        if let (true, Some(cached)) = (default, &st.initial) {
            return Ok(First::Frames(vec![cached.clone()]));
        }
        let recent = match &st.recent {
            Some(r) => r.clone(),
            None => {
                let name = channel.name.clone();
                let r = Arc::new(
                    self.store
                        .call(move |c| store::recent_messages(c, &name, MAX_SNAPSHOT))
                        .await?,
                );
                st.recent = Some(r.clone());
                r
            }
        };
        Ok(First::Snapshot {
            recent,
            epoch: st.epoch.clone(),
            head: st.head,
            reason,
            limit,
            default,
        })
    }

    /// Serializes a planned snapshot (outside the channel's lock); the
    /// default one is cached if no event came in meanwhile.
    async fn build(&self, channel: &Channel, first: First) -> Result<Vec<Utf8Bytes>, HubError> {
        let (recent, epoch, head, reason, limit, default) = match first {
            First::Frames(frames) => return Ok(frames),
            First::Snapshot {
                recent,
                epoch,
                head,
                reason,
                limit,
                default,
            } => (recent, epoch, head, reason, limit, default),
        };
        let skip = recent.len().saturating_sub(limit);
        let frame = ServerFrame::Snapshot(Snapshot {
            channel: channel.name.clone(),
            epoch,
            seq: head,
            reason,
            messages: recent[skip..].to_vec(),
        });
        let text = Utf8Bytes::from(
            serde_json::to_string(&frame).map_err(|e| HubError::Internal(e.to_string()))?,
        );
        if default {
            let mut st = channel.state.lock().await;
            if st.head == head && st.initial.is_none() {
                st.initial = Some(text.clone());
            }
        }
        Ok(vec![text])
    }
}

/// Where a viewer asks to start.
enum Start {
    /// After `since` in `epoch`, if every later event is held; else a
    /// `resume_unavailable` snapshot.
    Resume(Option<String>, u64),
    /// After the head the channel's queue grew at, if every later event is
    /// held; else a `lagged` snapshot.
    Regrown,
    /// A snapshot for this reason.
    Snapshot(SnapshotReason),
}

/// A viewer's first frames, as planned under the channel's lock.
enum First {
    /// Frames ready to send (resumed events, or the cached snapshot).
    Frames(Vec<Utf8Bytes>),
    /// A snapshot still to serialize.
    Snapshot {
        /// The newest visible messages at `head`.
        recent: Arc<Vec<Message>>,
        /// The channel's epoch.
        epoch: String,
        /// The seq the snapshot ends at (where the live receiver begins).
        head: u64,
        /// Why the viewer gets it.
        reason: SnapshotReason,
        /// How many messages.
        limit: usize,
        /// Whether it is the default initial snapshot, to cache.
        default: bool,
    },
}

/// The ring's frames after `since`.
fn after(st: &ChannelState, since: u64) -> Vec<Utf8Bytes> {
    st.ring
        .iter()
        .filter(|(s, _)| *s > since)
        .map(|(_, f)| f.clone())
        .collect()
}
