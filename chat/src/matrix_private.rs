//! The viewer's private rooms through their own Matrix client: a sync that
//! brings only those rooms' timelines (the bridged rooms stay known, for
//! posting, but their timelines come from the relay's feed), end-to-end
//! encrypted conversations started with one person, several, or only
//! oneself (Notes), invites, and the block list (the account's
//! `m.ignored_user_list`: the homeserver then drops the blocked person's
//! events and invites for this viewer). What a sync brought is handed on as
//! plain data (`Batch`) for `private` to apply.

use crate::matrix::{say, Failure, Session};
use crate::private::{Facts, Membership};
use chyron_protocol::limits::MAX_SENDER_CHARS;
use matrix_sdk::config::{SyncSettings, SyncToken};
use matrix_sdk::deserialized_responses::RawAnySyncOrStrippedState;
use matrix_sdk::deserialized_responses::TimelineEventKind;
use matrix_sdk::ruma::api::client::filter::{FilterDefinition, RoomEventFilter};
use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter;
use matrix_sdk::ruma::events::ignored_user_list::IgnoredUserListEventContent;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::AnySyncTimelineEvent;
use matrix_sdk::ruma::events::InitialStateEvent;
use matrix_sdk::ruma::presence::PresenceState;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId, UInt, UserId};
use matrix_sdk::{Client, Room, RoomMemberships, RoomState};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;

/// Newest events of each private room in the first sync of a page.
const FIRST_SYNC_EVENTS: u32 = 50;
/// How long the homeserver may hold a sync open when nothing happens.
const LONG_POLL: Duration = Duration::from_secs(30);
/// Undecrypted events kept for another try (the newest).
const MAX_UNDECRYPTED: usize = 100;
/// Most people one new conversation may invite.
pub const MAX_INVITES: usize = 10;

/// What one sync brought for one private room.
#[derive(Debug, Clone, Default)]
pub struct RoomUpdate {
    /// The room id.
    pub room_id: String,
    /// Its new timeline events, oldest first: the event's JSON (decrypted
    /// where it could be) and whether it could not be decrypted.
    pub events: Vec<(String, bool)>,
    /// Who is in it, whether it is encrypted and direct, who invited.
    pub facts: Facts,
}

/// What one sync brought.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Private rooms joined or invited to that changed.
    pub rooms: Vec<RoomUpdate>,
    /// Rooms the viewer is no longer in.
    pub left: Vec<String>,
    /// The block list, when the account's copy changed.
    pub blocked: Option<Vec<String>>,
}

/// The sync filter: no timelines of the bridged rooms (their state still
/// comes, so they stay known for posting), no presence, no typing or
/// receipts.
fn filter(bridged: &[OwnedRoomId]) -> FilterDefinition {
    let mut def = FilterDefinition::default();
    def.room.timeline.not_rooms = bridged.to_vec();
    def.room.timeline.limit = Some(UInt::from(FIRST_SYNC_EVENTS));
    def.room.ephemeral = RoomEventFilter::ignore_all();
    def.presence = matrix_sdk::ruma::api::client::filter::Filter::ignore_all();
    def
}

/// Syncs once: `first` starts afresh (the page's first sync: the room
/// state is kept in memory only), later ones continue from the last, held
/// open by the homeserver until something private happens (`long_poll`) or
/// answered at once.
pub async fn sync(
    session: &Session,
    first: bool,
    long_poll: bool,
    bridged: &[OwnedRoomId],
) -> Result<Batch, Failure> {
    let client = &session.client;
    let mut settings = SyncSettings::default()
        .filter(Filter::FilterDefinition(filter(bridged)))
        .set_presence(PresenceState::Offline);
    settings = match (first, long_poll) {
        (true, _) => settings.token(SyncToken::NoToken),
        (false, true) => settings.timeout(LONG_POLL),
        (false, false) => settings.timeout(Duration::ZERO),
    };
    let response = client
        .sync_once(settings)
        .await
        .map_err(|e| say(e, "Private messages could not be fetched"))?;
    let me = client.user_id().map(UserId::to_owned);
    let mut batch = Batch::default();
    for (room_id, update) in response.rooms.joined {
        let Some(room) = private_room(client, &room_id, bridged) else {
            continue;
        };
        let mut out = describe(&room, me.as_deref()).await;
        out.events = update
            .timeline
            .events
            .into_iter()
            .map(|ev| {
                let utd = matches!(ev.kind, TimelineEventKind::UnableToDecrypt { .. });
                if utd {
                    remember_undecrypted(&room_id, ev.kind.raw());
                }
                (ev.kind.raw().json().get().to_owned(), utd)
            })
            .collect();
        batch.rooms.push(out);
    }
    for room_id in response.rooms.invited.keys() {
        let Some(room) = private_room(client, room_id, bridged) else {
            continue;
        };
        let mut out = describe(&room, me.as_deref()).await;
        out.facts.invited_by = room
            .invite_details()
            .await
            .ok()
            .map(|i| i.inviter_id.to_string());
        batch.rooms.push(out);
    }
    retry_undecrypted(client, &mut batch).await;
    batch.left = response
        .rooms
        .left
        .keys()
        .map(ToString::to_string)
        .collect();
    let ignored = response.account_data.iter().any(|ev| {
        ev.get_field::<String>("type").ok().flatten().as_deref() == Some("m.ignored_user_list")
    });
    if ignored || first {
        let list = client
            .account()
            .account_data::<IgnoredUserListEventContent>()
            .await
            .ok()
            .flatten()
            .and_then(|raw| raw.deserialize().ok());
        batch.blocked = Some(
            list.map(|l| l.ignored_users.into_keys().map(|u| u.to_string()).collect())
                .unwrap_or_default(),
        );
    }
    Ok(batch)
}

thread_local! {
    /// Events this device could not decrypt yet, oldest first: tried again
    /// after each sync, since their keys may come later (a late key share).
    static UNDECRYPTED: RefCell<VecDeque<(OwnedRoomId, Raw<AnySyncTimelineEvent>)>> =
        const { RefCell::new(VecDeque::new()) };
}

fn remember_undecrypted(room_id: &OwnedRoomId, raw: &Raw<AnySyncTimelineEvent>) {
    UNDECRYPTED.with(|u| {
        let mut u = u.borrow_mut();
        if u.len() >= MAX_UNDECRYPTED {
            u.pop_front();
        }
        u.push_back((room_id.clone(), raw.clone()));
    });
}

/// Tries the undecrypted events again; those that decrypt now join the
/// batch (the chat replaces their "unable to decrypt" line).
async fn retry_undecrypted(client: &Client, batch: &mut Batch) {
    let pending: Vec<_> = UNDECRYPTED.with(|u| u.borrow_mut().drain(..).collect());
    for (room_id, raw) in pending {
        let Some(room) = client.get_room(&room_id) else {
            continue;
        };
        let decrypted = room.decrypt_event(raw.cast_ref_unchecked(), None).await;
        match decrypted {
            Ok(ev) if !matches!(ev.kind, TimelineEventKind::UnableToDecrypt { .. }) => {
                let json = ev.kind.raw().json().get().to_owned();
                match batch
                    .rooms
                    .iter_mut()
                    .find(|r| r.room_id == room_id.as_str())
                {
                    Some(update) => update.events.push((json, false)),
                    None => batch.rooms.push(RoomUpdate {
                        room_id: room_id.to_string(),
                        events: vec![(json, false)],
                        facts: describe(&room, client.user_id()).await.facts,
                    }),
                }
            }
            _ => remember_undecrypted(&room_id, &raw),
        }
    }
}

/// The room, if it is a private one: not bridged, not public.
fn private_room(client: &Client, room_id: &OwnedRoomId, bridged: &[OwnedRoomId]) -> Option<Room> {
    if bridged.contains(room_id) {
        return None;
    }
    let room = client.get_room(room_id)?;
    let public = matches!(
        room.join_rule(),
        Some(matrix_sdk::ruma::events::room::join_rules::JoinRule::Public)
    );
    (!public).then_some(room)
}

/// A room's members (but `me`), encryption and direct flag.
async fn describe(room: &Room, me: Option<&UserId>) -> RoomUpdate {
    let members = room
        .members_no_sync(RoomMemberships::JOIN | RoomMemberships::INVITE | RoomMemberships::LEAVE)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|m| Some(m.user_id()) != me)
        .map(|m| {
            let membership = match m.membership() {
                MembershipState::Join => Membership::Join,
                MembershipState::Invite => Membership::Invite,
                _ => Membership::Gone,
            };
            let name = m
                .display_name()
                .and_then(|n| chyron_protocol::clean_text(n, MAX_SENDER_CHARS, false));
            (m.user_id().to_string(), name, membership)
        })
        .collect();
    RoomUpdate {
        room_id: room.room_id().to_string(),
        events: Vec::new(),
        facts: Facts {
            members,
            encrypted: room.encryption_state().is_encrypted(),
            direct: room.is_direct().await.unwrap_or(false),
            invited_by: None,
            mods_owner: mods_owner(room).await,
        },
    }
}

/// The state event the relay's bot puts in an owner's moderators' room.
pub const MODS_STATE: &str = "chat.chyron.mods";

/// Whose moderators' room this is: its [`MODS_STATE`] event's `owner`;
/// for an invite (whose stripped state may not carry it) the room's name
/// "Moderators: @owner:hs", as the bot names it.
async fn mods_owner(room: &Room) -> Option<String> {
    let state = room
        .get_state_event(MODS_STATE.into(), "")
        .await
        .ok()
        .flatten();
    let json = match &state {
        Some(RawAnySyncOrStrippedState::Sync(raw)) => Some(raw.json().get()),
        Some(RawAnySyncOrStrippedState::Stripped(raw)) => Some(raw.json().get()),
        None => None,
    };
    let owner = json
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .and_then(|v| v.pointer("/content/owner")?.as_str().map(str::to_owned));
    let named = || {
        let name = room.name()?;
        let owner = name.strip_prefix("Moderators: ")?;
        (room.state() == RoomState::Invited && owner.starts_with('@')).then(|| owner.to_owned())
    };
    owner.filter(|o| o.starts_with('@')).or_else(named)
}

fn user_ids(users: &[String]) -> Result<Vec<OwnedUserId>, Failure> {
    if users.len() > MAX_INVITES {
        return Err(format!(
            "A conversation can start with at most {MAX_INVITES} people."
        ));
    }
    users
        .iter()
        .map(|u| OwnedUserId::try_from(u.as_str()).map_err(|_| format!("{u} is not a Matrix ID.")))
        .collect()
}

/// Starts an end-to-end encrypted conversation with `users` (one: a direct
/// chat; none: the viewer's Notes), marked as direct in the account as
/// Matrix clients do. Returns the room id.
pub async fn start(session: &Session, users: &[String]) -> Result<String, Failure> {
    if session.saved.guest {
        return Err("Guests cannot start private conversations on this server.".to_owned());
    }
    let invite = user_ids(users)?;
    let mut request = CreateRoom::new();
    request.invite = invite.clone();
    request.is_direct = invite.len() <= 1;
    request.preset = Some(RoomPreset::TrustedPrivateChat);
    request.initial_state = vec![InitialStateEvent::with_empty_state_key(
        RoomEncryptionEventContent::with_recommended_defaults(),
    )
    .to_raw_any()];
    if invite.is_empty() {
        request.name = Some("Notes".to_owned());
    }
    let room = session
        .client
        .create_room(request)
        .await
        .map_err(|e| say(e, "Starting the conversation failed"))?;
    if invite.is_empty() {
        // Notes: a direct chat with oneself.
        let me = session.saved.session.meta.user_id.clone();
        session
            .client
            .account()
            .mark_as_dm(room.room_id(), &[me])
            .await
            .map_err(|e| say(e, "Marking your notes failed"))?;
    }
    Ok(room.room_id().to_string())
}

fn room_of(session: &Session, room_id: &str) -> Result<Room, Failure> {
    let id = OwnedRoomId::try_from(room_id).map_err(|_| "No such conversation.".to_owned())?;
    session
        .client
        .get_room(&id)
        .ok_or_else(|| "No such conversation.".to_owned())
}

/// Accepts an invite to a private conversation. A guest joins too: matrix-sdk then records a direct chat in the account
/// data, which Synapse refuses guests; the join itself stood, so it counts.
pub async fn accept(session: &Session, room_id: &str) -> Result<(), Failure> {
    let room = room_of(session, room_id)?;
    match room.join().await {
        Ok(()) => Ok(()),
        Err(_) if room.state() == RoomState::Joined => Ok(()),
        Err(e) => Err(say(e, "Joining the conversation failed")),
    }
}

/// Declines an invite, or leaves a conversation.
pub async fn leave(session: &Session, room_id: &str) -> Result<(), Failure> {
    let room = room_of(session, room_id)?;
    if room.state() == RoomState::Left {
        return Ok(());
    }
    room.leave()
        .await
        .map_err(|e| say(e, "Leaving the conversation failed"))
}

/// Blocks or unblocks `user_id` in the account (the homeserver stops
/// delivering their events and invites to this viewer).
pub async fn set_blocked(session: &Session, user_id: &str, blocked: bool) -> Result<(), Failure> {
    let user =
        OwnedUserId::try_from(user_id).map_err(|_| format!("{user_id} is not a Matrix ID."))?;
    let account = session.client.account();
    let result = if blocked {
        account.ignore_user(&user).await
    } else {
        account.unignore_user(&user).await
    };
    result.map_err(|e| {
        say(
            e,
            if blocked {
                "Blocking failed"
            } else {
                "Unblocking failed"
            },
        )
    })
}
