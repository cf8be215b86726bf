//! One bridge session: log in, join the rooms, then sync until an error.
//!
//! Every sync response is processed in timeline order and its `next_batch`
//! saved in the relay's SQLite only after all its events are committed: a
//! crash in between replays that sync, and the origin ids stored with each
//! event skip what was already applied. matrix-sdk keeps its own state (room
//! members, for display names, and its own copy of the sync token, which is
//! not used: the SDK saves it before the events are committed) in its SQLite
//! store under `DATA/matrix`.
//!
//! The first sync ever (no saved token) brings each room's recent timeline
//! (up to [`TIMELINE_LIMIT`] events), which is bridged like live chat.

use crate::bridge::apply::apply;
use crate::bridge::config::{MatrixAuth, MatrixConfig};
use crate::bridge::map::{map_event, Mapped};
use crate::hub::Hub;
use crate::store;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::{SyncSettings, SyncToken};
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::events::AnySyncTimelineEvent;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId, UInt};
use matrix_sdk::{Client, SessionMeta, SessionTokens};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// The bridge's device id on the homeserver (reused by every login).
pub const DEVICE_ID: &str = "CHYRON";

/// Timeline events per room per sync. Synapse's default is 10, and a burst
/// beyond the limit comes back `limited` with the older events missing.
pub const TIMELINE_LIMIT: u32 = 200;

/// How long one `/sync` long-poll waits for new events.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a session ended; the caller retries after a backoff.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The homeserver, login, join or sync failed.
    #[error("{0}")]
    Matrix(String),
    /// Committing a bridged event failed.
    #[error("storing a bridged event: {0}")]
    Hub(#[from] crate::hub::HubError),
    /// Reading or saving the sync token failed.
    #[error("storing the sync token: {0}")]
    Store(#[from] store::StoreError),
}

fn matrix(what: &str, e: impl std::fmt::Display) -> SessionError {
    SessionError::Matrix(format!("{what}: {e}"))
}

/// Runs one session until it fails. `on_ready` is called once the rooms are
/// joined and the first sync is processed (the retry backoff resets then).
pub async fn run(
    config: &MatrixConfig,
    hub: &Hub,
    data_dir: &Path,
    on_ready: &mut (dyn FnMut() + Send),
) -> Result<(), SessionError> {
    let client = Client::builder()
        .homeserver_url(&config.homeserver)
        .sqlite_store(data_dir.join("matrix"), None)
        .build()
        .await
        .map_err(|e| matrix("matrix client", e))?;
    log_in(&client, config).await?;
    let me: OwnedUserId = client
        .user_id()
        .ok_or_else(|| matrix("login", "no user id"))?
        .to_owned();
    let mut channels: HashMap<OwnedRoomId, String> = HashMap::new();
    for bridge in &config.rooms {
        let room = client
            .join_room_by_id_or_alias(&bridge.room, &[])
            .await
            .map_err(|e| matrix(&format!("joining {}", bridge.room), e))?;
        tracing::info!(channel = %bridge.channel, room = %bridge.room, room_id = %room.room_id(), "matrix: joined");
        channels.insert(room.room_id().to_owned(), bridge.channel.clone());
    }
    let key = format!("matrix.sync_token {} {}", config.homeserver, me);
    let mut token = {
        let key = key.clone();
        hub.store()
            .call(move |c| store::get_setting(c, &key))
            .await?
    };
    let mut filter = FilterDefinition::default();
    filter.room.timeline.limit = Some(UInt::from(TIMELINE_LIMIT));
    let mut ready = false;
    loop {
        // Our token, never the SDK's own (saved before we commit the
        // events): with none, the sync starts over and dedupe skips repeats.
        let since = match &token {
            Some(t) => SyncToken::Specific(t.clone()),
            None => SyncToken::NoToken,
        };
        let settings = SyncSettings::default()
            .filter(filter.clone().into())
            .timeout(SYNC_TIMEOUT)
            .token(since);
        let response = client
            .sync_once(settings)
            .await
            .map_err(|e| matrix("sync", e))?;
        for (room_id, update) in &response.rooms.joined {
            let Some(channel) = channels.get(room_id) else {
                continue;
            };
            if update.timeline.limited && token.is_some() {
                tracing::warn!(%channel, %room_id, "matrix: the homeserver cut a sync short (limited timeline); older events of that burst are not bridged");
            }
            let room = client.get_room(room_id);
            for event in &update.timeline.events {
                let ev: AnySyncTimelineEvent = match event.raw().deserialize() {
                    Ok(ev) => ev,
                    Err(e) => {
                        let id = event.event_id();
                        tracing::warn!(%channel, event_id = ?id, "matrix: dropped an event it cannot read: {e}");
                        continue;
                    }
                };
                let mapped = map_event(&ev, &me, config.clear_on_kick);
                let name = match (&mapped, &room) {
                    (Mapped::Post { sender, .. } | Mapped::Edit { sender, .. }, Some(room)) => {
                        match room.get_member_no_sync(sender).await {
                            Ok(Some(m)) => m.display_name().map(str::to_string),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                apply(hub, channel, mapped, name.as_deref()).await?;
            }
        }
        for room_id in response.rooms.left.keys() {
            if let Some(channel) = channels.get(room_id) {
                tracing::warn!(%channel, %room_id, "matrix: the bot is no longer in the room");
            }
        }
        let next = response.next_batch;
        {
            let (key, next) = (key.clone(), next.clone());
            hub.store()
                .call(move |c| store::set_setting(c, &key, &next))
                .await?;
        }
        token = Some(next);
        if !ready {
            ready = true;
            tracing::info!(rooms = channels.len(), "matrix: bridge is syncing");
            on_ready();
        }
    }
}

async fn log_in(client: &Client, config: &MatrixConfig) -> Result<(), SessionError> {
    match &config.auth {
        MatrixAuth::Password(password) => {
            client
                .matrix_auth()
                .login_username(config.user.as_str(), password.expose())
                .device_id(DEVICE_ID)
                .initial_device_display_name("Chyron bridge")
                .send()
                .await
                .map_err(|e| matrix(&format!("logging in as {}", config.user), e))?;
        }
        MatrixAuth::Token(token) => {
            let session = MatrixSession {
                meta: SessionMeta {
                    user_id: config.user.clone(),
                    device_id: DEVICE_ID.into(),
                },
                tokens: SessionTokens {
                    access_token: token.expose().to_string(),
                    refresh_token: None,
                },
            };
            client
                .restore_session(session)
                .await
                .map_err(|e| matrix("restoring the session", e))?;
            let who = client
                .whoami()
                .await
                .map_err(|e| matrix(&format!("checking the token of {}", config.user), e))?;
            if who.user_id != config.user {
                return Err(matrix(
                    "the access token",
                    format!("belongs to {}, not {}", who.user_id, config.user),
                ));
            }
        }
    }
    tracing::info!(user = %config.user, "matrix: logged in");
    Ok(())
}
