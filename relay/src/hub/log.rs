//! Who orders a channel's events: the seam between the embedded relay and
//! a cluster of relays.
//!
//! - [`Log::Local`] (the default): this process numbers its channels' events
//!   itself, one above its head, and SQLite is the record.
//! - [`Log::Redis`] (`--redis URL`): Redis numbers them for every node
//!   ([`crate::cluster`]); each node applies all of a channel's events, its
//!   own and those heard by pub/sub, to its SQLite in seq order, filling any
//!   gap from Redis's history first (`remote.rs`).
//!
//! Everything after the seq is chosen (the frame, SQLite, the resume ring,
//! the broadcast) is the same code in both modes (`append.rs`).

use super::{random_bytes, ChannelState, HubError};
use crate::cluster::{Cluster, ClusterError};
use crate::event::Entry;
use std::sync::Arc;

/// Who orders events.
#[derive(Clone, Default)]
pub enum Log {
    /// This process alone (SQLite).
    #[default]
    Local,
    /// Redis, shared by every node of the cluster.
    Redis(Arc<Cluster>),
}

/// Where an event goes: its epoch and seq.
pub(super) struct Ordered {
    /// The channel's epoch the seq belongs to (differs from the channel's
    /// own when Redis had lost the channel and started a new one).
    pub epoch: String,
    /// The event's seq.
    pub seq: u64,
}

impl Log {
    /// The cluster, in clustered mode.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        match self {
            Log::Local => None,
            Log::Redis(c) => Some(c),
        }
    }

    /// Whether a change that finds nothing to change fails (`Local`: nothing
    /// was numbered yet) rather than being recorded as a no-op (`Redis`: its
    /// seq is handed out already and must not be skipped).
    pub(super) fn strict(&self) -> bool {
        matches!(self, Log::Local)
    }

    /// Numbers `entry` as the next event of channel `name`, whose state
    /// here is `st`. In clustered mode `origin` (a Matrix event id) is
    /// refused as a [`HubError::Duplicate`] if any node ordered it already,
    /// and `outgoing` (JSON of a [`crate::store::Outgoing`]) is queued for
    /// the bridged room in the same step.
    pub(super) async fn order(
        &self,
        name: &str,
        st: &ChannelState,
        entry: &Entry,
        origin: Option<&str>,
        outgoing: Option<&str>,
    ) -> Result<Ordered, HubError> {
        let cluster = match self {
            Log::Local => {
                return Ok(Ordered {
                    epoch: st.epoch.clone(),
                    seq: st.head + 1,
                })
            }
            Log::Redis(cluster) => cluster,
        };
        let text = serde_json::to_string(entry).map_err(|e| HubError::Internal(e.to_string()))?;
        // A channel this node holds events of keeps its epoch only while
        // Redis does: if Redis lost it, numbering restarts in a new epoch.
        let fresh = if st.head == 0 {
            st.epoch.clone()
        } else {
            hex::encode(random_bytes::<8>()?)
        };
        let (epoch, seq) = cluster
            .publish(name, &fresh, &text, origin, outgoing)
            .await
            .map_err(unavailable)?
            .ok_or(HubError::Duplicate)?;
        Ok(Ordered { epoch, seq })
    }
}

/// A Redis failure as a hub error.
pub(super) fn unavailable(e: ClusterError) -> HubError {
    match e {
        ClusterError::Unavailable(why) => HubError::Unavailable(why),
        ClusterError::EpochChanged => HubError::Unavailable(e.to_string()),
        ClusterError::Corrupt(why) => HubError::Internal(why),
    }
}
