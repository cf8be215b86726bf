//! What moderators do to lines: mark an attachment safe or NSFW (every
//! viewer gets a `mark` frame), delete any line.

use super::log_action;
use super::roles::{require, Role};
use super::session::Actor;
use crate::api::hub_error;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::hub::{Action, Change, HubError};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chyron_protocol::Mark;
use serde::Deserialize;
use serde_json::{json, Value};

/// Body of `PUT …/marks/{message_id}`.
#[derive(Debug, Deserialize)]
pub struct MarkBody {
    /// `safe` or `nsfw`.
    mark: String,
}

/// `PUT …/moderation/marks/{message_id}`: every viewer gets a `mark` frame.
pub async fn mark(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath((channel, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<MarkBody>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "mark images").await?;
    let mark = match body.mark.as_str() {
        "safe" => Mark::Safe,
        "nsfw" => Mark::Nsfw,
        other => {
            return Err(ApiError::invalid_field(format!(
                "`mark` is {other:?}; it must be \"safe\" or \"nsfw\""
            )))
        }
    };
    let change = Change::Mark {
        id: id.clone(),
        mark,
    };
    let done = state
        .hub
        .append(&channel, change)
        .await
        .map_err(|e| match e {
            HubError::NotFound => {
                ApiError::not_found("no shown message with an attachment has that id")
            }
            other => hub_error(other),
        })?;
    log_action(
        &state.moderation,
        &channel,
        actor.name(),
        &format!("mark_{}", body.mark),
        &id,
        None,
        None,
    )
    .await;
    Ok(Json(
        json!({"channel": channel, "id": id, "mark": mark, "seq": done.seq}),
    ))
}

/// `DELETE …/moderation/messages/{message_id}` (a bridged line is redacted
/// in Matrix by the outbox).
pub async fn delete_message(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath((channel, id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "delete messages").await?;
    let done = state
        .hub
        .append(&channel, Action::Delete { id: id.clone() })
        .await
        .map_err(hub_error)?;
    log_action(
        &state.moderation,
        &channel,
        actor.name(),
        "delete",
        &id,
        None,
        None,
    )
    .await;
    Ok(Json(json!({"channel": channel, "id": id, "seq": done.seq})))
}
