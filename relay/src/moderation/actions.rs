//! What moderators do: time people out (2–10 minutes, lifted by itself),
//! ban and unban, mark attachments, delete lines; and what they read (a
//! person's karma, the log). Every action is checked here, logged, and
//! mirrored into the bridged Matrix room where the bot has the power.

use super::karma;
use super::mirror::{matrix, Matrix};
use super::roles::{actor_role, require, Role};
use super::session::Actor;
use super::{log_action, Moderation};
use crate::api::hub_error;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::hub::{now_ms, Action, HubError};
use crate::store::moderation::{self as db, Kind, Sanction};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chyron_protocol::validate_sender_id;
use serde::Deserialize;
use serde_json::{json, Value};

/// Longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 300;

/// Body of `POST …/timeouts`.
#[derive(Debug, Deserialize)]
pub struct TimeoutBody {
    /// Whom: a Matrix user id or an API sender name.
    user_id: String,
    /// How long, 120–600 seconds; default: suggested by their karma.
    #[serde(default)]
    seconds: Option<i64>,
    /// Why, shown to them.
    #[serde(default)]
    reason: Option<String>,
}

/// A target, checked (a sender id: a Matrix user id or an API name).
pub(super) fn check_target(user_id: &str) -> Result<(), ApiError> {
    target(user_id, None).map(|_| ())
}

/// A target and a reason, checked.
fn target(user_id: &str, reason: Option<String>) -> Result<Option<String>, ApiError> {
    validate_sender_id(user_id)
        .map_err(|e| ApiError::invalid_field(e.to_string().replace("`sender_id`", "`user_id`")))?;
    let Some(reason) = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
    else {
        return Ok(None);
    };
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid_field(format!(
            "`reason` is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    if reason
        .chars()
        .any(|c| c.is_control() || chyron_protocol::is_disguising(c))
    {
        return Err(ApiError::invalid_field(
            "`reason` holds a control or bidi character",
        ));
    }
    Ok(Some(reason))
}

/// Refuses sanctioning someone whose role is not below the actor's (a
/// moderator cannot time out the owner or another moderator).
async fn outranks(
    state: &AppState,
    channel: &str,
    actor: &Actor,
    whom: &str,
) -> Result<(), ApiError> {
    let mine = actor_role(&state.moderation, channel, actor).await?;
    let theirs = actor_role(&state.moderation, channel, &Actor::User(whom.to_string())).await?;
    if theirs != Role::Viewer && theirs >= mine {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{whom:?} is a {theirs:?} here: only someone above them may",).to_lowercase(),
        ));
    }
    Ok(())
}

/// The karma owner of a channel: its first owner ("" when it has none).
pub(super) async fn karma_owner(m: &Moderation, channel: &str) -> Result<String, ApiError> {
    let owners = super::roles::owners(m, channel).await;
    let owners = owners.map_err(|e| e.api("owners"))?;
    Ok(owners.into_iter().next().unwrap_or_default())
}

/// `POST …/moderation/timeouts`.
pub async fn time_out(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    ApiJson(body): ApiJson<TimeoutBody>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "time people out").await?;
    let reason = target(&body.user_id, body.reason)?;
    outranks(&state, &channel, &actor, &body.user_id).await?;
    let m = &state.moderation;
    let owner = karma_owner(m, &channel).await?;
    let now = now_ms();
    let week = m.seconds(karma::FORGIVE_AFTER_SECS);
    let (points, last) = m
        .records
        .karma(&owner, &body.user_id)
        .await
        .map_err(|e| e.api("karma"))?
        .unwrap_or((0, now));
    let secs = body
        .seconds
        .unwrap_or_else(|| karma::suggested_secs(karma::current(points, last, now, week)));
    if !(karma::MIN_SECS..=karma::MAX_SECS).contains(&secs) {
        return Err(ApiError::invalid_field(format!(
            "`seconds` must be {}–{} (2 to 10 minutes)",
            karma::MIN_SECS,
            karma::MAX_SECS
        )));
    }
    let sanction = Sanction {
        channel: channel.clone(),
        user_id: body.user_id.clone(),
        kind: Kind::Timeout,
        until: Some(now + m.seconds(secs)),
        reason: reason.clone(),
    };
    // A second timeout on someone timed out sets a new end; karma counts
    // the person's timeouts, not the extensions (decided where it is
    // stored, with the karma, in one step).
    let added = karma::after_timeout(points, last, now, week);
    let extended = m
        .records
        .put_timeout(&sanction, actor.name(), now, &owner, (added, now))
        .await
        .map_err(|e| e.api("timeout"))?;
    let karma = if extended {
        karma::current(points, last, now, week)
    } else {
        added
    };
    m.sanctions.put(&sanction);
    m.changed.notify_one();
    let until = sanction.until.unwrap_or(now);
    let detail = format!(
        "{secs} s, until {until}{}",
        if extended { ", extended" } else { "" }
    );
    log_action(
        m,
        &channel,
        actor.name(),
        "timeout",
        &body.user_id,
        reason,
        Some(detail),
    )
    .await;
    let minutes = (secs + 59) / 60;
    notice(
        &state,
        &channel,
        &body.user_id,
        &format!("was timed out for {minutes} minutes"),
    )
    .await;
    let matrix = matrix(&state, &channel, Matrix::Silence(&body.user_id)).await;
    Ok(Json(json!({
        "channel": channel, "user_id": body.user_id, "until": until, "seconds": secs,
        "karma": karma, "extended": extended, "matrix": matrix,
    })))
}

/// `DELETE …/moderation/timeouts/{user_id}`: lifted early.
pub async fn lift_timeout(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath((channel, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "lift timeouts").await?;
    if !lift(
        &state,
        &channel,
        &user_id,
        Kind::Timeout,
        actor.name(),
        None,
    )
    .await?
    {
        return Err(ApiError::not_found(format!(
            "{user_id:?} is not timed out here"
        )));
    }
    let matrix = matrix(&state, &channel, Matrix::Unsilence(&user_id)).await;
    Ok(Json(
        json!({"channel": channel, "user_id": user_id, "lifted": true, "matrix": matrix}),
    ))
}

/// Lifts a sanction in the records and memory, and logs it; whether this
/// lifted it. With `until` (a timeout's end reached), only a timeout still
/// ending then: of several nodes, one lifts and logs it, and a timeout
/// extended meanwhile stays (memory is read again from the records).
pub async fn lift(
    state: &AppState,
    channel: &str,
    user_id: &str,
    kind: Kind,
    actor: &str,
    until: Option<i64>,
) -> Result<bool, ApiError> {
    let m = &state.moderation;
    let lifted = m
        .records
        .lift(channel, user_id, kind, until)
        .await
        .map_err(|e| e.api("lift"))?;
    if lifted || until.is_none() {
        m.sanctions.remove(channel, user_id, kind);
    } else {
        m.refresh().await.map_err(|e| e.api("lift"))?;
    }
    m.changed.notify_one();
    if lifted {
        let action = match kind {
            Kind::Timeout if actor == super::RELAY => "timeout_ended",
            Kind::Timeout => "timeout_lifted",
            Kind::Ban => "unban",
        };
        log_action(m, channel, actor, action, user_id, None, None).await;
    }
    Ok(lifted)
}

/// Body of `POST …/bans`.
#[derive(Debug, Deserialize)]
pub struct BanBody {
    /// Whom.
    user_id: String,
    /// Why.
    #[serde(default)]
    reason: Option<String>,
}

/// `POST …/moderation/bans`: refused from now on, their lines cleared.
pub async fn ban(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    ApiJson(body): ApiJson<BanBody>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "ban people").await?;
    let reason = target(&body.user_id, body.reason)?;
    outranks(&state, &channel, &actor, &body.user_id).await?;
    let m = &state.moderation;
    let sanction = Sanction {
        channel: channel.clone(),
        user_id: body.user_id.clone(),
        kind: Kind::Ban,
        until: None,
        reason: reason.clone(),
    };
    m.records
        .put_sanction(&sanction, actor.name(), now_ms())
        .await
        .map_err(|e| e.api("ban"))?;
    m.sanctions.put(&sanction);
    // Their avatar stops being served with the ban (their attachments go
    // with their lines: only visible lines' previews are served); other
    // nodes forget it when they learn of the ban.
    m.forget_avatars(&channel, &body.user_id).await;
    // Their lines leave every overlay and chat (a Matrix ban does the same).
    let clear = Action::Clear {
        sender_id: body.user_id.clone(),
    };
    let removed = match state.hub.append(&channel, clear).await {
        Ok(done) => done.removed,
        Err(HubError::NotFound) => 0,
        Err(e) => return Err(hub_error(e)),
    };
    let detail = format!("{removed} lines removed");
    log_action(
        m,
        &channel,
        actor.name(),
        "ban",
        &body.user_id,
        reason.clone(),
        Some(detail),
    )
    .await;
    notice(&state, &channel, &body.user_id, "was removed from the chat").await;
    let matrix = matrix(&state, &channel, Matrix::Ban(&body.user_id, reason)).await;
    Ok(Json(json!({
        "channel": channel, "user_id": body.user_id, "banned": true, "removed": removed,
        "matrix": matrix,
    })))
}

/// `DELETE …/moderation/bans/{user_id}`.
pub async fn unban(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath((channel, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "unban people").await?;
    if !lift(&state, &channel, &user_id, Kind::Ban, actor.name(), None).await? {
        return Err(ApiError::not_found(format!(
            "{user_id:?} is not banned here"
        )));
    }
    let matrix = matrix(&state, &channel, Matrix::Unban(&user_id)).await;
    Ok(Json(
        json!({"channel": channel, "user_id": user_id, "banned": false, "matrix": matrix}),
    ))
}

/// Tells the channel, in a line from the relay, what happened to someone,
/// when its organiser chose `moderation_notices` (the person's name as
/// their last line showed it). A notice that fails is logged, not fatal.
async fn notice(state: &AppState, channel: &str, user_id: &str, what: &str) {
    let chat = &state.config.chat;
    if !chat
        .channels
        .get(channel)
        .is_some_and(|m| m.moderation_notices)
    {
        return;
    }
    let (c, u) = (channel.to_string(), user_id.to_string());
    let name = state
        .hub
        .store()
        .call(move |conn| db::last_name(conn, &c, &u))
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| user_id.to_string());
    let post = crate::hub::NewPost {
        sender: crate::bridge::gap::NOTICE_SENDER.into(),
        sender_id: crate::bridge::gap::NOTICE_SENDER_ID.into(),
        body: format!("{name} {what}."),
        source: chyron_protocol::Source::Other,
        html: None,
        media: None,
        avatar: None,
    };
    if let Err(e) = state.hub.append(channel, Action::Post(post)).await {
        tracing::warn!(channel, "moderation notice: {e}");
    }
}
