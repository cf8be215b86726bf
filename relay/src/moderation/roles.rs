//! Who may do what where. Owners (config, or the API token) appoint
//! moderators for one event (a time window on one channel: the role ends
//! with it) or in general (every channel of that owner, until dismissed).
//! Admins moderate everywhere.

use super::records::RecordsError;
use super::session::{Actor, Viewer};
use super::{log_action, Moderation};
use crate::error::{check_channel, ApiError, ApiJson, ApiPath};
use crate::hub::now_ms;
use crate::store::moderation::Appointment;
use crate::user_id::check_user_id;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Longest event appointment: a long festival, not a permanent role.
pub const MAX_EVENT_MS: i64 = 14 * 24 * 60 * 60 * 1000;

/// What someone may do in a channel, most first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Anyone: reads and posts.
    Viewer,
    /// Times out, bans, marks and deletes.
    Moderator,
    /// Also appoints and dismisses moderators.
    Owner,
    /// The relay's admin: everything, everywhere.
    Admin,
}

/// The channel's owners: the config's, then those the API added.
pub async fn owners(m: &Moderation, channel: &str) -> Result<Vec<String>, RecordsError> {
    let mut all = m.config_owners.get(channel).cloned().unwrap_or_default();
    for o in m.records.owners(channel).await? {
        if !all.contains(&o) {
            all.push(o);
        }
    }
    Ok(all)
}

/// [`owners`] as the API answers a failure.
async fn owners_of(m: &Moderation, channel: &str) -> Result<Vec<String>, ApiError> {
    owners(m, channel).await.map_err(|e| e.api("owners"))
}

/// Where appointments for `channel` are kept: its own (event), and each
/// of its owners' (general).
fn scopes(channel: &str, owners: &[String]) -> Vec<String> {
    let mut scopes = vec![format!("channel:{channel}")];
    scopes.extend(owners.iter().map(|o| format!("owner:{o}")));
    scopes
}

/// `user_id`'s role in `channel` now, and when a moderator's role ends.
pub async fn role(
    m: &Moderation,
    channel: &str,
    user_id: &str,
) -> Result<(Role, Option<i64>), RecordsError> {
    if m.is_admin(user_id) {
        return Ok((Role::Admin, None));
    }
    let owners = owners(m, channel).await?;
    if owners.iter().any(|o| o == user_id) {
        return Ok((Role::Owner, None));
    }
    let scopes = scopes(channel, &owners);
    let found = m.records.appointments(scopes).await?;
    let now = now_ms();
    let held = found.iter().find(|a| {
        a.user_id == user_id
            && a.from.is_none_or(|from| from <= now)
            && a.until.is_none_or(|until| now < until)
    });
    Ok(match held {
        Some(a) => (Role::Moderator, a.until),
        None => (Role::Viewer, None),
    })
}

/// The actor's role in `channel` (the API token counts as admin).
pub async fn actor_role(m: &Moderation, channel: &str, actor: &Actor) -> Result<Role, ApiError> {
    match actor {
        Actor::Api => Ok(Role::Admin),
        Actor::User(id) => Ok(role(m, channel, id).await.map_err(|e| e.api("roles"))?.0),
    }
}

/// Refuses (and logs) an actor below `needed` in `channel`.
pub async fn require(
    state: &AppState,
    channel: &str,
    actor: &Actor,
    needed: Role,
    what: &str,
) -> Result<Role, ApiError> {
    check_channel(channel)?;
    let m = &state.moderation;
    let role = actor_role(m, channel, actor).await?;
    if role >= needed {
        return Ok(role);
    }
    let detail = format!("refused: needs {needed:?}, has {role:?}").to_lowercase();
    tracing::info!(channel, actor = actor.name(), what, "moderation refused");
    log_action(
        m,
        channel,
        actor.name(),
        &format!("refused_{what}"),
        "",
        None,
        Some(detail),
    )
    .await;
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "only a channel's {} may {what} (you are a {})",
            match needed {
                Role::Owner | Role::Admin => "owners",
                _ => "moderators and owners",
            },
            format!("{role:?}").to_lowercase()
        ),
    ))
}

/// `GET /chat/v1/channels/{c}/me`: the signed-in viewer's role and standing.
pub async fn me(
    viewer: Viewer,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    check_channel(&channel)?;
    let m = &state.moderation;
    let (role, until) = role(m, &channel, &viewer.user_id)
        .await
        .map_err(|e| e.api("roles"))?;
    let standing = super::reads::standing_json(m, &channel, &viewer.user_id);
    let mut body = json!({"user_id": viewer.user_id, "role": role});
    if let Some(until) = until {
        body["moderator_until"] = until.into();
    }
    merge(&mut body, standing);
    Ok(Json(body))
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

/// `GET …/owners` (moderators and up).
pub async fn list_owners(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "list owners").await?;
    let owners = owners_of(&state.moderation, &channel).await?;
    Ok(Json(json!({"channel": channel, "owners": owners})))
}

/// `PUT …/owners/{user_id}` (the API token or an admin).
pub async fn add_owner(
    actor: Actor,
    state: State<AppState>,
    path: ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_owner(actor, state, path, true).await
}

/// `DELETE …/owners/{user_id}` (the API token or an admin).
pub async fn remove_owner(
    actor: Actor,
    state: State<AppState>,
    path: ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_owner(actor, state, path, false).await
}

async fn set_owner(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath((channel, user_id)): ApiPath<(String, String)>,
    on: bool,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Admin, "change owners").await?;
    check_user_id(&user_id).map_err(ApiError::invalid_field)?;
    let changed = state
        .moderation
        .records
        .set_owner(&channel, &user_id, on, now_ms())
        .await
        .map_err(|e| e.api("owners"))?;
    let action = if on { "add_owner" } else { "remove_owner" };
    log_action(
        &state.moderation,
        &channel,
        actor.name(),
        action,
        &user_id,
        None,
        None,
    )
    .await;
    Ok(Json(
        json!({"channel": channel, "user_id": user_id, "owner": on, "changed": changed}),
    ))
}

/// `GET …/moderators` (moderators and up): this channel's appointments and
/// its owners' general ones, in force or still to come.
pub async fn list_moderators(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Moderator, "list moderators").await?;
    let m = &state.moderation;
    let scopes = scopes(&channel, &owners_of(m, &channel).await?);
    let mut list = m
        .records
        .appointments(scopes)
        .await
        .map_err(|e| e.api("moderators"))?;
    // Current and coming roles; an event that ended is history (the log).
    let now = now_ms();
    list.retain(|a| a.until.is_none_or(|until| until > now));
    Ok(Json(json!({"channel": channel, "moderators": list})))
}

/// Body of `PUT …/moderators/{user_id}`.
#[derive(Debug, Deserialize)]
pub struct AppointBody {
    /// `event` (this channel, `from`..`until`) or `general` (every
    /// channel of `owner`).
    scope: String,
    /// When an event appointment starts (default now), ms.
    #[serde(default)]
    from: Option<i64>,
    /// When an event appointment ends, ms; required for `event`.
    #[serde(default)]
    until: Option<i64>,
    /// Whose channels a general appointment covers: the signed-in owner
    /// themselves, or (API token) one of the channel's owners.
    #[serde(default)]
    owner: Option<String>,
}

/// `PUT …/moderators/{user_id}` (owners).
pub async fn appoint(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath((channel, user_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<AppointBody>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Owner, "appoint moderators").await?;
    check_user_id(&user_id).map_err(ApiError::invalid_field)?;
    let m = &state.moderation;
    let now = now_ms();
    let appointment = match body.scope.as_str() {
        "event" => {
            let from = body.from.unwrap_or(now);
            let until = body.until.ok_or_else(|| {
                ApiError::invalid_field("an `event` appointment needs `until` (ms since the epoch)")
            })?;
            if until <= from.max(now) || until - from > MAX_EVENT_MS {
                return Err(ApiError::invalid_field(
                    "`until` must be after `from` and now, and at most 14 days after `from`",
                ));
            }
            Appointment {
                scope: format!("channel:{channel}"),
                user_id: user_id.clone(),
                from: Some(from),
                until: Some(until),
                appointed_by: actor.name().to_string(),
            }
        }
        "general" => {
            let owner = general_owner(m, &channel, &actor, body.owner).await?;
            Appointment {
                scope: format!("owner:{owner}"),
                user_id: user_id.clone(),
                from: None,
                until: None,
                appointed_by: actor.name().to_string(),
            }
        }
        other => {
            return Err(ApiError::invalid_field(format!(
                "`scope` is {other:?}; it must be \"event\" or \"general\""
            )))
        }
    };
    m.records
        .appoint(&appointment, now)
        .await
        .map_err(|e| e.api("appoint"))?;
    let detail = serde_json::to_string(&appointment).ok();
    log_action(m, &channel, actor.name(), "appoint", &user_id, None, detail).await;
    let starts_later = super::role_clock::schedule(m, &channel, &appointment, now).await?;
    if !starts_later {
        // Into the moderators' room of the owner(s) whose moderator they are.
        let room_owners = match appointment.scope.strip_prefix("owner:") {
            Some(owner) => vec![owner.to_string()],
            None => owners_of(m, &channel).await?,
        };
        super::mirror::mod_room(m, &room_owners, &user_id, true).await;
        super::mirror::matrix(&state, &channel, super::mirror::Matrix::Promote(&user_id)).await;
    }
    Ok(Json(json!({"channel": channel, "moderator": appointment})))
}

/// Whose channels a general appointment covers.
async fn general_owner(
    m: &Moderation,
    channel: &str,
    actor: &Actor,
    asked: Option<String>,
) -> Result<String, ApiError> {
    let owners = owners_of(m, channel).await?;
    let owner = match (actor, asked) {
        (Actor::User(me), None) => me.clone(),
        (_, Some(o)) => o,
        (Actor::Api, None) => owners.first().cloned().ok_or_else(|| {
            ApiError::invalid_field("the channel has no owner: name one in `owner`")
        })?,
    };
    if !owners.contains(&owner) {
        return Err(ApiError::invalid_field(format!(
            "{owner:?} is not an owner of this channel"
        )));
    }
    Ok(owner)
}

/// `DELETE …/moderators/{user_id}` (owners): ends every appointment of
/// theirs this channel's owners made, for this channel or in general.
pub async fn dismiss(
    actor: Actor,
    State(state): State<AppState>,
    ApiPath((channel, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &channel, &actor, Role::Owner, "dismiss moderators").await?;
    let m = &state.moderation;
    let scopes = scopes(&channel, &owners_of(m, &channel).await?);
    let removed = m
        .records
        .dismiss(scopes, &user_id)
        .await
        .map_err(|e| e.api("dismiss"))?;
    if removed == 0 {
        return Err(ApiError::not_found(format!(
            "{user_id:?} is not a moderator here"
        )));
    }
    log_action(m, &channel, actor.name(), "dismiss", &user_id, None, None).await;
    let room_owners = owners_of(m, &channel).await?;
    super::mirror::mod_room(m, &room_owners, &user_id, false).await;
    super::mirror::matrix(&state, &channel, super::mirror::Matrix::Demote(&user_id)).await;
    Ok(Json(
        json!({"channel": channel, "user_id": user_id, "removed": removed}),
    ))
}
