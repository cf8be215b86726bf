//! Marks each owner's moderators' room as one: the state event
//! [`EVENT_TYPE`] (state key `""`) `{"owner": "@dj:hs"}`, which the chat
//! looks for among the rooms its viewer is in or invited to. Set when the
//! bot creates the room, and on a room made before the marker existed the
//! next time the bot uses it; the bot's memory (`modroom-marked:{owner}` →
//! room id, [`crate::bridge::memory`]) remembers it was set, so it is sent once per room.

use super::{judge, Executor, Step};
use matrix_sdk::Room;
use serde_json::json;

/// The marker's event type.
pub const EVENT_TYPE: &str = "chat.chyron.mods";

impl Executor<'_> {
    /// Sets the marker in `room`, `owner`'s moderators' room, unless done.
    pub(super) async fn mark(&self, owner: &str, room: &Room) -> Result<(), Step> {
        let key = format!("modroom-marked:{owner}");
        let id = room.room_id().to_string();
        let marked = self.memory.get(&key).await;
        let marked = marked.map_err(|e| Step::Retry(e.to_string()))?;
        if marked.as_deref() == Some(id.as_str()) {
            return Ok(());
        }
        let content = json!({ "owner": owner });
        let sent = room.send_state_event_raw(EVENT_TYPE, "", content).await;
        match judge(sent.map(drop), "mark", room.room_id()) {
            Step::Finish(crate::moderation::tasks::Outcome::Done) => {}
            step => return Err(step),
        }
        let saved = self.memory.set(&key, &id).await;
        saved.map_err(|e| Step::Retry(e.to_string()))
    }
}
