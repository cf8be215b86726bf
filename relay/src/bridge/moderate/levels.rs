//! Power levels and membership read from the homeserver itself (not the
//! SDK's copy, which may not have synced the previous change yet).

use matrix_sdk::ruma::api::client::state::get_state_event_for_key::v3::Request as GetState;
use matrix_sdk::ruma::events::StateEventType;
use matrix_sdk::ruma::OwnedUserId;
use matrix_sdk::Room;
use serde_json::Value;

/// A room's power levels as the homeserver has them now (not the SDK's
/// copy, which may not have synced the previous change yet).
pub struct Levels {
    /// The whole content, sent back with one user's entry changed.
    pub json: Value,
    /// The level of users not listed.
    pub users_default: i64,
    /// The level posting a message needs (`events_default`, or lower if
    /// `m.room.message` has its own).
    pub post: i64,
}

impl Levels {
    /// Reads them from the homeserver.
    pub async fn read(room: &Room) -> matrix_sdk::Result<Levels> {
        let get = GetState::new(
            room.room_id().to_owned(),
            StateEventType::RoomPowerLevels,
            String::new(),
        );
        let response = room.client().send(get).await?;
        let json: Value = serde_json::from_str(response.event_or_content.get())?;
        let users_default = level(json.get("users_default")).unwrap_or(0);
        let events_default = level(json.get("events_default")).unwrap_or(0);
        let message = level(json.pointer("/events/m.room.message"));
        let post = message.unwrap_or(events_default).min(events_default);
        Ok(Levels {
            json,
            users_default,
            post,
        })
    }

    /// `user`'s level.
    pub fn of(&self, user: &OwnedUserId) -> i64 {
        let listed = self.json.get("users").and_then(|u| u.get(user.as_str()));
        level(listed).unwrap_or(self.users_default)
    }

    /// Sets `user`'s level to `new` (unlisted when it is `users_default`),
    /// sending the levels only if that changes them.
    pub async fn set(
        &mut self,
        room: &Room,
        user: &OwnedUserId,
        new: i64,
    ) -> matrix_sdk::Result<()> {
        let listed = self.json.get("users").and_then(|u| u.get(user.as_str()));
        let wanted = (new != self.users_default).then_some(new);
        if level(listed) == wanted {
            return Ok(());
        }
        if !self.json["users"].is_object() {
            self.json["users"] = Value::Object(Default::default());
        }
        if let Some(users) = self.json["users"].as_object_mut() {
            if new == self.users_default {
                users.remove(user.as_str());
            } else {
                users.insert(user.to_string(), new.into());
            }
        }
        room.send_state_event_raw("m.room.power_levels", "", &self.json)
            .await?;
        Ok(())
    }
}

/// Whether `user` is joined to or invited into `room`, as the homeserver
/// says now.
pub async fn in_room(room: &Room, user: &OwnedUserId) -> matrix_sdk::Result<bool> {
    let get = GetState::new(
        room.room_id().to_owned(),
        StateEventType::RoomMember,
        user.to_string(),
    );
    let response = match room.client().send(get).await {
        Ok(response) => response,
        Err(e)
            if e.as_client_api_error()
                .is_some_and(|a| a.status_code == 404) =>
        {
            return Ok(false)
        }
        Err(e) => return Err(e.into()),
    };
    let member: Value = serde_json::from_str(response.event_or_content.get())?;
    Ok(matches!(
        member["membership"].as_str(),
        Some("join" | "invite")
    ))
}

/// A power level in JSON: a number, or a number in a string (old rooms).
fn level(v: Option<&Value>) -> Option<i64> {
    v.and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
}
