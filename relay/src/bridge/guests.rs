//! Whether guests may post in a bridged room, and opening it to them.
//!
//! The full chat joins viewers as Matrix guests, which Synapse lets into a
//! room only when its `m.room.guest_access` is `can_join` and its join rule
//! is `public`. On joining, the bot reads both from the homeserver (the
//! room's state is not synced yet then); when guests are not let in and the
//! bot has the power, it sets `can_join` itself, and when it has not, it
//! logs what an organiser must change. It never changes the join rule: a
//! private room stays private.

use matrix_sdk::ruma::api::client::state::get_state_event_for_key;
use matrix_sdk::ruma::events::room::guest_access::{GuestAccess, RoomGuestAccessEventContent};
use matrix_sdk::ruma::events::StateEventType;
use matrix_sdk::{Client, Room};

/// Reads one state event's content as JSON; `None` when the room has none
/// (or it cannot be read: then guests are assumed not to be let in).
async fn state(client: &Client, room: &Room, kind: StateEventType) -> Option<serde_json::Value> {
    let request =
        get_state_event_for_key::v3::Request::new(room.room_id().to_owned(), kind, String::new());
    let response = client.send(request).await.ok()?;
    serde_json::from_str(response.event_or_content.get()).ok()
}

/// Whether the room's join rule and guest access let guests join, from the
/// two state contents.
pub fn guests_let_in(
    join_rules: Option<&serde_json::Value>,
    guest_access: Option<&serde_json::Value>,
) -> (bool, bool) {
    let public = join_rules
        .and_then(|c| c.get("join_rule"))
        .and_then(|v| v.as_str())
        == Some("public");
    let can_join = guest_access
        .and_then(|c| c.get("guest_access"))
        .and_then(|v| v.as_str())
        == Some("can_join");
    (public, can_join)
}

/// Makes sure guests can join `room` where the bot may allow it; returns
/// whether a guest can now join and post there.
pub async fn open_to_guests(client: &Client, room: &Room, channel: &str) -> bool {
    let rules = state(client, room, StateEventType::RoomJoinRules).await;
    let access = state(client, room, StateEventType::RoomGuestAccess).await;
    let (public, can_join) = guests_let_in(rules.as_ref(), access.as_ref());
    if !public {
        tracing::warn!(%channel, room_id = %room.room_id(), "matrix: the room is not public, so guests cannot join it; the chat offers only signing in (make the room public to let guests in)");
        return false;
    }
    if can_join {
        return true;
    }
    match room
        .send_state_event(RoomGuestAccessEventContent::new(GuestAccess::CanJoin))
        .await
    {
        Ok(_) => {
            tracing::info!(%channel, room_id = %room.room_id(), "matrix: set m.room.guest_access to can_join so viewers can chat as guests");
            true
        }
        Err(e) => {
            tracing::warn!(%channel, room_id = %room.room_id(), "matrix: guests cannot join the room (m.room.guest_access is not can_join) and the bot may not change it: {e}; give the bot the power to send m.room.guest_access, or set it to can_join yourself");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::guests_let_in;
    use serde_json::json;

    #[test]
    fn only_a_public_room_with_can_join_lets_guests_in() {
        let public = json!({"join_rule": "public"});
        let invite = json!({"join_rule": "invite"});
        let can = json!({"guest_access": "can_join"});
        let forbidden = json!({"guest_access": "forbidden"});
        assert_eq!(guests_let_in(Some(&public), Some(&can)), (true, true));
        assert_eq!(
            guests_let_in(Some(&public), Some(&forbidden)),
            (true, false)
        );
        assert_eq!(guests_let_in(Some(&invite), Some(&can)), (false, true));
        assert_eq!(guests_let_in(None, None), (false, false));
        assert_eq!(
            guests_let_in(Some(&json!({"join_rule": 7})), Some(&json!([]))),
            (false, false)
        );
    }
}
