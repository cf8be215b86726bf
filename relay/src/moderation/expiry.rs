//! Lifts each timeout at its stored end. The end is data (a time in
//! SQLite), not a sleeping task: a relay restarted during a timeout lifts
//! it on time, one restarted after its end lifts it at once.

use super::actions::lift;
use super::mirror::{queue, Matrix};
use crate::hub::now_ms;
use crate::store::moderation::Kind;
use crate::AppState;
use std::time::Duration;
use tokio::sync::watch;

/// Longest sleep between looks, so a clock change is noticed.
const AT_MOST: Duration = Duration::from_secs(30);

/// Runs until `stop` turns `true`.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let m = state.moderation.clone();
    loop {
        let now = now_ms();
        for (channel, user_id) in m.sanctions.ended(now) {
            match lift(&state, &channel, &user_id, Kind::Timeout, super::RELAY).await {
                Ok(_) => {
                    tracing::info!(channel, user_id, "timeout ended");
                    queue(&state, &channel, Matrix::Unsilence(&user_id)).await;
                }
                Err(e) => tracing::warn!(channel, user_id, "lifting a timeout: {}", e.message),
            }
        }
        let wait = m
            .sanctions
            .next_end()
            .map(|end| Duration::from_millis((end - now_ms()).clamp(0, i64::MAX) as u64))
            .unwrap_or(AT_MOST)
            .min(AT_MOST);
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = m.changed.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
