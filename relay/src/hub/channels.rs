//! The hub's loaded channels. A feed URL may name any channel, so a channel
//! is loaded from SQLite on first use and dropped again once idle: memory
//! follows the channels in use, not every name ever asked for.
//!
//! Dropping loses nothing: the store holds every event, and a channel loaded
//! again rebuilds its resume ring from it. Loads (and drops) take one lock,
//! so a channel is never loaded twice, and never from a read that an append
//! on a live copy could overtake: there is no live copy while it is loaded.

use super::append::Ctx;
use super::{random_bytes, Channel, ChannelState, Fanout, Hub, HubError};
use crate::store;
use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// How often idle channels are looked for: one unused for a whole interval
/// (two sweeps) is dropped from memory.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Sweeps `hub`'s idle channels every [`SWEEP_EVERY`] until `shutdown` turns
/// `true` (or its sender is gone).
pub async fn sweep_idle(hub: Arc<Hub>, mut shutdown: watch::Receiver<bool>) {
    let first = tokio::time::Instant::now() + SWEEP_EVERY;
    let mut every = tokio::time::interval_at(first, SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => hub.sweep().await,
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

/// Loads channel `name` from the store: its epoch (a fresh one if it has no
/// events yet; stored with its first event), head and resume ring. Its live
/// queue has one slot until its first append ([`Fanout`]), or its full size
/// at once if it is `bridged`.
pub(super) async fn load(ctx: &Ctx, name: &str, bridged: bool) -> Result<Channel, HubError> {
    let Some(cluster) = ctx.log.cluster() else {
        return load_local(ctx, name, bridged).await;
    };
    // Subscribed first, so no event published after Redis's head was read
    // is missed; then caught up to that head.
    cluster.watch(name).await.map_err(super::log::unavailable)?;
    let joined = async {
        let channel = load_local(ctx, name, bridged).await?;
        let mut st = channel.state.lock().await;
        ctx.join(cluster, &channel, &mut st).await?;
        // Once per load (not per reconnect of every loaded channel).
        ctx.audit(name, &st.epoch, st.head);
        drop(st);
        Ok(channel)
    };
    let channel = joined.await;
    if channel.is_err() {
        cluster.unwatch(name).await;
    }
    channel
}

/// Loads channel `name` from this node's SQLite alone.
async fn load_local(ctx: &Ctx, name: &str, bridged: bool) -> Result<Channel, HubError> {
    let limits = ctx.limits;
    let epoch = hex::encode(random_bytes::<8>()?);
    let (owned, keep) = (name.to_string(), limits.resume_buffer as u64);
    let (epoch, head, events) = ctx
        .store
        .call(move |c| {
            let (epoch, head) = store::load_channel(c, &owned)?.unwrap_or((epoch, 0));
            let events = store::events_after(c, &owned, head.saturating_sub(keep))?;
            Ok((epoch, head, events))
        })
        .await?;
    Ok(Channel {
        name: name.to_string(),
        tx: if bridged {
            Fanout::full(limits.broadcast_capacity)
        } else {
            Fanout::small()
        },
        state: tokio::sync::Mutex::new(ChannelState {
            epoch,
            head,
            ring: events
                .into_iter()
                .map(|(s, f)| (s, Utf8Bytes::from(f)))
                .collect(),
            recent: None,
            initial: None,
        }),
    })
}

/// Loaded channels by name.
#[derive(Default)]
pub(super) struct Channels {
    /// The channels, each with its idle mark.
    map: Mutex<HashMap<String, Loaded>>,
    /// Held while a channel is loaded and while idle ones are dropped.
    loading: tokio::sync::Mutex<()>,
}

/// What a sweep left and dropped; no channel loads until it is dropped, so
/// the dropped ones are unwatched before one of them can be loaded again.
pub(super) struct Swept<'a> {
    /// How many channels are still loaded.
    pub left: usize,
    /// The names of the channels dropped.
    pub dropped: Vec<String>,
    /// The load lock, held until the caller is done with `dropped`.
    _loading: tokio::sync::MutexGuard<'a, ()>,
}

struct Loaded {
    channel: Arc<Channel>,
    /// Found unused by the last sweep. A lookup clears it; a channel found
    /// unused by two sweeps in a row is dropped.
    idle: bool,
}

impl Channels {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Loaded>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The loaded channel `name`, if it is loaded; marks it used.
    pub(super) fn get(&self, name: &str) -> Option<Arc<Channel>> {
        let mut map = self.lock();
        let loaded = map.get_mut(name)?;
        loaded.idle = false;
        Some(loaded.channel.clone())
    }

    /// The channel `name`, loaded by `load` unless it is loaded already
    /// (callers try [`Channels::get`] first: this waits for the load lock).
    pub(super) async fn get_or_load<F>(
        &self,
        name: &str,
        load: impl FnOnce() -> F,
    ) -> Result<Arc<Channel>, HubError>
    where
        F: Future<Output = Result<Channel, HubError>>,
    {
        let _loading = self.loading.lock().await;
        // Someone else may have loaded it while we waited.
        if let Some(channel) = self.get(name) {
            return Ok(channel);
        }
        let channel = Arc::new(load().await?);
        self.lock().insert(
            name.to_string(),
            Loaded {
                channel: channel.clone(),
                idle: false,
            },
        );
        Ok(channel)
    }

    /// The loaded channel `name`, waiting for a load of it under way; `None`
    /// if it is not loaded. Does not mark it used (an event is no viewer).
    pub(super) async fn settled(&self, name: &str) -> Option<Arc<Channel>> {
        if let Some(loaded) = self.lock().get(name) {
            return Some(loaded.channel.clone());
        }
        let _loading = self.loading.lock().await;
        self.lock().get(name).map(|l| l.channel.clone())
    }

    /// Every loaded channel.
    pub(super) fn all(&self) -> Vec<Arc<Channel>> {
        self.lock().values().map(|l| l.channel.clone()).collect()
    }

    /// Those of `names` that are loaded (for a broadcast to their viewers).
    pub(super) fn loaded<'a>(&self, names: impl Iterator<Item = &'a String>) -> Vec<Arc<Channel>> {
        let map = self.lock();
        names
            .filter_map(|n| map.get(n).map(|l| l.channel.clone()))
            .collect()
    }

    /// One sweep: drops the channels that were unused at the last sweep and
    /// still are, marks the other unused ones. Unused: no viewer receives
    /// its frames and nothing holds it (no feed, append or subscribe in
    /// flight). Returns how many channels are still loaded.
    pub(super) async fn sweep(&self) -> Swept<'_> {
        self.drop_where(|loaded| {
            let unused = unused(&loaded.channel);
            let drop = unused && loaded.idle;
            loaded.idle = unused;
            drop
        })
        .await
    }

    /// Drops every channel nobody uses now (at the cap of loaded channels,
    /// without waiting for sweeps).
    pub(super) async fn drop_unused(&self) -> Swept<'_> {
        self.drop_where(|loaded| unused(&loaded.channel)).await
    }

    async fn drop_where(&self, mut drop: impl FnMut(&mut Loaded) -> bool) -> Swept<'_> {
        let loading = self.loading.lock().await;
        let mut map = self.lock();
        let mut dropped = Vec::new();
        map.retain(|name, loaded| {
            let gone = drop(loaded);
            if gone {
                dropped.push(name.clone());
            }
            !gone
        });
        Swept {
            left: map.len(),
            dropped,
            _loading: loading,
        }
    }

    /// Whether `name` is loaded (without marking it used).
    pub(super) fn contains(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    /// How many channels are loaded.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// No viewer receives the channel's frames and nothing holds it (no feed,
/// append or subscribe in flight); call with the map locked.
fn unused(channel: &Arc<Channel>) -> bool {
    Arc::strong_count(channel) == 1 && channel.tx.receiver_count() == 0
}

#[cfg(test)]
#[path = "channels_tests.rs"]
mod tests;
