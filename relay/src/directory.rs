//! `GET /chat/channels`: the channels this relay offers publicly and what the
//! full chat needs to join each one's conversation (homeserver, room, whether
//! guests may post, rules), so an embed needs no Matrix configuration.
//!
//! The titles and rules come from the configuration ([`crate::config::chat`]);
//! the rooms from the bridge, which records each room here once it has
//! joined it ([`ChatRooms`]); the DJs live on each from [`crate::live`]. The answer is anonymous, public and cacheable:
//! `Access-Control-Allow-Origin: *`, a few seconds' `Cache-Control`, and the
//! per-address limit of the other anonymous endpoints.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chyron_protocol::{ChannelInfo, ChatRoom, Directory, LiveDj};
use std::collections::HashMap;
use std::sync::RwLock;

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
#[derive(Debug, Default)]
pub struct ChatRooms {
    /// Channel → its room.
    rooms: RwLock<HashMap<String, RoomEntry>>,
}

impl ChatRooms {
    /// Records `channel`'s room.
    pub fn set(&self, channel: &str, entry: RoomEntry) {
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        rooms.insert(channel.to_string(), entry);
    }

    /// `channel`'s room, if the bot is in it.
    pub fn get(&self, channel: &str) -> Option<RoomEntry> {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms.get(channel).cloned()
    }
}

/// The directory as it stands: public channels in order, the first main,
/// with `live` (channel → its live DJs).
pub fn directory(state: &AppState, live: &HashMap<String, Vec<LiveDj>>) -> Directory {
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
                    state.chat_rooms.get(channel).map(|r| ChatRoom {
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
    let live = match state.live.all().await {
        Ok(live) => live,
        Err(e) => return ApiError::internal("live DJs", e).into_response(),
    };
    let body = serde_json::to_vec(&directory(&state, &live)).unwrap_or_default();
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
