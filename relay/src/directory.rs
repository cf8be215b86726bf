//! `GET /chat/channels`: the channels this relay offers publicly and what the
//! full chat needs to join each one's conversation (homeserver, room, whether
//! guests may post, rules), so an embed needs no Matrix configuration.
//!
//! The titles and rules come from the configuration ([`crate::config::chat`]);
//! the rooms from the bridge, which records each room here once it has
//! joined it ([`ChatRooms`]); the DJs live on each from [`crate::live`]. The answer is anonymous, public and cacheable:
//! `Access-Control-Allow-Origin: *`, a few seconds' `Cache-Control`, and the
//! per-address limit of the other anonymous endpoints.

use crate::cluster::records::RoomRecord;
use crate::cluster::Cluster;
use crate::error::ApiError;
use crate::live::LiveMap;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chyron_protocol::{ChannelInfo, ChatRoom, Directory};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How long browsers and proxies may reuse an answer, in seconds.
pub const MAX_AGE_SECS: u32 = 5;

/// A bridged room as the chat needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEntry {
    /// The room id the bot joined.
    pub room_id: String,
    /// The alias the channel was configured with, if it was one.
    pub alias: Option<String>,
    /// Whether guests may join and post there.
    pub guests_can_post: bool,
}

/// The bridged rooms the bot is in, per channel: written by the bridge,
/// read by the directory. An entry stays while the link is down or the bot
/// is out of the room (the room is still there for viewers to post in) and
/// is renewed whenever the bot joins it again.
///
/// In clustered mode only the node running the Matrix link joins rooms:
/// [`share_rooms`] copies what it records into Redis, and every node's
/// directory reads them from there ([`shared`]).
#[derive(Debug, Default)]
pub struct ChatRooms {
    /// Channel → its room.
    rooms: RwLock<HashMap<String, RoomEntry>>,
    /// Woken on each change, for [`share_rooms`].
    changed: Notify,
    /// Clustered mode: Redis's last answer (live DJs, rooms), served while
    /// Redis cannot be reached.
    last_shared: Mutex<Option<SharedView>>,
}

/// What the directory reads from Redis in clustered mode.
type SharedView = (LiveMap, Vec<(String, RoomRecord)>);

impl ChatRooms {
    /// Records `channel`'s room.
    pub fn set(&self, channel: &str, entry: RoomEntry) {
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        rooms.insert(channel.to_string(), entry);
        self.changed.notify_one();
    }

    /// `channel`'s room, if the bot is in it.
    pub fn get(&self, channel: &str) -> Option<RoomEntry> {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms.get(channel).cloned()
    }

    /// Every channel's room recorded here.
    pub fn all(&self) -> HashMap<String, RoomEntry> {
        self.rooms.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Clustered mode: copies the rooms this node's bridge records into Redis,
/// after each change (and again after a failure, every second), until
/// `stop` turns `true`.
pub async fn share_rooms(
    rooms: Arc<ChatRooms>,
    cluster: Arc<Cluster>,
    mut stop: watch::Receiver<bool>,
) {
    let mut shared: HashMap<String, RoomEntry> = HashMap::new();
    loop {
        let mut failed = false;
        for (channel, entry) in rooms.all() {
            if shared.get(&channel) == Some(&entry) {
                continue;
            }
            let record = RoomRecord {
                room_id: entry.room_id.clone(),
                alias: entry.alias.clone(),
                guests_can_post: entry.guests_can_post,
            };
            match cluster.set_room(&channel, &record).await {
                Ok(()) => {
                    shared.insert(channel, entry);
                }
                Err(e) => {
                    tracing::warn!(channel, "sharing the bridged room in redis: {e}");
                    failed = true;
                }
            }
        }
        let retry = tokio::time::sleep(if failed {
            Duration::from_secs(1)
        } else {
            Duration::MAX / 4
        });
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = rooms.changed.notified() => {}
            _ = retry => {}
        }
    }
}

/// The directory as it stands: public channels in order, the first main,
/// with `live` (channel → its live DJs) and `rooms` (channel → its room).
pub fn directory(
    state: &AppState,
    live: &LiveMap,
    rooms: &HashMap<String, RoomEntry>,
) -> Directory {
    let config = &state.config;
    let homeserver = config
        .chat
        .public_homeserver
        .clone()
        .or_else(|| config.matrix.as_ref().map(|m| m.homeserver.clone()));
    let public = config.chat.public(config.matrix.as_ref());
    let channels = public.iter().enumerate();
    Directory {
        channels: channels
            .map(|(i, channel)| {
                let meta = config.chat.channels.get(channel);
                let matrix = homeserver.as_ref().and_then(|hs| {
                    rooms.get(channel).cloned().map(|r| ChatRoom {
                        homeserver: hs.clone(),
                        room_id: r.room_id,
                        alias: r.alias,
                        guests_can_post: r.guests_can_post,
                    })
                });
                ChannelInfo {
                    channel: channel.clone(),
                    title: meta
                        .and_then(|m| m.title.clone())
                        .unwrap_or_else(|| channel.clone()),
                    main: i == 0,
                    matrix,
                    rules: meta.and_then(|m| m.rules.clone()),
                    live: live.get(channel).cloned().unwrap_or_default(),
                }
            })
            .collect(),
    }
}

/// `GET /chat/channels`.
pub async fn handler(State(state): State<AppState>) -> Response {
    let (live, rooms) = match shared(&state).await {
        Ok(view) => view,
        Err(e) => return e.into_response(),
    };
    let body = serde_json::to_vec(&directory(&state, &live, &rooms)).unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_string()),
            (
                header::CACHE_CONTROL,
                format!("public, max-age={MAX_AGE_SECS}"),
            ),
        ],
        body,
    )
        .into_response()
}

/// What every node must agree on: the live DJs and the bridged rooms. Alone,
/// from this process; in clustered mode from Redis (rooms this node's bridge
/// recorded win), and while Redis cannot be reached, the last answer it
/// gave, so the chat keeps opening (the directory's `Cache-Control` already
/// allows a few seconds' staleness).
async fn shared(state: &AppState) -> Result<(LiveMap, HashMap<String, RoomEntry>), ApiError> {
    let mut rooms = state.chat_rooms.all();
    let Some(cluster) = &state.cluster else {
        let live = state
            .live
            .all()
            .await
            .map_err(|e| ApiError::internal("live DJs", e))?;
        return Ok((live, rooms));
    };
    let fresh = async {
        let live = state.live.all().await?;
        let shared = cluster.rooms().await?;
        Ok::<_, crate::live::LiveError>((live, shared))
    };
    let (live, shared) = match fresh.await {
        Ok(view) => {
            let last = state.chat_rooms.last_shared.lock();
            *last.unwrap_or_else(|e| e.into_inner()) = Some(view.clone());
            view
        }
        Err(e) => {
            let last = state.chat_rooms.last_shared.lock();
            let last = last.unwrap_or_else(|e| e.into_inner()).clone();
            tracing::warn!("directory from redis: {e}; serving its last answer");
            last.ok_or_else(|| crate::live::live_error(e))?
        }
    };
    for (channel, r) in shared {
        rooms.entry(channel).or_insert(RoomEntry {
            room_id: r.room_id,
            alias: r.alias,
            guests_can_post: r.guests_can_post,
        });
    }
    Ok((live, rooms))
}
