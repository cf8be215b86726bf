//! The Matrix bridge: bridged rooms' chat reaches their channels' feeds.
//!
//! Runs as one task beside the HTTP server ([`spawn`]): a session
//! ([`session::run`]) logs in, joins the rooms and syncs; when it fails (a
//! homeserver that is down, a bad password, a storage error) the task waits
//! and starts a new one, with a backoff from 1 s doubling to 60 s. It never
//! stops the relay; the relay's shutdown stops it.
//!
//! - [`config`]: the settings and their validation;
//! - [`map`]: which Matrix event does what (pure, over ruma types);
//! - [`apply`]: a mapped event into the hub, deduplicated by event id;
//! - [`outbox`]: changes made through the relay, sent to the rooms;
//! - [`session`]: the matrix-sdk client, login, join and the sync loop;
//! - [`thumbnails`]: attachment previews and avatars served to viewers.

pub mod apply;
pub mod config;
pub mod map;
pub mod outbox;
pub mod session;
pub mod thumbnails;

use crate::hub::Hub;
use chyron_protocol::BridgeState;
use config::MatrixConfig;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use thumbnails::Thumbnails;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Whether the homeserver refused a request for good (a 4xx other than 429:
/// no permission, not found, too large), so retrying it is pointless; a
/// 429, a 5xx or no answer at all is worth another try.
pub fn refused_for_good(e: &matrix_sdk::Error) -> bool {
    e.as_client_api_error()
        .map(|a| a.status_code.as_u16())
        .is_some_and(|s| (400..500).contains(&s) && s != 429)
}

/// First wait after a failed session.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest wait between sessions.
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Starts the bridge task. It ends when `shutdown` turns `true` (or its
/// sender is dropped).
pub fn spawn(
    config: MatrixConfig,
    hub: Arc<Hub>,
    thumbnails: Arc<Thumbnails>,
    data_dir: PathBuf,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut delay = BACKOFF_MIN;
        loop {
            let ready = Arc::new(AtomicBool::new(false));
            let (flag, live) = (ready.clone(), hub.clone());
            // Viewers learn the link is live once the first sync is in.
            let mut on_ready = move || {
                flag.store(true, Ordering::Relaxed);
                let hub = live.clone();
                tokio::spawn(async move { set_state(&hub, BridgeState::Live).await });
            };
            let outcome = tokio::select! {
                r = session::run(&config, &hub, &data_dir, &thumbnails, &mut on_ready) => r,
                _ = stopped(&mut shutdown) => return,
            };
            thumbnails.set_client(None);
            set_state(&hub, BridgeState::Down).await;
            if let Err(e) = outcome {
                if ready.load(Ordering::Relaxed) {
                    delay = BACKOFF_MIN;
                }
                tracing::warn!("matrix bridge: {e}; retrying in {} s", delay.as_secs());
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stopped(&mut shutdown) => return,
            }
            delay = (delay * 2).min(BACKOFF_MAX);
        }
    })
}

async fn set_state(hub: &Hub, state: BridgeState) {
    if let Err(e) = hub.set_bridge_state(state).await {
        tracing::warn!("matrix bridge: telling viewers the link is {state:?}: {e}");
    }
}

/// Resolves once the relay shuts down.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}
