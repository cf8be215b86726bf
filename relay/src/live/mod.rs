//! Who is live: the DJs an organiser marks live on a public channel through
//! the Chat API (`PUT /api/v1/channels/{channel}/live`, listed by `GET`).
//! `GET /chat/channels` shows them ([`chyron_protocol::ChannelInfo::live`]),
//! and the full chat holds new private messages to them until the show ends.
//!
//! Each mark is committed ([`marks`]: to SQLite, or to Redis in clustered
//! mode) before it is acknowledged, so a relay restarted mid-show keeps the
//! DJ live.

mod marks;

pub use marks::{LiveDjs, LiveError, LiveMap};

use crate::api::Authed;
use crate::error::{check_channel, ApiError, ApiJson, ApiPath};
pub use crate::user_id::{check_user_id, MAX_USER_ID_BYTES};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use axum::{Json, Router};
use chyron_protocol::{is_disguising, validate_sender, InvalidInput};
use serde::Deserialize;
use serde_json::{json, Value};

/// Most DJs live at once on one channel: a show has a few, and the cap keeps
/// what a token holder can make every directory answer carry small.
pub const MAX_LIVE_PER_CHANNEL: usize = 16;

/// Checks a live DJ's name: a sender name (1–64 characters on one line, no
/// control characters) with nothing that could disguise it.
pub fn check_name(name: &str) -> Result<(), String> {
    validate_sender(name).map_err(|e| e.to_string().replace("`sender`", "`name`"))?;
    match name.chars().find(|c| is_disguising(*c)) {
        Some(found) => Err(InvalidInput::BadCharacter {
            field: "name",
            found,
        }
        .to_string()),
        None => Ok(()),
    }
}

/// The live routes of the Chat API (token).
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/channels/{channel}/live", put(mark).get(list))
}

/// Body of `PUT …/live`.
#[derive(Debug, Deserialize)]
struct MarkBody {
    /// The DJ's Matrix user id: whom private messages are held for.
    user_id: String,
    /// Live from now (`true`) or no longer (`false`).
    live: bool,
    /// What the chat calls them; read only with `live: true`.
    #[serde(default)]
    name: Option<String>,
}

/// `404` unless `channel` is one of the public channels: only those are in
/// the directory, so a mark anywhere else would reach nobody.
pub(crate) fn public_channel(state: &AppState, channel: &str) -> Result<(), ApiError> {
    check_channel(channel)?;
    let config = &state.config;
    if config
        .chat
        .public(config.matrix.as_ref())
        .iter()
        .any(|c| c == channel)
    {
        return Ok(());
    }
    Err(ApiError::not_found(format!(
        "`{channel}` is not a public channel of this relay (GET /chat/channels lists them)"
    )))
}

/// A refused or failed change as the API answers it.
pub fn live_error(e: LiveError) -> ApiError {
    match e {
        LiveError::Full => ApiError::new(
            StatusCode::CONFLICT,
            "too_many_live",
            format!(
                "the channel already has {MAX_LIVE_PER_CHANNEL} live DJs, the most it may have; \
                 mark one off first"
            ),
        ),
        LiveError::Store(e) => ApiError::internal("live store", e),
        LiveError::Cluster(e) => crate::records::cluster_err(e),
    }
}

async fn mark(
    _auth: Authed,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    ApiJson(req): ApiJson<MarkBody>,
) -> Result<Json<Value>, ApiError> {
    public_channel(&state, &channel)?;
    check_user_id(&req.user_id).map_err(ApiError::invalid_field)?;
    let live = if req.live {
        if let Some(name) = &req.name {
            check_name(name).map_err(ApiError::invalid_field)?;
        }
        state.live.start(&channel, &req.user_id, req.name).await
    } else {
        state.live.stop(&channel, &req.user_id).await
    };
    let live = live.map_err(live_error)?;
    Ok(Json(json!({"channel": channel, "live": live})))
}

async fn list(
    _auth: Authed,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    public_channel(&state, &channel)?;
    let live = state.live.list(&channel).await;
    let live = live.map_err(live_error)?;
    Ok(Json(json!({"channel": channel, "live": live})))
}

#[cfg(test)]
mod tests;
