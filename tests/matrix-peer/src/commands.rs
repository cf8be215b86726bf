//! What each command does; each returns the reply's fields or an error
//! (which becomes `ok: false` with its message).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use matrix_sdk::ruma::api::client::room::create_room;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
use matrix_sdk::ruma::events::InitialStateEvent;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Room, RoomMemberships, RoomState};
use serde_json::{json, Value};

use crate::protocol::Command;
use crate::session::{self, Peer, Start};

/// `wait_sync`'s default and largest timeout.
const WAIT_DEFAULT: Duration = Duration::from_secs(30);
const WAIT_MAX: Duration = Duration::from_secs(300);
/// At most this many people invited by one `dm`.
const MAX_INVITES: usize = 50;
/// Longest body or formatted body `send` accepts (Matrix events are ≤ 64 KiB).
const MAX_BODY: usize = 32 * 1024;
/// At most this many rooms listed by `rooms` (or devices by `devices`).
const MAX_ROOMS: usize = 500;

/// Runs one command (`quit` is main's).
pub async fn run(peer: &Arc<Peer>, cmd: Command) -> Result<Value> {
    match cmd {
        Command::Register(c) => session::start(peer, Start::Register(&c)).await,
        Command::Login(c) => session::start(peer, Start::Login(&c)).await,
        Command::Restore { homeserver } => session::start(peer, Start::Restore(&homeserver)).await,
        Command::AutoJoin { on } => {
            peer.auto_join.store(on, Ordering::Relaxed);
            Ok(json!({}))
        }
        Command::Dm { users, name } => dm(peer, users, name).await,
        Command::Join { room } => {
            let client = peer.client()?;
            let room = client
                .join_room_by_id(&room_id(&room)?)
                .await
                .context("join")?;
            let encrypted = room.latest_encryption_state().await?.is_encrypted();
            Ok(json!({"room": room.room_id(), "encrypted": encrypted}))
        }
        Command::Send {
            room,
            body,
            formatted_body,
        } => send(peer, &room, body, formatted_body).await,
        Command::Leave { room } => {
            joined(peer, &room)?.leave().await.context("leave")?;
            Ok(json!({}))
        }
        Command::Block { user } => block(peer, &user, true).await,
        Command::Unblock { user } => block(peer, &user, false).await,
        Command::Devices { user } => {
            let encryption = peer.client()?.encryption();
            let devices = encryption.get_user_devices(&user_id(&user)?).await?;
            let list = devices
                .devices()
                .take(MAX_ROOMS)
                .map(|d| json!({"device_id": d.device_id(), "verified": d.is_verified()}))
                .collect::<Vec<_>>();
            Ok(json!({"devices": list}))
        }
        Command::Rooms {} => rooms(peer).await,
        Command::Whoami {} => {
            let client = peer.client()?;
            Ok(json!({
                "user_id": client.user_id(),
                "device_id": client.device_id(),
                "syncs": *peer.syncs.borrow(),
            }))
        }
        Command::WaitSync { timeout_ms } => {
            let limit = timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(WAIT_DEFAULT)
                .min(WAIT_MAX);
            peer.client()?;
            let mut rx = peer.syncs.subscribe();
            let start = *rx.borrow_and_update();
            let n = tokio::time::timeout(limit, rx.wait_for(|n| *n > start))
                .await
                .map_err(|_| anyhow!("no sync finished within {limit:?}"))??;
            Ok(json!({"syncs": *n}))
        }
        Command::Quit {} => bail!("quit is handled by the main loop"),
    }
}

fn room_id(s: &str) -> Result<OwnedRoomId> {
    RoomId::parse(s).map_err(|e| anyhow!("bad room id {s:?}: {e}"))
}

fn user_id(s: &str) -> Result<OwnedUserId> {
    UserId::parse(s).map_err(|e| anyhow!("bad user id {s:?}: {e}"))
}

/// Adds `user` to the account's ignore list (`m.ignored_user_list`), or
/// removes them. Synapse then hides their new invites and events.
async fn block(peer: &Peer, user: &str, on: bool) -> Result<Value> {
    let account = peer.client()?.account();
    let user = user_id(user)?;
    if on {
        account.ignore_user(&user).await.context("block")?;
    } else {
        account.unignore_user(&user).await.context("unblock")?;
    }
    Ok(json!({}))
}

/// A room we have joined (known from the sync).
fn joined(peer: &Peer, room: &str) -> Result<Room> {
    let id = room_id(room)?;
    let room = peer
        .client()?
        .get_room(&id)
        .ok_or_else(|| anyhow!("unknown room {id} (not synced yet?)"))?;
    if room.state() != RoomState::Joined {
        bail!("not joined to {id} (state {:?})", room.state());
    }
    Ok(room)
}

/// Creates a private, encrypted, direct room (Element's DM shape: trusted
/// private chat, `is_direct`, encryption in the initial state) and records it
/// in `m.direct` (for a room with oneself, under one's own id, as Element's
/// notes-to-self do).
async fn dm(peer: &Peer, users: Vec<String>, name: Option<String>) -> Result<Value> {
    let client = peer.client()?;
    if users.len() > MAX_INVITES {
        bail!("at most {MAX_INVITES} users");
    }
    let invite = users
        .iter()
        .map(|u| user_id(u))
        .collect::<Result<Vec<_>>>()?;
    let encryption = InitialStateEvent::with_empty_state_key(
        RoomEncryptionEventContent::with_recommended_defaults(),
    )
    .to_raw_any();
    let mut req = create_room::v3::Request::new();
    req.invite = invite.clone();
    req.is_direct = true;
    req.name = name;
    req.preset = Some(create_room::v3::RoomPreset::TrustedPrivateChat);
    req.initial_state = vec![encryption];
    // create_room marks the room in m.direct itself when it invites someone.
    let room = client.create_room(req).await.context("create room")?;
    if invite.is_empty() {
        let me = client.user_id().context("no user id")?.to_owned();
        client
            .account()
            .mark_as_dm(room.room_id(), &[me])
            .await
            .context("m.direct")?;
    }
    Ok(json!({"room": room.room_id()}))
}

/// Sends an `m.text`, HTML too if given; encrypted when the room is.
async fn send(peer: &Peer, room: &str, body: String, formatted: Option<String>) -> Result<Value> {
    if body.len() > MAX_BODY || formatted.as_ref().is_some_and(|f| f.len() > MAX_BODY) {
        bail!("body longer than {MAX_BODY} bytes");
    }
    let room = joined(peer, room)?;
    let content = match formatted {
        Some(html) => RoomMessageEventContent::text_html(body, html),
        None => RoomMessageEventContent::text_plain(body),
    };
    let sent = room.send(content).await.context("send")?;
    let encrypted = room.latest_encryption_state().await?.is_encrypted();
    Ok(json!({"event_id": sent.response.event_id, "encrypted": encrypted}))
}

/// Every room the client knows: id, state, name, encryption, whether it is
/// direct, and its joined and invited members.
async fn rooms(peer: &Peer) -> Result<Value> {
    let client = peer.client()?;
    let mut list = Vec::new();
    for room in client.rooms().into_iter().take(MAX_ROOMS) {
        let members = room
            .members_no_sync(RoomMemberships::JOIN | RoomMemberships::INVITE)
            .await
            .unwrap_or_default()
            .iter()
            .map(|m| json!({"user": m.user_id(), "membership": m.membership().as_str()}))
            .collect::<Vec<_>>();
        list.push(json!({
            "room": room.room_id(),
            "state": format!("{:?}", room.state()).to_lowercase(),
            "name": room.name(),
            "encrypted": room.encryption_state().is_encrypted(),
            "direct": room.is_direct().await.unwrap_or(false),
            "members": members,
        }));
    }
    Ok(json!({"rooms": list}))
}
