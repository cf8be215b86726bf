//! Clustered mode: what other nodes append reaches this node's channels.
//!
//! Redis pub/sub brings each event of a watched channel; it is applied under
//! the channel's lock like a local one, so local viewers get it through the
//! same broadcast queue. An event already applied is skipped; one past the
//! head + 1 (pub/sub lost some while a connection was down) is preceded by
//! the missing ones from the channel's Redis stream, so viewers never see a
//! gap or a duplicate. An event of another epoch (Redis lost the channel)
//! resets the channel here: its viewers take a fresh snapshot. What the
//! stream no longer holds is read from PostgreSQL when there is one
//! (`history.rs`).

use super::append::{Ctx, Extra};
use super::{Channel, ChannelState, Fanout, Hub, HubError};
use crate::cluster::{Cluster, Heard};
use crate::event::Entry;
use crate::store::replica;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Applies what the pub/sub connection hears to `hub` until it stops.
pub async fn follow(hub: Arc<Hub>, mut heard: mpsc::UnboundedReceiver<Heard>) {
    while let Some(h) = heard.recv().await {
        let done = match h {
            Heard::Event {
                channel,
                epoch,
                seq,
                entry,
            } => hub.heard(&channel, epoch, seq, &entry).await,
            Heard::Reconnected => hub.catch_up_all().await,
        };
        if let Err(e) = done {
            // The next event, or the next reconnection, fills what is missing.
            tracing::warn!("applying an event from the cluster: {e}");
        }
    }
}

impl Hub {
    /// Event `seq` of `epoch` of channel `name`, as pub/sub brought it.
    async fn heard(
        &self,
        name: &str,
        epoch: String,
        seq: u64,
        entry: &str,
    ) -> Result<(), HubError> {
        let Some(ch) = self.channels.settled(name).await else {
            return Ok(()); // not loaded here (any more): nobody to tell
        };
        let (ctx, Some(cluster)) = (self.ctx(), self.log.cluster()) else {
            return Ok(());
        };
        let mut st = ch.state.lock().await;
        if epoch != st.epoch {
            // Another epoch: take Redis's current one (and its events);
            // an event of an epoch Redis no longer has is stale.
            ctx.join(cluster, &ch, &mut st).await?;
            if epoch != st.epoch {
                return Ok(());
            }
        }
        if seq <= st.head {
            return Ok(()); // this node's own, or filled already
        }
        ctx.fill(&ch.name, &ch.tx, &mut st, seq - 1).await?;
        let entry = parse(entry)?;
        ctx.apply(&ch.name, &ch.tx, &mut st, seq, entry, Extra::REMOTE)
            .await?;
        Ok(())
    }

    /// After pub/sub reconnected: every loaded channel is brought up to
    /// Redis's head (what was published meanwhile was not heard).
    async fn catch_up_all(&self) -> Result<(), HubError> {
        let Some(cluster) = self.log.cluster() else {
            return Ok(());
        };
        for ch in self.channels.all() {
            let mut st = ch.state.lock().await;
            self.ctx().join(cluster, &ch, &mut st).await?;
        }
        Ok(())
    }
}

impl Ctx {
    /// Brings a channel (just loaded from SQLite, or back from an outage)
    /// up to Redis: a new epoch there resets it here; then the events this
    /// node has not applied are filled in from the stream.
    pub(super) async fn join(
        &self,
        cluster: &Cluster,
        ch: &Channel,
        st: &mut ChannelState,
    ) -> Result<(), HubError> {
        let head = cluster
            .head(&ch.name)
            .await
            .map_err(super::log::unavailable)?;
        // No head in Redis: a new channel (or one Redis lost, found out at
        // its next event); what this node holds stands until then, or what
        // PostgreSQL holds if this node holds nothing.
        let Some((epoch, seq)) = head else {
            return self.restore(ch, st).await;
        };
        if epoch != st.epoch || seq < st.head {
            self.reset(&ch.name, &ch.tx, st, epoch).await?;
        }
        self.fill(&ch.name, &ch.tx, st, seq).await
    }

    /// Applies the events in `(head, upto]` from the channel's Redis stream,
    /// those older than the stream from PostgreSQL (the newest
    /// `resume_buffer` of them). If the two do not hold them all, this
    /// node's record has a hole: the ring restarts after it, and viewers take
    /// a fresh snapshot.
    pub(super) async fn fill(
        &self,
        name: &str,
        tx: &Fanout,
        st: &mut ChannelState,
        upto: u64,
    ) -> Result<(), HubError> {
        let Some(cluster) = self.log.cluster() else {
            return Ok(());
        };
        if upto <= st.head {
            return Ok(());
        }
        let events = cluster
            .history(name, &st.epoch, st.head, upto)
            .await
            .map_err(super::log::unavailable)?;
        let first = events.first().map_or(upto + 1, |(seq, _)| *seq);
        let older = self.older(name, &st.epoch, st.head, first).await;
        self.apply_run(name, tx, st, older, events, upto).await
    }

    /// Applies `older` (from PostgreSQL) then `newer` (from Redis), which
    /// should start at head + 1 and end at `upto` (see [`Ctx::fill`]).
    pub(super) async fn apply_run(
        &self,
        name: &str,
        tx: &Fanout,
        st: &mut ChannelState,
        older: Vec<(u64, String)>,
        newer: Vec<(u64, String)>,
        upto: u64,
    ) -> Result<(), HubError> {
        let first = older.first().or(newer.first()).map(|(seq, _)| *seq);
        if first != Some(st.head + 1) {
            let (from, held) = (st.head + 1, st.head > 0);
            if held {
                tracing::warn!(
                    channel = name,
                    from,
                    upto,
                    "events no longer held; viewers get a snapshot"
                );
            } else {
                tracing::info!(channel = name, from, upto, "older events not loaded here");
            }
            st.ring.clear();
            tx.restart(self.limits.broadcast_capacity);
        }
        for (events, durable) in [(older, true), (newer, false)] {
            for (seq, entry) in events {
                let extra = if durable {
                    Extra::DURABLE
                } else {
                    Extra::REMOTE
                };
                self.apply(name, tx, st, seq, parse(&entry)?, extra).await?;
            }
        }
        if st.head < upto {
            // The stream lost its newest events (evicted): go on from `upto`
            // with what this node holds (viewers were restarted above).
            st.ring.clear();
            st.head = upto;
        }
        Ok(())
    }

    /// Starts channel `name` over in `epoch` (Redis lost the old one, or this
    /// node's epoch was never used): its record here is dropped, its viewers
    /// take a fresh snapshot.
    pub(super) async fn reset(
        &self,
        name: &str,
        tx: &Fanout,
        st: &mut ChannelState,
        epoch: String,
    ) -> Result<(), HubError> {
        if st.head == 0 {
            // Nothing here was numbered in the old epoch (a node joining a
            // channel another node started): adopting the cluster's epoch is
            // routine, not a loss.
            tracing::debug!(channel = name, epoch = %epoch, "channel epoch adopted from redis");
        } else {
            tracing::warn!(channel = name, old = %st.epoch, new = %epoch, "channel epoch changed");
        }
        let owned = name.to_string();
        self.store
            .call(move |c| replica::reset_channel(c, &owned))
            .await?;
        st.epoch = epoch;
        st.head = 0;
        st.ring.clear();
        st.recent = None;
        st.initial = None;
        tx.restart(self.limits.broadcast_capacity);
        Ok(())
    }
}

pub(super) fn parse(entry: &str) -> Result<Entry, HubError> {
    serde_json::from_str(entry).map_err(|e| HubError::Internal(format!("event from Redis: {e}")))
}
