//! `POST /chat/v1/channels/{channel}/presence` (a signed-in chatter is
//! here: on opening the channel, then every [`RENEW_S`] while it stays
//! open) and `DELETE …/presence` (they left). A relay session is needed;
//! an admin is answered the same but never recorded.
//!
//! Alone, presences are in memory ([`super::people`]); in clustered mode in
//! Redis ([`crate::cluster::people`]), so a chatter at one node is one at
//! every node, and one on two nodes is counted once.

use super::people::{Full, RECORD_EVERY};
use super::{public, SEEN_WINDOW};
use crate::cluster::people::{Here, Presence};
use crate::error::{ApiError, ApiPath};
use crate::event::now_ms;
use crate::live::public_channel;
use crate::moderation::session::Viewer;
use crate::records::cluster_err;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// How often the chat renews a presence, in seconds.
pub const RENEW_S: u64 = 30;

fn full() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "full",
        "this channel has as many chatters present as the relay keeps; try again later",
    )
}

/// `POST …/presence`: `{"renew_s", "ttl_s"}`.
pub async fn arrive(
    viewer: Viewer,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
) -> Response {
    public(here(&state, &channel, &viewer.user_id).await)
}

async fn here(state: &AppState, channel: &str, user_id: &str) -> Result<Value, ApiError> {
    public_channel(state, channel)?;
    let limits = state.people.limits();
    let answer = json!({"renew_s": RENEW_S, "ttl_s": limits.ttl.as_secs()});
    // Admins read unnoticed.
    if state.moderation.is_admin(user_id) {
        return Ok(answer);
    }
    match &state.cluster {
        None => {
            let now = tokio::time::Instant::now();
            let here = state.people.here(channel, user_id, now, now_ms());
            here.map_err(|Full| full())?;
        }
        Some(cluster) => {
            let p = Presence {
                now_ms: now_ms(),
                ttl_ms: limits.ttl.as_millis() as i64,
                per_channel: limits.per_channel,
                record_every_ms: RECORD_EVERY.as_millis() as i64,
                window_ms: SEEN_WINDOW.as_millis() as i64,
            };
            let here = cluster.here(channel, user_id, p).await;
            if here.map_err(cluster_err)? == Here::Full {
                return Err(full());
            }
        }
    }
    Ok(answer)
}

/// `DELETE …/presence`: `204`, gone now.
pub async fn leave(
    viewer: Viewer,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
) -> Response {
    let gone = async {
        public_channel(&state, &channel)?;
        match &state.cluster {
            None => state.people.gone(&channel, &viewer.user_id),
            Some(cluster) => cluster
                .gone(&channel, &viewer.user_id)
                .await
                .map_err(cluster_err)?,
        }
        Ok::<_, ApiError>(())
    };
    match gone.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
