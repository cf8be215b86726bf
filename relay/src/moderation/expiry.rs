//! Lifts each timeout at its stored end. The end is data (a time in
//! SQLite), not a sleeping task: a relay restarted during a timeout lifts
//! it on time, one restarted after its end lifts it at once. In a cluster
//! every node's task tries; the records let one of them lift (and log) it.

use super::actions::lift;
use super::mirror::{queue, Matrix};
use crate::hub::now_ms;
use crate::store::moderation::Kind;
use crate::AppState;
use std::time::Duration;
use tokio::sync::watch;

/// Longest sleep between looks, so a clock change is noticed.
const AT_MOST: Duration = Duration::from_secs(30);

/// Wait after a lift failed (Redis unreachable), so it is retried, not spun.
const AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Runs until `stop` turns `true`, beside [`super::role_clock`] (event
/// moderators' start and end, likewise stored as times).
pub async fn run(state: AppState, stop: watch::Receiver<bool>) {
    tokio::join!(
        timeouts(state.clone(), stop.clone()),
        super::role_clock::run(state, stop)
    );
}

async fn timeouts(state: AppState, mut stop: watch::Receiver<bool>) {
    let m = state.moderation.clone();
    loop {
        let now = now_ms();
        let mut failed = false;
        for (channel, user_id) in m.sanctions.ended(now) {
            let until = m.sanctions.get(&channel, &user_id).timeout.map(|t| t.0);
            let relay = super::RELAY;
            match lift(&state, &channel, &user_id, Kind::Timeout, relay, until).await {
                Ok(true) => {
                    tracing::info!(channel, user_id, "timeout ended");
                    queue(&state, &channel, Matrix::Unsilence(&user_id)).await;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(channel, user_id, "lifting a timeout: {}", e.message);
                    failed = true;
                }
            }
        }
        let wait = m
            .sanctions
            .next_end()
            .map(|end| Duration::from_millis((end - now_ms()).clamp(0, i64::MAX) as u64))
            .unwrap_or(AT_MOST)
            .min(AT_MOST);
        let wait = if failed {
            wait.max(AFTER_FAILURE)
        } else {
            wait
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = m.changed.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
