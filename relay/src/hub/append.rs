//! Appending: an event is numbered by the channel's [`Log`], then applied
//! the same way in both modes: serialized once, committed to SQLite, pushed
//! to the resume ring and broadcast, all under the channel's lock; with
//! `--database`, then queued to be written behind to PostgreSQL.

use super::log::Log;
use super::{Channel, ChannelState, Fanout, HubLimits};
use crate::durable::{Durable, Row};
use crate::event::{Appended, Change, Entry, HubError, Origin};
use crate::metrics::Metrics;
use crate::store::{self, replica, Store, StoreError};
use axum::extract::ws::Utf8Bytes;
use std::sync::Arc;

/// What appending and applying events needs, cheap to clone into the task
/// an append runs in (it runs to completion even if its caller goes away).
#[derive(Clone)]
pub(super) struct Ctx {
    /// The record (the whole record, or this node's replica when clustered).
    pub store: Store,
    /// Where applied events are counted.
    pub metrics: Arc<Metrics>,
    /// Ring and queue sizes.
    pub limits: HubLimits,
    /// Who numbers events.
    pub log: Log,
    /// The shared durable history, in clustered mode with `--database`.
    pub durable: Option<Arc<Durable>>,
}

/// How an event is applied besides its change.
pub(super) struct Extra {
    /// Where it came from (a Matrix event), stored with it.
    pub origin: Option<Origin>,
    /// Whether to queue it for the bridged Matrix room.
    pub outbox: bool,
    /// Whether to write it behind to PostgreSQL (not when read from there).
    pub write_behind: bool,
}

impl Extra {
    /// An event another node made: its origin and outbox are that node's.
    pub const REMOTE: Extra = Extra {
        origin: None,
        outbox: false,
        write_behind: true,
    };

    /// An event read from PostgreSQL: there already.
    pub const DURABLE: Extra = Extra {
        write_behind: false,
        ..Extra::REMOTE
    };
}

impl Channel {
    /// Numbers `entry` and applies it (see the module doc).
    pub(super) async fn append(
        &self,
        ctx: &Ctx,
        entry: Entry,
        extra: Extra,
    ) -> Result<Appended, HubError> {
        let mut st = self.state.lock().await;
        let mut extra = extra;
        let mut outgoing = None;
        if ctx.log.cluster().is_some() {
            // Once numbered, an event is applied even if it changes nothing
            // here; so what cannot apply is refused before.
            ctx.check(&self.name, &entry, extra.origin.as_ref()).await?;
            // The outbox is Redis's, queued with the event: whichever node
            // bridges sends it.
            if std::mem::take(&mut extra.outbox) {
                outgoing = ctx.outgoing(&self.name, &entry).await?;
            }
        }
        let origin = extra.origin.as_ref().map(|o| o.id.as_str());
        let ordered = ctx
            .log
            .order(&self.name, &st, &entry, origin, outgoing.as_deref())
            .await?;
        if ordered.epoch != st.epoch {
            ctx.reset(&self.name, &self.tx, &mut st, ordered.epoch)
                .await?;
        }
        // Other nodes' events before this one, from Redis (none when local).
        ctx.fill(&self.name, &self.tx, &mut st, ordered.seq - 1)
            .await?;
        ctx.apply(&self.name, &self.tx, &mut st, ordered.seq, entry, extra)
            .await
    }
}

impl Ctx {
    /// Whether `entry` can apply here: its target message is visible, its
    /// origin is new. (Another node may still delete the message first;
    /// then the event is recorded and changes nothing.)
    async fn check(
        &self,
        name: &str,
        entry: &Entry,
        origin: Option<&Origin>,
    ) -> Result<(), HubError> {
        let (name, origin) = (name.to_string(), origin.map(|o| o.id.clone()));
        let target = match &entry.action {
            Change::Edit { id, .. } | Change::Delete { id } | Change::Mark { id, .. } => {
                Some((true, id.clone()))
            }
            Change::Profile { sender_id, .. } => Some((false, sender_id.clone())),
            Change::Post(_) | Change::Clear { .. } => None,
        };
        self.store
            .call(move |c| {
                if let Some(origin) = origin {
                    if store::origin_seen(c, &name, &origin)? {
                        return Err(StoreError::Duplicate);
                    }
                }
                let found = match &target {
                    Some((true, id)) => replica::visible(c, &name, id)?,
                    Some((false, sender)) => replica::sender_visible(c, &name, sender)?,
                    None => true,
                };
                if found {
                    Ok(())
                } else {
                    Err(StoreError::NotFound)
                }
            })
            .await?;
        Ok(())
    }

    /// What `entry` sends to the bridged room, as JSON, if anything.
    async fn outgoing(&self, name: &str, entry: &Entry) -> Result<Option<String>, HubError> {
        let (name, action) = (name.to_string(), entry.action.clone());
        let out = self
            .store
            .call(move |c| store::outgoing(c, &name, &action))
            .await?;
        out.map(|o| serde_json::to_string(&o).map_err(|e| HubError::Internal(e.to_string())))
            .transpose()
    }

    /// Applies `entry` as event `seq` of channel `name` (state `st`, queue
    /// `tx`): one durable SQLite transaction, then the ring and the
    /// broadcast. `seq` must be one above the head.
    pub(super) async fn apply(
        &self,
        name: &str,
        tx: &Fanout,
        st: &mut ChannelState,
        seq: u64,
        entry: Entry,
        extra: Extra,
    ) -> Result<Appended, HubError> {
        let behind = match (&self.durable, extra.write_behind) {
            (Some(durable), true) => Some((durable.clone(), entry.ts, to_json(&entry)?)),
            _ => None,
        };
        let event_id = entry.event_id.clone();
        let change = entry.numbered(name, seq);
        let frame = change.frame(seq);
        let kind = change.kind();
        let posted = match &change {
            Change::Post(message) => Some(message.clone()),
            _ => None,
        };
        let text = serde_json::to_string(&frame).map_err(|e| HubError::Internal(e.to_string()))?;
        let (owned, epoch, stored) = (name.to_string(), st.epoch.clone(), text.clone());
        let strict = self.log.strict();
        let Extra { origin, outbox, .. } = extra;
        // A Matrix post another node bridged carries its event id: recorded
        // here too, so a node that takes the bridge over finds the message
        // a later Matrix edit or redaction of that event targets.
        let origin = origin.or_else(|| {
            event_id.map(|id| Origin {
                id,
                media: None,
                avatar: None,
            })
        });
        let removed = self
            .store
            .call(move |c| {
                let o = origin.as_ref();
                match store::apply(c, &owned, &epoch, seq, &stored, &change, o, outbox) {
                    Err(StoreError::NotFound | StoreError::Duplicate) if !strict => {
                        replica::record_event(c, &owned, &epoch, seq, &stored).map(|()| 0)
                    }
                    done => done,
                }
            })
            .await?;
        if let Some((durable, ts, entry)) = behind {
            durable.write(Row {
                channel: name.to_string(),
                epoch: st.epoch.clone(),
                seq,
                entry,
                ts,
            });
        }
        let bytes = Utf8Bytes::from(text);
        st.head = seq;
        st.ring.push_back((seq, bytes.clone()));
        while st.ring.len() > self.limits.resume_buffer {
            st.ring.pop_front();
        }
        st.recent = None;
        st.initial = None;
        self.metrics.event(kind);
        // Someone writes here now: the full queue (viewers of the one-slot
        // queue rejoin after the head it grew at, i.e. from this event).
        tx.grow(self.limits.broadcast_capacity, seq - 1);
        // No receivers is fine: nobody is watching.
        let _ = tx.send(bytes);
        Ok(Appended {
            seq,
            message: posted,
            removed,
        })
    }
}

fn to_json(entry: &Entry) -> Result<String, HubError> {
    serde_json::to_string(entry).map_err(|e| HubError::Internal(e.to_string()))
}
