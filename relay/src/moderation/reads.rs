//! What moderators and viewers read: a person's standing, karma and the
//! suggested timeout, the moderation log.

use super::actions::check_target;
use super::karma;
use super::roles::{require, Role};
use super::session::Actor;
use super::Moderation;
use crate::error::{check_channel, ApiError, ApiPath};
use crate::hub::now_ms;
use crate::AppState;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

/// A person's standing as JSON: `{"timeout"?: {until, reason?}, "banned"}`.
pub fn standing_json(m: &Moderation, channel: &str, user_id: &str) -> Value {
    let s = m.sanctions.get(channel, user_id);
    let mut body = json!({"banned": s.ban.is_some()});
    if let Some((until, reason)) = s.timeout.filter(|(until, _)| *until > now_ms()) {
        body["timeout"] = json!({"until": until, "reason": reason});
    }
    body
}

/// `GET /chat/v1/channels/{c}/standing/{user_id}` (anonymous): for a guest,
/// who cannot prove who they are, whether they are timed out and why.
pub async fn standing(
    State(state): State<AppState>,
    ApiPath((channel, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    check_channel(&channel)?;
    check_target(&user_id)?;
    Ok(Json(standing_json(&state.moderation, &channel, &user_id)))
}

/// `GET …/moderation/users/{user_id}`: karma, the suggested timeout, standing.
pub async fn user(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath((channel, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "read karma").await?;
    check_target(&user_id)?;
    let m = &state.moderation;
    let owner = super::actions::karma_owner(m, &channel).await?;
    let now = now_ms();
    let (points, last) = m
        .records
        .karma(&owner, &user_id)
        .await
        .map_err(|e| e.api("karma"))?
        .unwrap_or((0, now));
    let karma = karma::current(points, last, now, m.seconds(karma::FORGIVE_AFTER_SECS));
    let mut body = json!({
        "channel": channel, "user_id": user_id, "karma": karma,
        "suggested_seconds": karma::suggested_secs(karma),
    });
    if let (Some(o), Value::Object(s)) =
        (body.as_object_mut(), standing_json(m, &channel, &user_id))
    {
        o.extend(s);
    }
    Ok(Json(body))
}

/// `?limit=&before=` of the log.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    /// At most this many lines (1–200, default 50).
    #[serde(default)]
    limit: Option<usize>,
    /// Lines older than this id.
    #[serde(default)]
    before: Option<i64>,
}

/// `GET …/moderation/log`: newest first.
pub async fn log(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "read the log").await?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_field("`limit` must be 1–200"));
    }
    let before = q.before.unwrap_or(i64::MAX);
    let lines = state
        .moderation
        .records
        .log_page(&channel, before, limit)
        .await
        .map_err(|e| e.api("log"))?;
    Ok(Json(json!({"channel": channel, "log": lines})))
}
