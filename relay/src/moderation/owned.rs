//! Whose channels are whose: an owner's channels (the config's, and those
//! the API made them owner of), and whether someone still moderates for an
//! owner (so they stay in that owner's moderators' room).

use super::records::RecordsError;
use super::roles::owners;
use super::Moderation;
use crate::AppState;

/// The channels the relay knows by name: configured ones and bridged ones.
fn known_channels(state: &AppState) -> Vec<String> {
    let mut all: Vec<String> = state.config.chat.channels.keys().cloned().collect();
    if let Some(matrix) = &state.config.matrix {
        for room in &matrix.rooms {
            if !all.contains(&room.channel) {
                all.push(room.channel.clone());
            }
        }
    }
    all
}

/// The channels `owner` owns, in the config's order.
pub async fn channels_of(state: &AppState, owner: &str) -> Result<Vec<String>, RecordsError> {
    let mut mine = Vec::new();
    for channel in known_channels(state) {
        if owners(&state.moderation, &channel)
            .await?
            .iter()
            .any(|o| o == owner)
        {
            mine.push(channel);
        }
    }
    Ok(mine)
}

/// Whether `user_id` at `now` still has a role with `owner`: is them, an
/// admin, their general moderator, or a moderator for a current event in
/// one of their channels.
pub async fn moderates_for(
    state: &AppState,
    owner: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, RecordsError> {
    let m: &Moderation = &state.moderation;
    if owner == user_id || m.is_admin(user_id) {
        return Ok(true);
    }
    let general = m.records().appointments(vec![format!("owner:{owner}")]);
    if general.await?.iter().any(|a| a.user_id == user_id) {
        return Ok(true);
    }
    for channel in channels_of(state, owner).await? {
        let events = m.records().appointments(vec![format!("channel:{channel}")]);
        let current = events.await?.into_iter().any(|a| {
            a.user_id == user_id
                && a.from.is_none_or(|f| f <= now)
                && a.until.is_none_or(|u| now < u)
        });
        if current {
            return Ok(true);
        }
    }
    Ok(false)
}
