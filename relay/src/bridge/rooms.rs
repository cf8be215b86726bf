//! Which bridged rooms the bot is in ([`Joined`]), and the [`Joiner`] that
//! gets it into the others.
//!
//! Each room is joined on its own: a room the bot is banned from, or an
//! alias that no longer exists, leaves that one channel `down` (its viewers
//! are told) and is tried again with its own backoff (1 s doubling to
//! [`JOIN_BACKOFF_MAX`]), while the other rooms flow. A room the bot leaves
//! or is removed from during the session is tried again the same way.

use crate::bridge::config::MatrixConfig;
use crate::bridge::guests;
use crate::directory::{ChatRooms, RoomEntry};
use crate::hub::Hub;
use chyron_protocol::BridgeState;
use matrix_sdk::ruma::{OwnedRoomId, RoomId};
use matrix_sdk::{Client, Room};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::RwLock;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// First wait before joining a room again.
const JOIN_BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest wait between two tries of one room.
pub const JOIN_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// The bridged rooms the bot is in now, shared by the sync loop, the outbox
/// and the joiner.
#[derive(Default)]
pub struct Joined {
    /// Both directions, under one lock so they always agree.
    maps: RwLock<Maps>,
    /// Woken when a room is lost, so the joiner tries it again at once.
    lost: Notify,
}

#[derive(Default)]
struct Maps {
    /// The channel of each joined room, for the sync loop.
    channels: HashMap<OwnedRoomId, String>,
    /// The room of each joined channel, for the outbox.
    rooms: HashMap<String, Room>,
    /// Channels shown `down` because their room could not be joined or was
    /// lost in this session.
    out: HashSet<String>,
    /// Rooms joined after being out, not yet seen in a sync: what was said
    /// while the bot was out is not a gap to report (viewers saw `down`).
    fresh: HashSet<OwnedRoomId>,
}

impl Joined {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that `channel`'s room is joined.
    pub fn insert(&self, channel: &str, room: Room) {
        let mut maps = self.write();
        if maps.out.remove(channel) {
            maps.fresh.insert(room.room_id().to_owned());
        }
        maps.channels
            .insert(room.room_id().to_owned(), channel.to_string());
        maps.rooms.insert(channel.to_string(), room);
    }

    /// The channel bridged to `room_id`, if the bot is in that room.
    pub fn channel(&self, room_id: &RoomId) -> Option<String> {
        self.read().channels.get(room_id).cloned()
    }

    /// The joined room of `channel`.
    pub fn room(&self, channel: &str) -> Option<Room> {
        self.read().rooms.get(channel).cloned()
    }

    /// The channels whose rooms are joined.
    pub fn channels(&self) -> Vec<String> {
        self.read().rooms.keys().cloned().collect()
    }

    /// Records that `channel`'s room could not be joined.
    fn mark_out(&self, channel: &str) {
        self.write().out.insert(channel.to_string());
    }

    /// Whether `room_id` was joined after being out and this is the first
    /// sync that shows it (true only once).
    pub fn take_fresh(&self, room_id: &RoomId) -> bool {
        self.write().fresh.remove(room_id)
    }

    /// Forgets a room the bot is no longer in; returns its channel.
    pub fn lose(&self, room_id: &RoomId) -> Option<String> {
        let channel = {
            let mut maps = self.write();
            let channel = maps.channels.remove(room_id)?;
            maps.rooms.remove(&channel);
            maps.fresh.remove(room_id);
            maps.out.insert(channel.clone());
            channel
        };
        self.lost.notify_one();
        Some(channel)
    }
}

/// Joins the configured rooms the bot is not in, each with its own backoff.
pub struct Joiner<'a> {
    /// The logged-in client.
    client: &'a Client,
    /// The rooms to bridge.
    config: &'a MatrixConfig,
    /// Where a failing channel's viewers are told.
    hub: &'a Hub,
    /// Filled as rooms are joined.
    joined: &'a Joined,
    /// Per failing channel: when to try next, and the wait after that.
    retry: HashMap<String, (Instant, Duration)>,
    /// Where each joined room is published for the full chat.
    chat_rooms: &'a ChatRooms,
}

impl<'a> Joiner<'a> {
    pub fn new(
        client: &'a Client,
        config: &'a MatrixConfig,
        hub: &'a Hub,
        joined: &'a Joined,
        chat_rooms: &'a ChatRooms,
    ) -> Self {
        Joiner {
            client,
            config,
            hub,
            joined,
            retry: HashMap::new(),
            chat_rooms,
        }
    }

    /// Tries every room that is not joined and due; returns when the next
    /// try is due, if any room is still out.
    pub async fn pass(&mut self) -> Option<Instant> {
        for bridge in &self.config.rooms {
            let channel = &bridge.channel;
            if self.joined.room(channel).is_some() {
                self.retry.remove(channel);
                continue;
            }
            let now = Instant::now();
            let (due, delay) = *self
                .retry
                .entry(channel.clone())
                .or_insert((now, JOIN_BACKOFF_MIN));
            if due > now {
                continue;
            }
            match self
                .client
                .join_room_by_id_or_alias(&bridge.room, &[])
                .await
            {
                Ok(room) => {
                    tracing::info!(%channel, room = %bridge.room, room_id = %room.room_id(), "matrix: joined");
                    let guests_can_post = guests::open_to_guests(self.client, &room, channel).await;
                    self.chat_rooms.set(
                        channel,
                        RoomEntry {
                            room_id: room.room_id().to_string(),
                            alias: bridge
                                .room
                                .is_room_alias_id()
                                .then(|| bridge.room.to_string()),
                            guests_can_post,
                        },
                    );
                    self.joined.insert(channel, room);
                    self.retry.remove(channel);
                }
                Err(e) => {
                    tracing::warn!(%channel, room = %bridge.room, "matrix: joining failed, retrying in {} s: {e}", delay.as_secs());
                    self.joined.mark_out(channel);
                    if let Err(e) = self
                        .hub
                        .set_channel_bridge_state(channel, BridgeState::Down)
                        .await
                    {
                        tracing::warn!(%channel, "matrix: telling viewers the room is down: {e}");
                    }
                    let next = (delay * 2).min(JOIN_BACKOFF_MAX);
                    self.retry.insert(channel.clone(), (now + delay, next));
                }
            }
        }
        self.retry.values().map(|(due, _)| *due).min()
    }

    /// Keeps the rooms joined for the rest of the session.
    pub async fn run(mut self) -> Infallible {
        loop {
            match self.pass().await {
                Some(due) => tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    _ = self.joined.lost.notified() => {}
                },
                None => self.joined.lost.notified().await,
            }
        }
    }
}
