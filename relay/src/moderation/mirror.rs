//! Mirroring moderation into the bridged Matrix room, where the relay's bot
//! has the power: the homeserver then refuses a timed-out person's posts
//! too, and bans hold in every Matrix client. Each action becomes a task in
//! the queue ([`super::tasks`]) that the bridge works through in order; an
//! action waits a little for its outcome, so the moderator hears what the
//! bot could not do ("the relay's Matrix account lacks the power …").

use super::tasks::{MatrixTask, Outcome};
use crate::AppState;
use std::time::Duration;

/// How long an action waits for the bot before answering `pending`.
pub const WAIT: Duration = Duration::from_secs(5);

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

impl Matrix<'_> {
    /// The task for `channel`; `None` for targets that are not Matrix users
    /// (an API sender's name has no power level to change).
    fn task(self, channel: &str) -> Option<MatrixTask> {
        let channel = channel.to_string();
        let user = |id: &str| id.starts_with('@').then(|| id.to_string());
        Some(match self {
            Matrix::Silence(id) => MatrixTask::Silence {
                channel,
                user_id: user(id)?,
            },
            Matrix::Unsilence(id) => MatrixTask::Unsilence {
                channel,
                user_id: user(id)?,
            },
            Matrix::Ban(id, reason) => MatrixTask::Ban {
                channel,
                user_id: user(id)?,
                reason,
            },
            Matrix::Unban(id) => MatrixTask::Unban {
                channel,
                user_id: user(id)?,
            },
            Matrix::Promote(id) => MatrixTask::Promote {
                channel,
                user_id: user(id)?,
            },
            Matrix::Demote(id) => MatrixTask::Demote {
                channel,
                user_id: user(id)?,
            },
        })
    }
}

/// Mirrors an action into the channel's bridged room and waits up to
/// [`WAIT`] for the outcome: `done`, `failed: why` (also logged),
/// `pending`, `not_bridged` (no room, or a target that is no Matrix user).
pub async fn matrix(state: &AppState, channel: &str, what: Matrix<'_>) -> String {
    let Some(id) = queue(state, channel, what).await else {
        return "not_bridged".into();
    };
    let m = &state.moderation;
    match m.tasks.wait(id, WAIT).await {
        Some(Outcome::Done) => "done".into(),
        Some(Outcome::NotBridged) => "not_bridged".into(),
        Some(Outcome::Failed(why)) => {
            let line = Some(why.clone());
            super::log_action(m, channel, super::RELAY, "matrix_failed", "", None, line).await;
            format!("failed: {why}")
        }
        None => "pending".into(),
    }
}

/// Queues an action for the bridged room without waiting (the expiry
/// task's lifts); the task id, or `None` when there is nothing to do.
pub async fn queue(state: &AppState, channel: &str, what: Matrix<'_>) -> Option<i64> {
    if !state.hub.is_bridged(channel) {
        return None;
    }
    let task = what.task(channel)?;
    match state.moderation.tasks.enqueue(task).await {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::warn!(channel, "queueing a Matrix moderation task: {e}");
            None
        }
    }
}

/// Posts `line` in the moderators' room of each of `owners` (created by the
/// bot on first use), when the relay has a Matrix bridge.
pub async fn mod_log(m: &super::Moderation, owners: &[String], line: &str) {
    if !m.has_matrix {
        return;
    }
    for owner in owners {
        let task = MatrixTask::ModLog {
            owner: owner.clone(),
            line: line.to_string(),
        };
        if let Err(e) = m.tasks.enqueue(task).await {
            tracing::warn!(owner, "queueing a moderators' room line: {e}");
        }
    }
}

/// Invites `user_id` to (`member`), or removes them from, the moderators'
/// room of each of `owners`, when the relay has a Matrix bridge.
pub async fn mod_room(m: &super::Moderation, owners: &[String], user_id: &str, member: bool) {
    if !m.has_matrix || !user_id.starts_with('@') {
        return;
    }
    for owner in owners.iter().filter(|o| o.as_str() != user_id) {
        let task = MatrixTask::ModRoom {
            owner: owner.clone(),
            user_id: user_id.to_string(),
            member,
        };
        if let Err(e) = m.tasks.enqueue(task).await {
            tracing::warn!(owner, "queueing a moderators' room membership: {e}");
        }
    }
}
