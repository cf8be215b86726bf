//! One bridge session: log in, join the rooms, then sync until an error.
//!
//! Every sync response is processed in timeline order and its `next_batch`
//! saved ([`Position`]: the relay's SQLite, or Redis in clustered mode) only
//! after all its events are committed: a crash in between replays that
//! sync, and the origin ids stored with each event (in clustered mode also
//! remembered by Redis's ordering script) skip what was already applied. matrix-sdk keeps its own state (room
//! members, for display names, power levels, and its own copy of the sync
//! token, which is not used: the SDK saves it before the events are
//! committed) in its SQLite store under `DATA/matrix`.
//!
//! The first sync ever (no saved token) brings each room's last
//! `bridge_backfill` events, bridged like live chat. A later sync whose
//! timeline the homeserver cut (`limited`: more than [`TIMELINE_LIMIT`]
//! events since the last one, e.g. after an outage) is completed by
//! [`gap::Pager`], or the channel is told that messages are missing there.
//!
//! Four loops run side by side, and only the sync's failure (or a refused
//! login) ends the session:
//! - the sync (inbound chat), which sets each joined channel `live`;
//! - the [`Joiner`], which joins each room on its own: a room that cannot
//!   be joined leaves only its channel `down`, and is retried with backoff;
//! - the outbox ([`outbox::run`]): it restarts on its own after a failure
//!   (1 s doubling to 60 s), so an entry that keeps failing never stops
//!   inbound chat. When the homeserver refuses the bot's login (an expired
//!   or revoked token), the session ends and the next one logs in again;
//!   the queue is kept;
//! - the moderation executor ([`moderate::Executor`]): the moderation
//!   queue's tasks done in the rooms, retried with its own backoff.

use crate::bridge::apply::{apply, Member};
use crate::bridge::config::{MatrixAuth, MatrixConfig};
use crate::bridge::gap;
use crate::bridge::map::{avatar_uri, map_event, sender_marks, Mapped};
use crate::bridge::memory::Memory;
use crate::bridge::moderate;
use crate::bridge::mods_commands::Commands;
use crate::bridge::outbox::{self, OutboxError};
use crate::bridge::position::Position;
use crate::bridge::rooms::{Joined, Joiner};
use crate::bridge::shared_outbox;
use crate::bridge::thumbnails::Thumbnails;
use crate::directory::ChatRooms;
use crate::hub::Hub;
use crate::store;
use chyron_protocol::BridgeState;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::{SyncSettings, SyncToken};
use matrix_sdk::deserialized_responses::TimelineEvent;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::events::AnySyncTimelineEvent;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedUserId, RoomId, UInt, UserId};
use matrix_sdk::{Client, Room, SessionMeta, SessionTokens};
use std::path::Path;
use std::time::Duration;

/// The bridge's device id on the homeserver (reused by every login).
pub const DEVICE_ID: &str = "CHYRON";

/// Timeline events per room per sync. Synapse's default is 10, and a burst
/// beyond the limit comes back `limited` with the older events missing.
pub const TIMELINE_LIMIT: u32 = 200;

/// First wait before the outbox loop restarts after a failure.
const OUTBOX_BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest wait between two outbox loop restarts.
const OUTBOX_BACKOFF_MAX: Duration = Duration::from_secs(60);

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
    /// Redis (clustered mode) did not keep the sync token or the outbox.
    #[error("clustered bridge state: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
}

fn matrix(what: &str, e: impl std::fmt::Display) -> SessionError {
    SessionError::Matrix(format!("{what}: {e}"))
}

/// Runs one session until it fails. `on_ready` is called once the first
/// sync is processed (the retry backoff resets then).
pub async fn run(
    config: &MatrixConfig,
    hub: &Hub,
    data_dir: &Path,
    thumbnails: &Thumbnails,
    chat_rooms: &ChatRooms,
    state: &crate::AppState,
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
    let database = hub.store().call(store::identity::database_id).await?;
    let joined = Joined::default();
    let mut joiner = Joiner::new(&client, config, hub, &joined, chat_rooms);
    // One try of every room before the first sync, so it covers them.
    joiner.pass().await;
    thumbnails.set_client(Some(client.clone()));
    let commands = Commands::new(state.clone(), me.clone(), crate::hub::now_ms());
    let sync = Sync {
        client: &client,
        config,
        hub,
        me: &me,
        joined: &joined,
        commands: &commands,
    };
    let tasks = &state.moderation.tasks;
    let memory = Memory::new(hub.store(), state.cluster.as_ref(), me.as_str());
    let executor = moderate::Executor {
        client: &client,
        config,
        joined: &joined,
        tasks,
        store: hub.store(),
        memory: &memory,
    };
    tokio::select! {
        r = sync.run(on_ready) => r,
        never = joiner.run() => match never {},
        r = send_outbox(config, hub, &joined, &database) => r,
        r = executor.run() => match r {
            Err(why) => Err(matrix("moderation in Matrix", why)),
        },
    }
}

/// Runs the outbox, restarting it after a failure with its own backoff;
/// returns only when the homeserver refuses the bot's login.
async fn send_outbox(
    config: &MatrixConfig,
    hub: &Hub,
    joined: &Joined,
    database: &str,
) -> Result<(), SessionError> {
    let bridged: Vec<String> = config.rooms.iter().map(|r| r.channel.clone()).collect();
    let mut delay = OUTBOX_BACKOFF_MIN;
    loop {
        let mut sent = false;
        let Err(e) = match hub.cluster() {
            Some(cluster) => shared_outbox::run(cluster, hub, joined, &bridged, &mut sent).await,
            None => outbox::run(hub, joined, &bridged, database, &mut sent).await,
        };
        match e {
            OutboxError::Auth(why) => return Err(matrix("sending the outbox", why)),
            OutboxError::Retry(why) => {
                if sent {
                    delay = OUTBOX_BACKOFF_MIN;
                }
                tracing::warn!("matrix outbox: {why}; retrying in {} s", delay.as_secs());
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(OUTBOX_BACKOFF_MAX);
            }
        }
    }
}

/// The sync loop's fixed inputs.
struct Sync<'a> {
    /// The logged-in client.
    client: &'a Client,
    /// The settings (backfill, clear on kick).
    config: &'a MatrixConfig,
    /// Where events go.
    hub: &'a Hub,
    /// The bot, whose own events are skipped.
    me: &'a UserId,
    /// The rooms joined now, and their channels.
    joined: &'a Joined,
    /// The owners' moderators' rooms, whose commands it runs.
    commands: &'a Commands,
}

impl Sync<'_> {
    async fn run(&self, on_ready: &mut (dyn FnMut() + Send)) -> Result<(), SessionError> {
        let position = Position::new(self.hub, &self.config.homeserver, self.me);
        let mut token = position.load().await?;
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
                let Some(channel) = self.joined.channel(room_id) else {
                    self.commands(room_id, &update.timeline.events).await;
                    continue;
                };
                let channel = channel.as_str();
                let room = self.client.get_room(room_id);
                let timeline = &update.timeline;
                let fresh = self.joined.take_fresh(room_id);
                if let (true, Some(since), Some(room), Some(prev)) =
                    (timeline.limited, &token, &room, &timeline.prev_batch)
                {
                    // The homeserver cut this room's timeline: fetch what
                    // lies between our token and the timeline's start.
                    let mut pager = gap::Pager::new(room, channel, since, prev);
                    while let Some(page) = pager.next_page().await {
                        for raw in &page {
                            self.apply(channel, room_id, Some(room), raw).await?;
                        }
                    }
                    // A room joined after being out: viewers saw `down`
                    // while the bot was out, so only a failed fill is news.
                    let filled = pager.filled();
                    if filled.lost_some() && !(fresh && filled.complete) {
                        gap::tell_missing(self.hub, channel, since).await?;
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
                if let Some(channel) = self.joined.lose(room_id) {
                    tracing::warn!(%channel, %room_id, "matrix: the bot is no longer in the room; joining it again");
                    self.set_state(&channel, BridgeState::Down).await;
                }
            }
            for channel in self.joined.channels() {
                self.set_state(&channel, BridgeState::Live).await;
            }
            let next = response.next_batch;
            position.save(&next).await?;
            token = Some(next);
            if !ready {
                ready = true;
                tracing::info!(
                    rooms = self.joined.channels().len(),
                    "matrix: bridge is syncing"
                );
                on_ready();
            }
        }
    }

    /// Hands a moderators' room's events to [`Commands`] (other rooms'
    /// are left alone).
    async fn commands(&self, room_id: &RoomId, events: &[TimelineEvent]) {
        if events.is_empty() {
            return;
        }
        let (Some(owner), Some(room)) = (
            self.commands.owner_of(room_id).await,
            self.client.get_room(room_id),
        ) else {
            return;
        };
        let bridged: Vec<(String, Room)> = self
            .joined
            .channels()
            .into_iter()
            .filter_map(|c| self.joined.room(&c).map(|r| (c, r)))
            .collect();
        for event in events {
            self.commands
                .handle(&room, &owner, event.raw(), bridged.clone());
        }
    }

    /// Tells `channel`'s viewers its link state (a failure only logs).
    async fn set_state(&self, channel: &str, state: BridgeState) {
        if let Err(e) = self.hub.set_channel_bridge_state(channel, state).await {
            tracing::warn!(%channel, "matrix bridge: telling viewers the room is {state:?}: {e}");
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
        let mapped = sender_marks(mapped, raw);
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
        let levels = match (&mapped, room) {
            (Mapped::Delete { .. }, Some(room)) => room.power_levels().await.ok(),
            _ => None,
        };
        apply(self.hub, channel, mapped, &member, levels.as_ref()).await?;
        Ok(())
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
