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
//! The first sync ever (no saved token) brings each room's last
//! `bridge_backfill` events, bridged like live chat. A later sync whose
//! timeline the homeserver cut (`limited`: more than [`TIMELINE_LIMIT`]
//! events since the last one, e.g. after an outage) is completed by
//! paginating back from the timeline's start to our token, so nothing said
//! meanwhile is skipped.
//!
//! Beside the sync loop runs the outbox ([`outbox::run`]): changes made
//! through the relay go to the rooms. Either failing ends the session.

use crate::bridge::apply::{apply, Member};
use crate::bridge::config::{MatrixAuth, MatrixConfig};
use crate::bridge::map::{avatar_uri, map_event, Mapped};
use crate::bridge::outbox;
use crate::bridge::thumbnails::Thumbnails;
use crate::hub::Hub;
use crate::store;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::{SyncSettings, SyncToken};
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::events::AnySyncTimelineEvent;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId, RoomId, UInt, UserId};
use matrix_sdk::{Client, Room, SessionMeta, SessionTokens};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// The bridge's device id on the homeserver (reused by every login).
pub const DEVICE_ID: &str = "CHYRON";

/// Timeline events per room per sync. Synapse's default is 10, and a burst
/// beyond the limit comes back `limited` with the older events missing.
pub const TIMELINE_LIMIT: u32 = 200;

/// Pages of history fetched to fill one limited sync's gap.
const GAP_PAGES: usize = 10;
/// Events per page when filling a gap.
const GAP_PAGE_SIZE: u32 = 100;

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
    thumbnails: &Thumbnails,
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
    let mut rooms: HashMap<String, Room> = HashMap::new();
    for bridge in &config.rooms {
        let room = client
            .join_room_by_id_or_alias(&bridge.room, &[])
            .await
            .map_err(|e| matrix(&format!("joining {}", bridge.room), e))?;
        tracing::info!(channel = %bridge.channel, room = %bridge.room, room_id = %room.room_id(), "matrix: joined");
        channels.insert(room.room_id().to_owned(), bridge.channel.clone());
        rooms.insert(bridge.channel.clone(), room);
    }
    thumbnails.set_client(Some(client.clone()));
    let sync = Sync {
        client: &client,
        config,
        hub,
        me: &me,
        channels: &channels,
    };
    tokio::select! {
        r = sync.run(on_ready) => r,
        r = outbox::run(hub, &rooms) => {
            let Err(why) = r;
            Err(SessionError::Matrix(why))
        }
    }
}

/// The sync loop's fixed inputs.
struct Sync<'a> {
    client: &'a Client,
    config: &'a MatrixConfig,
    hub: &'a Hub,
    me: &'a UserId,
    channels: &'a HashMap<OwnedRoomId, String>,
}

impl Sync<'_> {
    async fn run(&self, on_ready: &mut (dyn FnMut() + Send)) -> Result<(), SessionError> {
        let key = format!("matrix.sync_token {} {}", self.config.homeserver, self.me);
        let mut token = {
            let key = key.clone();
            self.hub
                .store()
                .call(move |c| store::get_setting(c, &key))
                .await?
        };
        let mut ready = false;
        loop {
            // Our token, never the SDK's own (saved before we commit the
            // events): with none, the sync starts over and dedupe skips repeats.
            // The very first sync brings only the last `backfill` events.
            let (since, limit) = match &token {
                Some(t) => (SyncToken::Specific(t.clone()), TIMELINE_LIMIT),
                None => (SyncToken::NoToken, self.config.backfill.max(1)),
            };
            let mut filter = FilterDefinition::default();
            filter.room.timeline.limit = Some(UInt::from(limit));
            let settings = SyncSettings::default()
                .filter(filter.into())
                .timeout(SYNC_TIMEOUT)
                .token(since);
            let response = self
                .client
                .sync_once(settings)
                .await
                .map_err(|e| matrix("sync", e))?;
            for (room_id, update) in &response.rooms.joined {
                let Some(channel) = self.channels.get(room_id) else {
                    continue;
                };
                let room = self.client.get_room(room_id);
                let timeline = &update.timeline;
                if let (true, Some(since), Some(room), Some(prev)) =
                    (timeline.limited, &token, &room, &timeline.prev_batch)
                {
                    // The homeserver cut this room's timeline: fetch what
                    // lies between our token and the timeline's start.
                    for raw in gap(room, channel, prev, since).await {
                        self.apply(channel, room_id, Some(room), &raw).await?;
                    }
                }
                if token.is_none() && self.config.backfill == 0 {
                    continue;
                }
                for event in &timeline.events {
                    self.apply(channel, room_id, room.as_ref(), event.raw())
                        .await?;
                }
            }
            for room_id in response.rooms.left.keys() {
                if let Some(channel) = self.channels.get(room_id) {
                    tracing::warn!(%channel, %room_id, "matrix: the bot is no longer in the room");
                }
            }
            let next = response.next_batch;
            {
                let (key, next) = (key.clone(), next.clone());
                self.hub
                    .store()
                    .call(move |c| store::set_setting(c, &key, &next))
                    .await?;
            }
            token = Some(next);
            if !ready {
                ready = true;
                tracing::info!(rooms = self.channels.len(), "matrix: bridge is syncing");
                on_ready();
            }
        }
    }

    /// Maps and applies one timeline event of `channel`.
    async fn apply(
        &self,
        channel: &str,
        room_id: &RoomId,
        room: Option<&Room>,
        raw: &Raw<AnySyncTimelineEvent>,
    ) -> Result<(), SessionError> {
        let ev: AnySyncTimelineEvent = match raw.deserialize() {
            Ok(ev) => ev,
            Err(e) => {
                let id = raw.get_field::<String>("event_id").ok().flatten();
                tracing::warn!(%channel, %room_id, event_id = ?id, "matrix: dropped an event it cannot read: {e}");
                return Ok(());
            }
        };
        let mapped = map_event(&ev, self.me, self.config.clear_on_kick);
        let member = match (&mapped, room) {
            (Mapped::Post { sender, .. } | Mapped::Edit { sender, .. }, Some(room)) => {
                match room.get_member_no_sync(sender).await {
                    Ok(Some(m)) => Member {
                        name: m.display_name().map(str::to_string),
                        avatar: avatar_uri(m.avatar_url()),
                    },
                    _ => Member::default(),
                }
            }
            _ => Member::default(),
        };
        apply(self.hub, channel, mapped, &member).await?;
        Ok(())
    }
}

/// The events of a cut (`limited`) timeline between our token `since` and
/// the timeline's start `prev`, oldest first, at most [`GAP_PAGES`] pages.
/// A failure is logged and what was fetched is returned: the live timeline
/// must not wait on history.
async fn gap(
    room: &Room,
    channel: &str,
    prev: &str,
    since: &str,
) -> Vec<Raw<AnySyncTimelineEvent>> {
    let mut events = Vec::new();
    let mut from = prev.to_string();
    for _ in 0..GAP_PAGES {
        let mut options = MessagesOptions::backward().from(from.as_str());
        options.to = Some(since.to_string());
        options.limit = UInt::from(GAP_PAGE_SIZE);
        match room.messages(options).await {
            Ok(page) => {
                let empty = page.chunk.is_empty();
                events.extend(page.chunk.into_iter().map(|e| e.into_raw()));
                match page.end {
                    Some(end) if !empty => from = end,
                    _ => break,
                }
            }
            Err(e) => {
                tracing::warn!(%channel, "matrix: fetching the events a limited sync left out failed: {e}");
                break;
            }
        }
    }
    tracing::info!(%channel, events = events.len(), "matrix: filled the gap of a limited sync");
    events.reverse();
    events
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
