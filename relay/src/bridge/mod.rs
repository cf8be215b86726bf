//! The Matrix bridge: bridged rooms' chat reaches their channels' feeds.
//!
//! Runs as one task beside the HTTP server ([`spawn`]): a session
//! ([`session::run`]) logs in, joins the rooms and syncs; when it fails (a
//! homeserver that is down, a bad password or a revoked token, a storage
//! error) every bridged channel is `down` and the task waits and starts a
//! new one (which logs in again), with a backoff from 1 s doubling to 60 s.
//! Within a session the link state is per channel: `live` once its room is
//! joined and synced, `down` while its room cannot be joined. It never
//! stops the relay; the relay's shutdown stops it.
//!
//! - [`config`]: the settings and their validation;
//! - [`map`]: which Matrix event does what (pure, over ruma types);
//! - [`apply`]: a mapped event into the hub, deduplicated by event id;
//! - [`redact`]: whether a redaction may delete its target (sender or power);
//! - [`outbox`]: changes made through the relay, sent to the rooms;
//! - [`shared_outbox`]: the same from Redis, in clustered mode;
//! - [`moderate`]: the moderation queue's work, done in the rooms;
//! - [`position`]: where the sync token is kept (SQLite, or Redis);
//! - [`lease`]: clustered mode, at most one node runs the link;
//! - [`rooms`]: which rooms are joined, each joined (and retried) on its own;
//! - [`guests`]: whether guests may post in a room, and letting them in;
//! - [`gap`]: filling a cut-short sync, or telling viewers what is missing;
//! - [`session`]: the matrix-sdk client, login and the four loops (sync,
//!   joins, outbox, moderation);
//! - [`mods_commands`] and [`mods_parse`]: commands typed in the owners'
//!   moderators' rooms, run like the API's moderation calls;
//! - [`thumbnails`]: attachment previews and avatars served to viewers.

pub mod apply;
pub mod config;
pub mod gap;
pub mod guests;
pub mod image;
pub mod lease;
pub mod map;
pub mod media_fetch;
pub mod memory;
pub mod moderate;
pub mod mods_commands;
pub mod mods_parse;
pub mod outbox;
pub mod position;
pub mod redact;
pub mod rooms;
pub mod session;
pub mod shared_outbox;
pub mod thumbnails;

use crate::directory::ChatRooms;
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
/// 429, a 5xx, no answer at all or a failed authentication ([`auth_failed`]:
/// the request itself was fine) is worth another try.
pub fn refused_for_good(e: &matrix_sdk::Error) -> bool {
    !auth_failed(e)
        && e.as_client_api_error()
            .map(|a| a.status_code.as_u16())
            .is_some_and(|s| (400..500).contains(&s) && s != 429)
}

/// Whether the homeserver refused the bot itself rather than the request:
/// a 401 (an expired or revoked token, a logged-out device) or an account
/// error (`M_UNKNOWN_TOKEN`, `M_MISSING_TOKEN`, `M_USER_LOCKED`,
/// `M_USER_SUSPENDED`, `M_USER_DEACTIVATED`). The session logs in again.
pub fn auth_failed(e: &matrix_sdk::Error) -> bool {
    use matrix_sdk::ruma::api::error::ErrorKind;
    let status = e.as_client_api_error().map(|a| a.status_code.as_u16());
    status == Some(401)
        || matches!(
            e.client_api_error_kind(),
            Some(
                ErrorKind::UnknownToken(_)
                    | ErrorKind::MissingToken
                    | ErrorKind::UserLocked
                    | ErrorKind::UserSuspended
                    | ErrorKind::UserDeactivated
            )
        )
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
    chat_rooms: Arc<ChatRooms>,
    state: crate::AppState,
    data_dir: PathBuf,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut delay = BACKOFF_MIN;
        loop {
            let ready = Arc::new(AtomicBool::new(false));
            let flag = ready.clone();
            // The session tells each channel's viewers it is live itself.
            let mut on_ready = move || flag.store(true, Ordering::Relaxed);
            let outcome = tokio::select! {
                r = session::run(&config, &hub, &data_dir, &thumbnails, &chat_rooms, &state, &mut on_ready) => r,
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
