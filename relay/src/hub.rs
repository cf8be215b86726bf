//! Channels in memory: the ordered event log, its fan-out, and snapshots.
//!
//! Each channel has one async lock. Appending (seq → SQLite → ring →
//! broadcast) and subscribing (broadcast receiver + ring or the snapshot's
//! messages) both happen under it, so every viewer sees one order, and a new
//! viewer's first frames end exactly where its live receiver begins; a
//! snapshot is serialized after the lock is released (`hub/start.rs`). A channel's
//! broadcast queue is allocated on its first append ([`Fanout`]).

pub use crate::event::{
    now_ms, random_bytes, Action, Appended, Change, Entry, HubError, NewPost, Origin, Policy,
    Refusal,
};
use crate::metrics::Metrics;
use crate::store::{self, Store};
use axum::extract::ws::Utf8Bytes;
use chyron_protocol::{BridgeState, Message, ServerFrame};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, Notify};

mod append;
mod channels;
mod fanout;
mod history;
mod log;
mod remote;
mod start;
use append::{Ctx, Extra};
use channels::Channels;
pub use channels::{sweep_idle, SWEEP_EVERY};
pub use fanout::Fanout;
pub use log::Log;
pub use remote::follow;

/// Largest snapshot a viewer may ask for (`limit`), and the size of the
/// cached list of newest visible messages.
pub const MAX_SNAPSHOT: usize = 200;

/// Sizes the hub needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// Default snapshot size, cached serialized because most viewers use it.
    pub history: usize,
    /// Events held for resume.
    pub resume_buffer: usize,
    /// Capacity of each channel's broadcast queue (allocated on its first
    /// append, see [`Fanout`]).
    pub broadcast_capacity: usize,
    /// Channels loaded at most for viewers ([`Hub::make_room`]).
    pub max_channels: usize,
}

/// All channels touched since start.
pub struct Hub {
    /// Durable storage of events and messages.
    store: Store,
    /// Sizes of rings, queues and snapshots.
    limits: HubLimits,
    /// Where appended events are counted.
    metrics: Arc<Metrics>,
    /// Loaded channels: loaded on first use, dropped when idle ([`Hub::sweep`]).
    channels: Channels,
    /// Channels bridged to a Matrix room: their viewers get bridge frames, and
    /// their changes made here are queued for the room.
    bridged: HashSet<String>,
    /// Each bridged channel's Matrix link state (absent: `connecting`): one
    /// connection serves them all, but a room the bot cannot join is `down`
    /// while the others are `live`.
    bridge_state: Mutex<std::collections::HashMap<String, BridgeState>>,
    /// Wakes the bridge's outbox sender when a change is queued.
    outbox: Notify,
    /// Who numbers events: this process, or Redis for a cluster of relays.
    log: Log,
    /// PostgreSQL, the cluster's durable history (`--database`), if any.
    durable: Option<Arc<crate::durable::Durable>>,
    /// Moderation's say on new posts (timeouts, bans, unmarked images).
    policy: Option<Arc<dyn Policy>>,
}

/// One channel's live state.
pub struct Channel {
    /// The channel's name, for snapshots and SQL.
    name: String,
    /// Serialized event frames to every live viewer, serialized once; one
    /// slot until the channel's first append since it loaded.
    tx: Fanout,
    /// Everything that must change together with the event order.
    state: tokio::sync::Mutex<ChannelState>,
}

/// The part of a channel guarded by its lock.
struct ChannelState {
    /// History identity, from SQLite, fixed once created.
    epoch: String,
    /// Seq of the newest event (0 if none).
    head: u64,
    /// The newest events as sent, contiguous and ending at `head`, for resume.
    ring: VecDeque<(u64, Utf8Bytes)>,
    /// Newest visible messages (up to [`MAX_SNAPSHOT`]); `None` after any event.
    recent: Option<Arc<Vec<Message>>>,
    /// The serialized initial snapshot of the default size; `None` after any event.
    initial: Option<Utf8Bytes>,
}

/// Where a viewer starts: its first frames and its live receiver.
pub struct Subscription {
    /// Frames to send before any live frame: a snapshot or resumed events.
    pub first: Vec<Utf8Bytes>,
    /// Live frames after `first`, with nothing missing or repeated.
    pub rx: broadcast::Receiver<Utf8Bytes>,
}

impl Hub {
    /// A hub over `store`; loads nothing until a channel is used. `bridged`
    /// names the channels bridged to Matrix (empty without a bridge).
    pub fn new(
        store: Store,
        limits: HubLimits,
        metrics: Arc<Metrics>,
        bridged: HashSet<String>,
    ) -> Hub {
        Hub {
            store,
            limits,
            metrics,
            channels: Channels::default(),
            bridged,
            bridge_state: Mutex::new(std::collections::HashMap::new()),
            outbox: Notify::new(),
            log: Log::Local,
            durable: None,
            policy: None,
        }
    }

    /// The hub with new posts screened by `policy` (see [`Policy`]).
    pub fn with_policy(mut self, policy: Arc<dyn Policy>) -> Hub {
        self.policy = Some(policy);
        self
    }

    /// A post as moderation lets it in: refused from a timed-out or banned
    /// sender, its attachment marked by the channel's default. Other
    /// changes pass as they are.
    fn screen(
        &self,
        channel: &str,
        action: Action,
        origin: Option<&Origin>,
    ) -> Result<Action, HubError> {
        let Some(policy) = &self.policy else {
            return Ok(action);
        };
        let mut post = match action {
            Change::Post(post) => post,
            other => return Ok(other),
        };
        if let Some(refusal) = policy.refuses(channel, &post.sender_id) {
            if let Some(origin) = origin.filter(|_| post.source == chyron_protocol::Source::Matrix)
            {
                policy.got_through(channel, &origin.id);
            }
            return Err(HubError::Refused(refusal));
        }
        if let Some(media) = post.media.as_mut().filter(|m| m.mark.is_none()) {
            media.mark = policy.unmarked(channel);
        }
        Ok(Change::Post(post))
    }

    /// The hub with events numbered by `log` (Redis, in clustered mode).
    pub fn with_log(mut self, log: Log) -> Hub {
        self.log = log;
        self
    }

    /// The hub with events written behind to, and history read from,
    /// `durable` (PostgreSQL, in clustered mode).
    pub fn with_durable(mut self, durable: Option<Arc<crate::durable::Durable>>) -> Hub {
        self.durable = durable;
        self
    }

    /// What the PostgreSQL writer did, with `--database`.
    pub fn durable_stats(&self) -> Option<crate::durable::Stats> {
        self.durable.as_ref().map(|d| d.stats())
    }

    /// What appends and applies need, for a task of its own.
    fn ctx(&self) -> Ctx {
        Ctx {
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            limits: self.limits,
            log: self.log.clone(),
            durable: self.durable.clone(),
        }
    }

    /// Redis, in clustered mode (the bridge keeps its position and outbox
    /// there).
    pub fn cluster(&self) -> Option<&Arc<crate::cluster::Cluster>> {
        self.log.cluster()
    }

    /// The channels bridged to Matrix rooms.
    pub fn bridged_channels(&self) -> impl Iterator<Item = &str> {
        self.bridged.iter().map(String::as_str)
    }

    /// Whether `channel` is bridged to a Matrix room.
    pub fn is_bridged(&self, channel: &str) -> bool {
        self.bridged.contains(channel)
    }

    /// Resolves when a change was queued for Matrix since the last call
    /// (a permit is kept if nobody waits, so no wake-up is lost).
    pub async fn outbox_queued(&self) {
        self.outbox.notified().await
    }

    /// The Matrix link's state for `channel`.
    pub fn bridge_state(&self, channel: &str) -> BridgeState {
        let states = self.bridge_state.lock().unwrap_or_else(|e| e.into_inner());
        states
            .get(channel)
            .copied()
            .unwrap_or(BridgeState::Connecting)
    }

    /// Sets the Matrix link's state of every bridged channel and tells the
    /// viewers of those that are loaded and changed.
    pub async fn set_bridge_state(&self, state: BridgeState) -> Result<(), HubError> {
        for channel in &self.bridged {
            self.set_channel_bridge_state(channel, state).await?;
        }
        Ok(())
    }

    /// Sets the Matrix link's state of one bridged channel (its room could
    /// not be joined, or is live again) and tells its viewers, if it changed.
    /// The `chyron_bridge_up` gauge is 1 while any channel is live.
    pub async fn set_channel_bridge_state(
        &self,
        channel: &str,
        state: BridgeState,
    ) -> Result<(), HubError> {
        let Some(name) = self.bridged.get(channel) else {
            return Ok(());
        };
        {
            let mut states = self.bridge_state.lock().unwrap_or_else(|e| e.into_inner());
            if states
                .get(channel)
                .copied()
                .unwrap_or(BridgeState::Connecting)
                == state
            {
                return Ok(());
            }
            states.insert(channel.to_string(), state);
            let up = states.values().any(|s| *s == BridgeState::Live);
            self.metrics.bridge_state(if up {
                BridgeState::Live
            } else {
                BridgeState::Down
            });
        }
        let frame = bridge_frame(state)?;
        for ch in self.channels.loaded(std::iter::once(name)) {
            // Under the lock, so a subscriber sees this frame either in its
            // first frames or live, never neither.
            let _st = ch.state.lock().await;
            let _ = ch.tx.send(frame.clone());
        }
        Ok(())
    }

    /// A viewer's start: `first`, then the bridge state for bridged
    /// channels, then `rx`.
    fn subscription(
        &self,
        channel: &Channel,
        mut first: Vec<Utf8Bytes>,
        rx: broadcast::Receiver<Utf8Bytes>,
    ) -> Result<Subscription, HubError> {
        if self.is_bridged(&channel.name) {
            first.push(bridge_frame(self.bridge_state(&channel.name))?);
        }
        Ok(Subscription { first, rx })
    }

    /// The storage, for webhook records.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The relay's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The channel, loading it from SQLite on first use (again after it was
    /// dropped as idle); a channel with no events yet gets a fresh epoch,
    /// stored with its first event.
    pub async fn channel(&self, name: &str) -> Result<Arc<Channel>, HubError> {
        chyron_protocol::validate_channel(name).map_err(HubError::InvalidChannel)?;
        if let Some(channel) = self.channels.get(name) {
            return Ok(channel);
        }
        let (bridged, ctx) = (self.is_bridged(name), self.ctx());
        let load = || channels::load(&ctx, name, bridged);
        let channel = self.channels.get_or_load(name, load).await?;
        // Counted on loads and sweeps only, not on every lookup.
        self.metrics.channels_loaded.set(self.channels.len() as i64);
        Ok(channel)
    }

    /// Whether `name` is in memory now (a feed of it costs no load).
    pub fn is_loaded(&self, name: &str) -> bool {
        self.channels.contains(name)
    }

    /// Whether one more channel may be loaded for a viewer: at the cap
    /// (`max_channels`), the channels nobody uses are dropped at once; `false`
    /// if every loaded channel is in use.
    pub async fn make_room(&self) -> bool {
        if self.channels.len() < self.limits.max_channels {
            return true;
        }
        let swept = self.channels.drop_unused().await;
        self.unwatch(&swept.dropped).await;
        self.metrics.channels_loaded.set(swept.left as i64);
        swept.left < self.limits.max_channels
    }

    /// In clustered mode, stops hearing the events of channels dropped here.
    async fn unwatch(&self, dropped: &[String]) {
        if let Some(cluster) = self.log.cluster() {
            for name in dropped {
                cluster.unwatch(name).await;
            }
        }
    }

    /// Drops channels idle since the last sweep (see [`channels`]); call it
    /// every [`SWEEP_EVERY`], as [`sweep_idle`] does.
    pub async fn sweep(&self) {
        let swept = self.channels.sweep().await;
        self.unwatch(&swept.dropped).await;
        self.metrics.channels_loaded.set(swept.left as i64);
    }

    /// Appends one event to `channel`, durably, then broadcasts it. Runs to
    /// completion even if the caller goes away, so memory and disk agree.
    pub async fn append(&self, channel: &str, action: Action) -> Result<Appended, HubError> {
        self.append_from(channel, action, None).await
    }

    /// [`Hub::append`] for an event that has an id where it came from (a
    /// Matrix event id): the id is stored with the event in one transaction,
    /// and an id stored before fails with [`HubError::Duplicate`], changing
    /// nothing.
    pub async fn append_from(
        &self,
        channel: &str,
        action: Action,
        origin: Option<Origin>,
    ) -> Result<Appended, HubError> {
        let action = self.screen(channel, action, origin.as_ref())?;
        let ch = self.channel(channel).await?;
        let ctx = self.ctx();
        // Changes made here (not from Matrix) go to the bridged room too.
        let outbox = origin.is_none() && self.is_bridged(channel);
        let entry = Entry::new(action, origin.as_ref());
        let extra = Extra {
            origin,
            outbox,
            write_behind: true,
        };
        let appended = tokio::spawn(async move { ch.append(&ctx, entry, extra).await })
            .await
            .map_err(|e| HubError::Internal(e.to_string()))??;
        if outbox {
            self.outbox.notify_one();
        }
        Ok(appended)
    }
}

impl Channel {
    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Whether a viewer that applied `since` of `epoch` can resume exactly: same
/// epoch, not from the future, and every later event still in the ring.
fn resumable(st: &ChannelState, epoch: Option<&str>, since: u64) -> bool {
    let held = since == st.head
        || st
            .ring
            .front()
            .is_some_and(|(first, _)| *first <= since + 1);
    epoch == Some(st.epoch.as_str()) && since <= st.head && held
}

fn bridge_frame(state: BridgeState) -> Result<Utf8Bytes, HubError> {
    serde_json::to_string(&ServerFrame::Bridge { state })
        .map(Utf8Bytes::from)
        .map_err(|e| HubError::Internal(e.to_string()))
}

#[cfg(test)]
#[path = "hub_tests.rs"]
pub(crate) mod tests;
