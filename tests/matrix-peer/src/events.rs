//! Sync event handlers: what the peer sees becomes one JSON event line each
//! (`message`, `utd`, `invite`, `member`, `auto_join`), and the retry of
//! events that could not be decrypted yet.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::deserialized_responses::EncryptionInfo;
use matrix_sdk::event_handler::{Ctx, RawEvent};
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::events::room::member::{
    MembershipChange, MembershipState, StrippedRoomMemberEvent, SyncRoomMemberEvent,
};
use matrix_sdk::ruma::events::room::message::{
    MessageFormat, MessageType, OriginalSyncRoomMessageEvent, SyncRoomMessageEvent,
};
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, Room};
use serde_json::{json, Value};

use crate::session::Peer;

/// At most this many undecrypted events wait for their keys.
pub const MAX_PENDING: usize = 256;
/// Attempts to join an invited room (Synapse can refuse a join that comes
/// right after the invite).
const JOIN_TRIES: u32 = 5;

/// An event that could not be decrypted yet.
pub struct Pending {
    /// Its room.
    pub room: OwnedRoomId,
    /// The encrypted event, to try again once the room key may have arrived.
    pub raw: Raw<OriginalSyncRoomEncryptedEvent>,
}

/// Registers every handler on `client`, with `peer` as their context.
pub fn install(client: &Client, peer: &Arc<Peer>) {
    client.add_event_handler_context(peer.clone());
    client.add_event_handler(on_message);
    client.add_event_handler(on_encrypted);
    client.add_event_handler(on_invite);
    client.add_event_handler(on_member);
}

/// The `message` event's fields for a message in `room`.
fn message_fields(
    ev: &OriginalSyncRoomMessageEvent,
    room: &Room,
    own: bool,
    encrypted: bool,
) -> Value {
    let formatted = match &ev.content.msgtype {
        MessageType::Text(t) => t.formatted.as_ref(),
        MessageType::Notice(t) => t.formatted.as_ref(),
        MessageType::Emote(t) => t.formatted.as_ref(),
        _ => None,
    }
    .filter(|f| f.format == MessageFormat::Html)
    .map(|f| f.body.clone());
    json!({
        "room": room.room_id(),
        "sender": ev.sender,
        "own": own,
        "event_id": ev.event_id,
        "msgtype": ev.content.msgtype.msgtype(),
        "body": ev.content.msgtype.body(),
        "formatted_body": formatted,
        "encrypted": encrypted,
    })
}

/// A message, decrypted or not (`encrypted` says which). Our own come back
/// too (`own: true`).
async fn on_message(
    ev: SyncRoomMessageEvent,
    room: Room,
    client: Client,
    info: Option<EncryptionInfo>,
    peer: Ctx<Arc<Peer>>,
) {
    let SyncRoomMessageEvent::Original(ev) = ev else {
        return;
    };
    let own = client.user_id() == Some(&*ev.sender);
    let fields = message_fields(&ev, &room, own, info.is_some());
    peer.out.event("message", fields).await;
}

/// An `m.room.encrypted` event reaches handlers only when it could not be
/// decrypted: report it, and keep it for a retry after later syncs.
async fn on_encrypted(
    ev: OriginalSyncRoomEncryptedEvent,
    raw: RawEvent,
    room: Room,
    peer: Ctx<Arc<Peer>>,
) {
    let reason = match room
        .decrypt_event(&Raw::from_json(raw.0.clone()), None)
        .await
    {
        Ok(t) => match t.kind {
            matrix_sdk::deserialized_responses::TimelineEventKind::UnableToDecrypt {
                utd_info,
                ..
            } => format!("{:?}", utd_info.reason),
            _ => "decryptable on retry".into(),
        },
        Err(e) => e.to_string(),
    };
    let fields = json!({
        "room": room.room_id(),
        "sender": ev.sender,
        "event_id": ev.event_id,
        "session_id": session_id(&ev),
        "reason": reason,
    });
    peer.out.event("utd", fields).await;
    let mut pending = peer.pending.lock().unwrap();
    if pending.len() >= MAX_PENDING {
        pending.pop_front();
    }
    pending.push_back(Pending {
        room: room.room_id().to_owned(),
        raw: Raw::from_json(raw.0),
    });
}

/// The Megolm session id, which tells a test which key was missing.
fn session_id(ev: &OriginalSyncRoomEncryptedEvent) -> Option<String> {
    use matrix_sdk::ruma::events::room::encrypted::EncryptedEventScheme;
    match &ev.content.scheme {
        EncryptedEventScheme::MegolmV1AesSha2(m) => Some(m.session_id.clone()),
        _ => None,
    }
}

/// Tries the undecrypted events again (their keys may have come since); each
/// one that decrypts now is reported as a `message` with `late: true`.
pub async fn retry_pending(peer: &Arc<Peer>) {
    let Ok(client) = peer.client() else { return };
    let waiting: Vec<Pending> = peer.pending.lock().unwrap().drain(..).collect();
    let mut still = Vec::new();
    for p in waiting {
        let Some(room) = client.get_room(&p.room) else {
            continue;
        };
        let decrypted = match room.decrypt_event(&p.raw, None).await {
            Ok(t) if t.encryption_info().is_some() => t,
            _ => {
                still.push(p);
                continue;
            }
        };
        let Ok(SyncRoomMessageEvent::Original(ev)) = decrypted
            .raw()
            .deserialize_as_unchecked::<SyncRoomMessageEvent>()
        else {
            continue; // decrypted, but not a message
        };
        let own = client.user_id() == Some(&*ev.sender);
        let mut fields = message_fields(&ev, &room, own, true);
        fields["late"] = json!(true);
        peer.out.event("message", fields).await;
    }
    let mut pending = peer.pending.lock().unwrap();
    for p in still.into_iter().rev() {
        if pending.len() < MAX_PENDING {
            pending.push_front(p);
        }
    }
}

/// An invite for us: reported, and accepted when `auto_join` is on.
async fn on_invite(ev: StrippedRoomMemberEvent, room: Room, client: Client, peer: Ctx<Arc<Peer>>) {
    if ev.content.membership != MembershipState::Invite || client.user_id() != Some(&*ev.state_key)
    {
        return;
    }
    let fields = json!({
        "room": room.room_id(),
        "from": ev.sender,
        "direct": ev.content.is_direct.unwrap_or(false),
    });
    peer.out.event("invite", fields).await;
    if peer.auto_join.load(Ordering::Relaxed) {
        let peer = peer.0.clone();
        tokio::spawn(async move { auto_join(room, peer).await });
    }
}

/// Joins an invited room, retrying with backoff; reports the outcome.
async fn auto_join(room: Room, peer: Arc<Peer>) {
    let mut delay = Duration::from_millis(200);
    let mut last = String::new();
    for _ in 0..JOIN_TRIES {
        match room.join().await {
            Ok(()) => {
                let fields = json!({"room": room.room_id(), "ok": true});
                return peer.out.event("auto_join", fields).await;
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    let fields = json!({"room": room.room_id(), "ok": false, "error": last});
    peer.out.event("auto_join", fields).await;
}

/// A membership change (join, leave, invite, kick, ban…); profile changes
/// are left out.
async fn on_member(ev: SyncRoomMemberEvent, room: Room, peer: Ctx<Arc<Peer>>) {
    let SyncRoomMemberEvent::Original(ev) = ev else {
        return;
    };
    let change = ev.membership_change();
    if matches!(
        change,
        MembershipChange::ProfileChanged { .. } | MembershipChange::None
    ) {
        return;
    }
    let user: &OwnedUserId = &ev.state_key;
    let fields = json!({
        "room": room.room_id(),
        "user": user,
        "sender": ev.sender,
        "membership": ev.content.membership.as_str(),
        "event_id": ev.event_id,
    });
    peer.out.event("member", fields).await;
}
