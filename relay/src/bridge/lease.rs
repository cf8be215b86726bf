//! Clustered mode: at most one node runs the Matrix link, under a lease in
//! Redis ([`crate::cluster::bridge`]).
//!
//! Every node with a bridge configured runs [`run`]: it tries to take the
//! lease every `ttl / 3`; once it holds it, it starts the link
//! ([`super::spawn`]: sync and outbox) and renews the lease every `ttl / 3`.
//! Each renewal that Redis confirms moves the deadline to `sent + ttl -
//! margin` (`sent`: when that renewal was sent, so the lease in Redis lasts
//! at least until `sent + ttl`). A renewal that finds another holder, or a
//! deadline reached without one confirmed (Redis unreachable), stops the
//! link at once: it is stopped `margin` before the lease could be anyone
//! else's. On shutdown the holder stops its link and releases the lease
//! (compare-and-delete), so another node takes over without waiting for it
//! to expire. Redis unreachable: nobody bridges (logged, `chyron_bridge_lease`
//! 0 on every node); the feed keeps serving. The holder publishes each
//! channel's link state at every renewal; the other nodes show it to their
//! viewers (`follow_states`).

use super::config::MatrixConfig;
use super::thumbnails::Thumbnails;
use crate::cluster::Cluster;
use crate::directory::ChatRooms;
use crate::hub::Hub;
use chyron_protocol::BridgeState;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{sleep, sleep_until, timeout_at, Instant};

/// What the lease loop needs besides the link's own inputs.
pub struct Leased {
    /// The cluster's Redis.
    pub cluster: Arc<Cluster>,
    /// This node's id in the lease (unique per process run).
    pub node: String,
    /// How long a lease lasts unless renewed.
    pub ttl: Duration,
    /// The relay: its moderation queue, which the link's executor works
    /// through while this node holds the lease, and the moderation
    /// functions the moderators' rooms' commands call.
    pub state: crate::AppState,
}

impl Leased {
    /// Time between renewals, and between tries to take the lease.
    fn every(&self) -> Duration {
        self.ttl / 3
    }

    /// How long before the lease could expire the link is stopped.
    fn margin(&self) -> Duration {
        self.ttl / 5
    }
}

/// A node id for the lease, new for each process run: a restarted node
/// never mistakes its predecessor's lease for its own.
pub fn node_id() -> String {
    let random = crate::event::random_bytes::<6>()
        .map(hex::encode)
        .unwrap_or_default();
    format!("{}-{random}", std::process::id())
}

/// Runs the bridge on this node whenever it holds the lease, until `stop`.
pub async fn run(
    lease: Leased,
    config: MatrixConfig,
    hub: Arc<Hub>,
    thumbnails: Arc<Thumbnails>,
    chat_rooms: Arc<ChatRooms>,
    data_dir: PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    let bot = config.user.to_string();
    let ttl_ms = lease.ttl.as_millis() as u64;
    let mut unreachable = false;
    loop {
        // Wait for the lease.
        let sent = Instant::now();
        let got = match lease.cluster.lease_acquire(&bot, &lease.node, ttl_ms).await {
            Ok(got) => got,
            Err(e) => {
                if !unreachable {
                    tracing::warn!("matrix bridge lease: redis unreachable, no node bridges: {e}");
                }
                unreachable = true;
                false
            }
        };
        if !got {
            follow_states(&lease, &bot, &hub, unreachable).await;
            tokio::select! {
                _ = sleep(lease.every()) => continue,
                _ = super::stopped(&mut stop) => return,
            }
        }
        unreachable = false;
        tracing::info!(node = %lease.node, "matrix bridge lease taken: this node runs the link");
        hub.metrics().bridge_lease.set(1);
        let (term_tx, term_rx) = watch::channel(false);
        let link = super::spawn(
            config.clone(),
            hub.clone(),
            thumbnails.clone(),
            chat_rooms.clone(),
            lease.state.clone(),
            data_dir.clone(),
            term_rx,
        );
        let shutdown = hold(&lease, &bot, &hub, sent, &mut stop).await;
        let _ = term_tx.send(true);
        let _ = link.await;
        hub.metrics().bridge_lease.set(0);
        if shutdown {
            if let Err(e) = lease.cluster.lease_release(&bot, &lease.node).await {
                tracing::warn!("matrix bridge lease: releasing it: {e}");
            }
            return;
        }
        tracing::warn!(node = %lease.node, "matrix bridge lease lost: this node stopped its link");
        if let Err(e) = hub.set_bridge_state(BridgeState::Down).await {
            tracing::warn!("matrix bridge: telling viewers the link is down here: {e}");
        }
    }
}

/// Keeps the lease (taken at `taken`) until it is lost (false) or the relay
/// stops (true).
async fn hold(
    lease: &Leased,
    bot: &str,
    hub: &Hub,
    taken: Instant,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let ttl_ms = lease.ttl.as_millis() as u64;
    let mut deadline = taken + lease.ttl - lease.margin();
    let mut next = taken + lease.every();
    loop {
        tokio::select! {
            _ = sleep_until(next) => {}
            _ = super::stopped(stop) => return true,
        }
        let sent = Instant::now();
        let renewal = lease.cluster.lease_renew(bot, &lease.node, ttl_ms);
        match timeout_at(deadline, renewal).await {
            Ok(Ok(true)) => {
                deadline = sent + lease.ttl - lease.margin();
                next = sent + lease.every();
                share_states(lease, bot, hub).await;
            }
            Ok(Ok(false)) => {
                tracing::warn!("matrix bridge lease: another node holds it now");
                return false;
            }
            Ok(Err(e)) => {
                tracing::warn!("matrix bridge lease: renewing it: {e}");
                // Try again soon, while the lease still lasts.
                next = (Instant::now() + lease.every() / 4).min(deadline);
            }
            Err(_) => {}
        }
        if Instant::now() >= deadline {
            tracing::warn!("matrix bridge lease: not renewed in time (redis unreachable?)");
            return false;
        }
    }
}

/// The holder publishes its channels' link states for the other nodes.
async fn share_states(lease: &Leased, bot: &str, hub: &Hub) {
    let states: Vec<(String, String)> = hub
        .bridged_channels()
        .map(|c| (c.to_string(), state_name(hub.bridge_state(c))))
        .collect();
    if let Err(e) = lease.cluster.set_link_states(bot, &states).await {
        tracing::debug!("matrix bridge lease: sharing the link state: {e}");
    }
}

/// A node that does not run the link shows its viewers the holder's link
/// state: `connecting` while nobody holds the lease (a takeover), `down`
/// while Redis is unreachable (nobody bridges).
async fn follow_states(lease: &Leased, bot: &str, hub: &Hub, unreachable: bool) {
    let shared = match lease.cluster.lease_holder(bot).await {
        _ if unreachable => None,
        Ok(Some(_)) => lease.cluster.link_states(bot).await.ok(),
        Ok(None) => Some(Vec::new()),
        Err(_) => None,
    };
    let Some(shared) = shared else {
        let _ = hub.set_bridge_state(BridgeState::Down).await;
        return;
    };
    let channels: Vec<String> = hub.bridged_channels().map(str::to_string).collect();
    for channel in channels {
        let state = shared
            .iter()
            .find(|(c, _)| *c == channel)
            .and_then(|(_, s)| serde_json::from_str(&format!("\"{s}\"")).ok())
            .unwrap_or(BridgeState::Connecting);
        let _ = hub.set_channel_bridge_state(&channel, state).await;
    }
}

/// A state's wire name (`live`, `down`…).
fn state_name(state: BridgeState) -> String {
    serde_json::to_string(&state)
        .unwrap_or_default()
        .trim_matches('"')
        .to_string()
}
