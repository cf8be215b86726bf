//! Webhooks: URLs that post to one channel without the API token.
//!
//! The secret is in the URL; only its SHA-256 is stored. A wrong secret, an
//! unknown id and a revoked hook all answer the same `404`.

use crate::api::{hub_error, Authed};
use crate::error::{check_channel, decode_json, ApiError, ApiPath};
use crate::hub::{now_ms, random_bytes, Action, NewPost};
use crate::records;
use crate::store::Webhook;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use chyron_protocol::{validate_body, validate_sender, Source};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Sender name of a webhook created without one.
const DEFAULT_NAME: &str = "webhook";

/// Webhook management (token). The hook endpoint itself ([`hook`], no token)
/// is routed in `app`, behind the per-address limit of anonymous endpoints.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/channels/{channel}/webhooks",
            post(create).get(list),
        )
        .route("/api/v1/channels/{channel}/webhooks/{id}", delete(revoke))
}

/// Body of `POST …/webhooks`.
#[derive(Debug, Default, Deserialize)]
struct CreateBody {
    /// Default sender name for the hook's posts.
    name: Option<String>,
}

async fn create(
    _auth: Authed,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    check_channel(&channel)?;
    let req: CreateBody = match &body {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => CreateBody::default(),
        _ => decode_json(&headers, body)?,
    };
    let name = req.name.unwrap_or_else(|| DEFAULT_NAME.to_string());
    validate_sender(&name)
        .map_err(|e| ApiError::invalid_field(e.to_string().replace("`sender`", "`name`")))?;
    let rand = |e| ApiError::internal("random", e);
    let id = format!("wh{}", hex::encode(random_bytes::<8>().map_err(rand)?));
    let secret = hex::encode(random_bytes::<32>().map_err(rand)?);
    let hook = Webhook {
        id: id.clone(),
        channel: channel.clone(),
        name: name.clone(),
        secret_sha256: Sha256::digest(secret.as_bytes()).into(),
        created_at: now_ms(),
        revoked: false,
    };
    records::insert_webhook(&state, hook).await?;
    let base = match &state.config.public_url {
        Some(url) => url.clone(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            format!(
                "http://{}",
                host.map_or_else(|| state.config.listen.to_string(), str::to_string)
            )
        }
    };
    let url = format!("{base}/hooks/{id}/{secret}");
    let body = json!({"id": id, "url": url, "channel": channel, "name": name});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn list(
    _auth: Authed,
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_channel(&channel)?;
    let hooks = records::list_webhooks(&state, channel).await?;
    let shown: Vec<_> = hooks
        .into_iter()
        .map(|w| json!({"id": w.id, "name": w.name, "channel": w.channel, "created_at": w.created_at}))
        .collect();
    Ok(Json(json!({ "webhooks": shown })))
}

async fn revoke(
    _auth: Authed,
    State(state): State<AppState>,
    ApiPath((channel, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    check_channel(&channel)?;
    let revoked = records::revoke_webhook(&state, channel, id).await?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such webhook in this channel"))
    }
}

/// Body of `POST /hooks/{id}/{secret}`: Slack style or Chyron style.
#[derive(Debug, Deserialize)]
struct HookBody {
    /// Slack style: the text.
    text: Option<String>,
    /// Slack style: optional sender name overriding the hook's name.
    username: Option<String>,
    /// Chyron style: sender name.
    sender: Option<String>,
    /// Chyron style: the text.
    body: Option<String>,
}

/// `POST /hooks/{id}/{secret}`: posts to the hook's channel (no token; the secret
/// is the credential).
pub async fn hook(
    State(state): State<AppState>,
    ApiPath((id, secret)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found("no such webhook");
    let hook = records::get_webhook(&state, id.clone())
        .await?
        .ok_or_else(unknown)?;
    let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    if !bool::from(presented.ct_eq(&hook.secret_sha256)) || hook.revoked {
        return Err(unknown());
    }
    if let Some(secs) = state
        .hook_limiter
        .check(state.cluster.as_deref(), &id)
        .await
    {
        return Err(ApiError::rate_limited(secs));
    }
    let req: HookBody = decode_json(&headers, body)?;
    let (sender, text) = match req {
        HookBody {
            text: Some(text),
            username,
            ..
        } => (username.unwrap_or(hook.name), text),
        HookBody {
            sender: Some(sender),
            body: Some(body),
            ..
        } => (sender, body),
        HookBody { body: Some(_), .. } => {
            return Err(ApiError::invalid_field("missing field `sender`"))
        }
        _ => {
            return Err(ApiError::invalid_field(
                "expected `text` (Slack style) or `sender` and `body`",
            ))
        }
    };
    validate_sender(&sender).map_err(|e| ApiError::invalid_field(e.to_string()))?;
    let field = |e: chyron_protocol::InvalidInput| ApiError::invalid_field(e.to_string());
    validate_body(&text).map_err(field)?;
    let action = Action::Post(NewPost {
        sender_id: sender.clone(),
        sender,
        body: text,
        source: Source::Webhook,
        html: None,
        media: None,
        avatar: None,
    });
    let done = state
        .hub
        .append(&hook.channel, action)
        .await
        .map_err(hub_error)?;
    let id = done.message.map(|m| m.id).unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "seq": done.seq})),
    )
        .into_response())
}
