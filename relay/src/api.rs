//! The HTTP Chat API under `/api/v1` (token-authenticated, rate limited).

use crate::error::{check_channel, ApiError, ApiJson, ApiPath};
use crate::hub::{Action, HubError, NewPost};
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use chyron_protocol::{validate_body, validate_sender, validate_sender_id, Source};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

/// The Chat API's routes (webhook management is in [`crate::webhooks`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/channels/{channel}/messages", post(post_message))
        .route(
            "/api/v1/channels/{channel}/messages/{id}",
            put(edit_message).delete(delete_message),
        )
        .route(
            "/api/v1/channels/{channel}/users/{sender_id}/clear",
            post(clear_sender),
        )
}

/// Proof that the request carried a configured API token, within its rate.
#[derive(Debug, Clone, Copy)]
pub struct Authed {
    /// Which configured token it was: the rate-limit key.
    pub token_index: usize,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let presented = value
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                ApiError::unauthorized("missing `Authorization: Bearer <token>` header")
            })?;
        let digest = crate::config::ApiToken::new(presented).digest;
        let mut found = None;
        for (i, token) in state.config.api_tokens.iter().enumerate() {
            if bool::from(token.digest.ct_eq(&digest)) {
                found = Some(i);
            }
        }
        let token_index = found.ok_or_else(|| {
            if state.config.api_tokens.is_empty() {
                ApiError::unauthorized(
                    "this relay has no API token configured (set CHYRON_API_TOKEN or api_token)",
                )
            } else {
                ApiError::unauthorized("invalid API token")
            }
        })?;
        let cluster = state.cluster.as_deref();
        if let Some(secs) = state.api_limiter.check(cluster, &token_index).await {
            return Err(ApiError::rate_limited(secs));
        }
        Ok(Authed { token_index })
    }
}

/// Seconds a client is told to wait when the cluster's Redis is unreachable.
pub const RETRY_AFTER_SECS: u64 = 2;

/// Maps a hub failure to the HTTP error.
pub fn hub_error(e: HubError) -> ApiError {
    match e {
        HubError::NotFound => {
            ApiError::not_found("no such message (unknown id, or already deleted)")
        }
        HubError::InvalidChannel(why) => ApiError::invalid_field(why.to_string()),
        HubError::Refused(why) => refused(&why),
        HubError::Unavailable(why) => {
            tracing::warn!("append refused: {why}");
            ApiError::unavailable(
                "the cluster's Redis cannot be reached; nothing was posted; retry in a moment",
                RETRY_AFTER_SECS,
            )
        }
        other => ApiError::internal("append", other),
    }
}

/// `403 banned` or `403 timed_out` (with the end as `until`, in the message).
pub fn refused(why: &crate::hub::Refusal) -> ApiError {
    let reason = why
        .reason
        .as_deref()
        .map(|r| format!(" (reason: {r})"))
        .unwrap_or_default();
    match (why.banned, why.until) {
        (true, _) | (false, None) => ApiError::new(
            StatusCode::FORBIDDEN,
            "banned",
            format!("this sender is banned from the channel{reason}; nothing was posted"),
        ),
        (false, Some(until)) => ApiError::new(
            StatusCode::FORBIDDEN,
            "timed_out",
            format!(
                "this sender is timed out until {until} (ms since the Unix epoch){reason}; \
                 nothing was posted"
            ),
        ),
    }
}

fn invalid(e: chyron_protocol::InvalidInput) -> ApiError {
    ApiError::invalid_field(e.to_string())
}

/// Body of `POST …/messages`.
#[derive(Debug, Deserialize)]
pub struct PostBody {
    /// Display name; also the sender identity for API posts.
    sender: String,
    /// The text.
    body: String,
}

async fn post_message(
    _auth: Authed,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    ApiJson(req): ApiJson<PostBody>,
) -> Result<Response, ApiError> {
    check_channel(&channel)?;
    validate_sender(&req.sender).map_err(invalid)?;
    validate_sender_id(&req.sender).map_err(invalid)?;
    validate_body(&req.body).map_err(invalid)?;
    let action = Action::Post(NewPost {
        sender_id: req.sender.clone(),
        sender: req.sender,
        body: req.body,
        source: Source::Api,
        html: None,
        media: None,
        avatar: None,
    });
    let done = state
        .hub
        .append(&channel, action)
        .await
        .map_err(hub_error)?;
    let message = done
        .message
        .ok_or_else(|| ApiError::internal("post", "no message"))?;
    let body = json!({"id": message.id, "seq": done.seq, "channel": channel, "message": message});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Body of `PUT …/messages/{id}`.
#[derive(Debug, Deserialize)]
pub struct EditBody {
    /// The new text.
    body: String,
}

async fn edit_message(
    _auth: Authed,
    State(state): State<AppState>,
    ApiPath((channel, id)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<EditBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_channel(&channel)?;
    validate_body(&req.body).map_err(invalid)?;
    let done = state
        .hub
        .append(
            &channel,
            Action::Edit {
                id: id.clone(),
                body: req.body,
                html: None,
            },
        )
        .await
        .map_err(hub_error)?;
    Ok(Json(json!({"id": id, "seq": done.seq})))
}

async fn delete_message(
    _auth: Authed,
    State(state): State<AppState>,
    ApiPath((channel, id)): ApiPath<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_channel(&channel)?;
    let done = state
        .hub
        .append(&channel, Action::Delete { id: id.clone() })
        .await
        .map_err(hub_error)?;
    Ok(Json(json!({"id": id, "seq": done.seq})))
}

async fn clear_sender(
    _auth: Authed,
    State(state): State<AppState>,
    ApiPath((channel, sender_id)): ApiPath<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_channel(&channel)?;
    validate_sender_id(&sender_id).map_err(invalid)?;
    let done = state
        .hub
        .append(&channel, Action::Clear { sender_id })
        .await
        .map_err(hub_error)?;
    Ok(Json(json!({"seq": done.seq, "removed": done.removed})))
}
