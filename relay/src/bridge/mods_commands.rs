//! Commands typed in an owner's moderators' room (the rooms the bot made,
//! remembered in `settings` as `modroom:{owner}`): the sync hands each
//! message there to [`Commands::handle`], which parses it
//! ([`super::mods_parse`]) and runs it through the same functions as the
//! HTTP API with the sender's Matrix ID as the actor, so the same role
//! checks, limits and log apply (a refused attempt is logged as one). The
//! bot answers each command with an `m.notice` in reply to it.
//!
//! Never acted on: the bot's own messages, edits, notices, and anything
//! sent before this bridge session started (a replayed sync).

use super::mods_parse::{parse, Action, Command, HELP};
use crate::bridge::memory::Memory;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::moderation::session::Actor;
use crate::moderation::{actions, owned, reads, roles};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use matrix_sdk::ruma::events::room::message::{MessageType, Relation};
use matrix_sdk::ruma::events::{AnySyncMessageLikeEvent, AnySyncTimelineEvent};
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId, RoomId};
use matrix_sdk::Room;
use matrix_sdk::RoomMemberships;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

/// What the sync needs to run moderators' commands.
pub struct Commands {
    /// The relay, whose moderation functions the commands call.
    pub state: AppState,
    /// The bot: its own messages are never commands.
    pub me: OwnedUserId,
    /// When this session started (ms): older messages are a replay.
    pub started: i64,
    /// Where the moderators' rooms are remembered (`modroom:{owner}`).
    memory: Memory,
    /// The moderators' rooms known so far → their owner (re-read from
    /// `memory` when an unknown room speaks).
    rooms: Mutex<HashMap<OwnedRoomId, String>>,
}

/// One command to run: where, who, what.
struct Job {
    state: AppState,
    room: Room,
    owner: String,
    sender: String,
    event_id: String,
    body: String,
    /// The bridged rooms by channel, to find a `@name` among members.
    bridged: Vec<(String, Room)>,
}

impl Commands {
    /// Commands for a session of `me` that started at `started` ms.
    pub fn new(state: AppState, me: OwnedUserId, started: i64) -> Commands {
        let memory = Memory::new(state.hub.store(), state.cluster.as_ref(), me.as_str());
        Commands {
            state,
            me,
            started,
            memory,
            rooms: Mutex::default(),
        }
    }

    /// The owner whose moderators' room `room_id` is, if it is one.
    pub async fn owner_of(&self, room_id: &RoomId) -> Option<String> {
        if let Some(owner) = self.known(room_id) {
            return Some(owner);
        }
        let all = self.memory.with_prefix("modroom:").await;
        let all = all.map_err(|e| tracing::warn!("reading the moderators' rooms: {e}"));
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        for (owner, id) in all.ok()? {
            if let Ok(id) = OwnedRoomId::try_from(id) {
                rooms.insert(id, owner);
            }
        }
        rooms.get(room_id).cloned()
    }

    fn known(&self, room_id: &RoomId) -> Option<String> {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.get(room_id).cloned()
    }

    /// Looks at one timeline event of `owner`'s moderators' room; a
    /// command in it is run on its own task (an action may wait seconds
    /// for the bot's Matrix work), so the sync goes on.
    pub fn handle(
        &self,
        room: &Room,
        owner: &str,
        raw: &Raw<AnySyncTimelineEvent>,
        bridged: Vec<(String, Room)>,
    ) {
        let Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(event))) =
            raw.deserialize()
        else {
            return;
        };
        let Some(event) = event.as_original() else {
            return;
        };
        let ts = i64::from(event.origin_server_ts.get());
        if event.sender == self.me || ts < self.started {
            return;
        }
        if matches!(event.content.relates_to, Some(Relation::Replacement(_))) {
            return;
        }
        let MessageType::Text(text) = &event.content.msgtype else {
            return;
        };
        if parse(&text.body).is_none() {
            return;
        }
        let job = Job {
            state: self.state.clone(),
            room: room.clone(),
            owner: owner.to_string(),
            sender: event.sender.to_string(),
            event_id: event.event_id.to_string(),
            body: text.body.clone(),
            bridged,
        };
        tokio::spawn(job.run());
    }
}

impl Job {
    async fn run(self) {
        let answer = match parse(&self.body) {
            None => return,
            Some(Err(why)) => why,
            Some(Ok(command)) => self.execute(command).await.unwrap_or_else(|why| why),
        };
        tracing::info!(
            owner = self.owner,
            sender = self.sender,
            "moderators' room command"
        );
        let content = json!({
            "msgtype": "m.notice",
            "body": answer,
            "m.relates_to": {"m.in_reply_to": {"event_id": self.event_id}},
        });
        if let Err(e) = self.room.send_raw("m.room.message", content).await {
            tracing::warn!(
                owner = self.owner,
                "answering a moderators' room command: {e}"
            );
        }
    }

    /// Runs `command`; the answer, or the sentence saying why not.
    async fn execute(&self, command: Command) -> Result<String, String> {
        let user_ref = match &command.action {
            Action::Help => return Ok(HELP.to_string()),
            Action::Timeout { user, .. } | Action::Ban { user, .. } | Action::Mod { user, .. } => {
                user.clone()
            }
            Action::Untimeout(u) | Action::Unban(u) | Action::Unmod(u) | Action::Karma(u) => {
                u.clone()
            }
        };
        let (command, channel) = match self.channel(command.channel.as_deref()).await {
            Ok(channel) => (command, channel),
            // “… spamming in chat”: no channel of theirs, so part of the
            // reason, when the owner's one channel is then meant.
            Err(why) => match command.in_reason() {
                Some(as_reason) => match self.channel(None).await {
                    Ok(channel) => (as_reason, channel),
                    Err(_) => return Err(why),
                },
                None => return Err(why),
            },
        };
        let user = self.resolve(&channel, &user_ref).await?;
        let state = || State(self.state.clone());
        let actor = || Actor::User(self.sender.clone());
        let on = || ApiPath((channel.clone(), user.clone()));
        let said = |r: Result<Json<Value>, ApiError>| r.map(|Json(v)| v).map_err(|e| e.message);
        let matrix = |v: &Value| v["matrix"].as_str().unwrap_or("not_bridged").to_string();
        let done = match command.action {
            Action::Help => unreachable!("answered above"),
            Action::Timeout {
                seconds, reason, ..
            } => {
                let body = body(json!({"user_id": user, "seconds": seconds, "reason": reason}))?;
                let v = said(
                    actions::time_out(actor(), state(), ApiPath(channel.clone()), body).await,
                )?;
                let minutes = (v["seconds"].as_i64().unwrap_or(0) + 59) / 60;
                let again = if v["extended"] == true {
                    " (extended)"
                } else {
                    ""
                };
                format!(
                    "Timed out {user} for {minutes} min{again} (karma {}); in Matrix: {}",
                    v["karma"],
                    matrix(&v)
                )
            }
            Action::Untimeout(_) => {
                let v = said(actions::lift_timeout(actor(), state(), on()).await)?;
                format!("Lifted {user}'s timeout; in Matrix: {}", matrix(&v))
            }
            Action::Ban { reason, .. } => {
                let body = body(json!({"user_id": user, "reason": reason}))?;
                let v = said(actions::ban(actor(), state(), ApiPath(channel.clone()), body).await)?;
                format!("Banned {user} from {channel}; in Matrix: {}", matrix(&v))
            }
            Action::Unban(_) => {
                let v = said(actions::unban(actor(), state(), on()).await)?;
                format!("Unbanned {user} in {channel}; in Matrix: {}", matrix(&v))
            }
            Action::Mod { event_secs, .. } => {
                let b = match event_secs {
                    Some(secs) => {
                        let until = crate::hub::now_ms() + secs * 1000;
                        json!({"scope": "event", "until": until})
                    }
                    None => json!({"scope": "general", "owner": self.owner}),
                };
                said(roles::appoint(actor(), state(), on(), body(b)?).await)?;
                match event_secs {
                    Some(secs) => {
                        format!("{user} moderates {channel} for the next {} min", secs / 60)
                    }
                    None => format!("{user} moderates every channel of {}", self.owner),
                }
            }
            Action::Unmod(_) => {
                said(roles::dismiss(actor(), state(), on()).await)?;
                format!("{user} no longer moderates {channel}")
            }
            Action::Karma(_) => {
                let v = said(reads::user(actor(), state(), on()).await)?;
                format!(
                    "{user} in {channel}: karma {}, next timeout {} s{}{}",
                    v["karma"],
                    v["suggested_seconds"],
                    if v["timeout"].is_object() {
                        ", timed out now"
                    } else {
                        ""
                    },
                    if v["banned"] == true { ", banned" } else { "" },
                )
            }
        };
        Ok(done)
    }

    /// The channel a command is for: the one named, or the owner's only one.
    async fn channel(&self, named: Option<&str>) -> Result<String, String> {
        let mine = owned::channels_of(&self.state, &self.owner).await;
        let mine = mine.map_err(|e| format!("Cannot read the channels now: {e}"))?;
        let list = mine.join(", ");
        match (named, mine.as_slice()) {
            (Some(c), _) if mine.iter().any(|m| m == c) => Ok(c.to_string()),
            (Some(c), _) => Err(format!(
                "{} owns no channel “{}”; theirs: {list}.",
                self.owner,
                c.chars().take(40).collect::<String>()
            )),
            (None, [only]) => Ok(only.clone()),
            (None, []) => Err(format!("{} owns no channel here.", self.owner)),
            (None, _) => Err(format!("Which channel? Add “in <channel>”: {list}.")),
        }
    }

    /// A full Matrix ID as given; a bare name (`@ray`) → the one member of
    /// the channel's bridged room or this room whose ID starts `@ray:`.
    async fn resolve(&self, channel: &str, user: &str) -> Result<String, String> {
        if user.contains(':') {
            return Ok(user.to_string());
        }
        let prefix = format!("{}:", user.to_lowercase());
        let mut rooms: Vec<&Room> = self
            .bridged
            .iter()
            .filter(|(c, _)| c == channel)
            .map(|(_, r)| r)
            .collect();
        rooms.push(&self.room);
        let mut found: Vec<String> = Vec::new();
        for room in rooms {
            let members = room.members_no_sync(RoomMemberships::all()).await;
            for m in members.unwrap_or_default() {
                let id = m.user_id().to_string();
                if id.to_lowercase().starts_with(&prefix) && !found.contains(&id) {
                    found.push(id);
                }
            }
        }
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(format!(
                "No member of {channel}'s room is {user}: give the full Matrix ID ({user}:server)."
            )),
            many => Err(format!(
                "{user} could be {}: give the full ID.",
                many.join(", ")
            )),
        }
    }
}

/// A request body as the API would have read it.
fn body<T: serde::de::DeserializeOwned>(v: Value) -> Result<ApiJson<T>, String> {
    serde_json::from_value(v)
        .map(ApiJson)
        .map_err(|e| format!("Cannot run that: {e}"))
}
