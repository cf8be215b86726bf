//! Follows event appointments into Matrix at their stored start and end
//! ([`super::role_edges`]): at `from` the bot raises the moderator's power
//! in the channel's bridged room and invites them to the owners'
//! moderators' rooms; at `until` it lowers the power again and removes them
//! from each moderators' room, unless another role of theirs still holds
//! there (owner, admin, a general appointment, another current event). A
//! relay restarted after an edge acts on it at once, and only once.

use super::mirror::{self, Matrix};
use super::owned::moderates_for;
use super::records::RecordsError;
use super::role_edges::{self, Edge};
use super::roles::{owners, role, Role};
use super::{log_action, RELAY};
use crate::hub::now_ms;
use crate::AppState;
use std::time::Duration;
use tokio::sync::watch;

/// Longest sleep between looks: an appointment made through another node
/// (clustered mode) is noticed within this.
const AT_MOST: Duration = Duration::from_secs(1);

/// Wait after the records failed (Redis unreachable), so it is retried.
const AFTER_FAILURE: Duration = Duration::from_secs(2);

/// Edges read per look.
const BATCH: usize = 100;

/// Runs until `stop` turns `true`.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        let failed = match step(&state, now_ms()).await {
            Ok(()) => false,
            Err(e) => {
                tracing::warn!("moderator appointments' edges: {e}");
                true
            }
        };
        let next = role_edges::next(state.moderation.records()).await;
        let wait = match next {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(0, i64::MAX) as u64),
            _ => AT_MOST,
        }
        .min(AT_MOST);
        let wait = if failed { AFTER_FAILURE } else { wait };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Acts on every edge due at `now`.
pub async fn step(state: &AppState, now: i64) -> Result<(), RecordsError> {
    let records = state.moderation.records();
    loop {
        let due = role_edges::due(records, now, BATCH).await?;
        let more = due.len() == BATCH;
        for edge in due {
            act(state, &edge, now).await?;
        }
        if !more {
            return Ok(());
        }
    }
}

/// What one edge asks of Matrix, decided (reads) before it is claimed, so
/// a read failing leaves the edge to be tried again.
async fn act(state: &AppState, edge: &Edge, now: i64) -> Result<(), RecordsError> {
    let m = &state.moderation;
    let (channel, user) = (edge.channel.as_str(), edge.user_id.as_str());
    let scope = format!("channel:{channel}");
    // A dismissal (or a new appointment, which has its own edges) did the
    // Matrix side already: this edge is then stale.
    let current = m
        .records()
        .appointments(vec![scope])
        .await?
        .iter()
        .any(|a| a.user_id == user && a.from == Some(edge.from) && a.until == Some(edge.until));
    let owners = owners(m, channel).await?;
    let mut leave = Vec::new();
    let mut demote = false;
    if current && !edge.start {
        demote = role(m, channel, user).await?.0 < Role::Moderator;
        for owner in &owners {
            if !moderates_for(state, owner, user, now).await? {
                leave.push(owner.clone());
            }
        }
    }
    if !role_edges::claim(m.records(), edge).await? || !current {
        return Ok(());
    }
    if edge.start {
        tracing::info!(channel, user, "event moderator starts");
        log_action(m, channel, RELAY, "moderator_starts", user, None, None).await;
        mirror::mod_room(m, &owners, user, true).await;
        mirror::queue(state, channel, Matrix::Promote(user)).await;
    } else {
        tracing::info!(channel, user, demote, "event moderator ends");
        let detail = (!demote).then(|| "another role still holds".to_string());
        log_action(m, channel, RELAY, "moderator_ends", user, None, detail).await;
        mirror::mod_room(m, &leave, user, false).await;
        if demote {
            mirror::queue(state, channel, Matrix::Demote(user)).await;
        }
    }
    Ok(())
}

/// Records an event appointment's edges (its end; its start too when
/// that is after `now`); whether it starts later (Matrix then waits).
pub async fn schedule(
    m: &super::Moderation,
    channel: &str,
    a: &crate::store::moderation::Appointment,
    now: i64,
) -> Result<bool, crate::error::ApiError> {
    let (Some(from), Some(until)) = (a.from, a.until) else {
        return Ok(false);
    };
    let edge = |start| Edge {
        start,
        channel: channel.to_string(),
        user_id: a.user_id.clone(),
        from,
        until,
    };
    let later = from > now;
    let edges = if later {
        vec![edge(true), edge(false)]
    } else {
        vec![edge(false)]
    };
    for e in &edges {
        role_edges::add(m.records(), e)
            .await
            .map_err(|e| e.api("appoint"))?;
    }
    Ok(later)
}
