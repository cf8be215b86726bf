//! Who is asking: a viewer proves their Matrix ID the way Matrix widgets do
//! (an OpenID token from their homeserver, checked by the relay with that
//! homeserver), and gets a relay session; or the organiser's API token.
//! No password or access token of the viewer ever reaches the relay.
//!
//! A session is `chs_` + base64url(user id, expiry, HMAC-SHA256 of both
//! under a key kept in SQLite): the relay keeps nothing per session, so a
//! stranger cannot grow its memory by signing in, and sessions survive a
//! restart.

use super::Moderation;
use crate::api::Authed;
use crate::error::{ApiError, ApiJson};
use crate::user_id::check_user_id;
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::Duration;

/// How long a session lasts.
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1000;
/// Prefix of every session token, telling it apart from API tokens.
pub const PREFIX: &str = "chs_";
/// Longest OpenID token the relay passes on to the homeserver.
const MAX_OPENID_TOKEN: usize = 512;
/// How long the homeserver may take to answer.
const HOMESERVER_TIMEOUT: Duration = Duration::from_secs(5);

type HmacSha256 = Hmac<Sha256>;

/// A session token for `user_id`, valid until `expires` (ms), under `key`.
pub fn sign(key: &[u8; 32], user_id: &str, expires: i64) -> String {
    let payload = format!("{user_id}\n{expires}");
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(payload.as_bytes());
    let mut bytes = payload.into_bytes();
    bytes.push(b'\n');
    bytes.extend_from_slice(&mac.finalize().into_bytes());
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The user id a session token names, if it is ours, intact and unexpired.
pub fn verify(key: &[u8; 32], token: &str, now: i64) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.strip_prefix(PREFIX)?.as_bytes())
        .ok()?;
    // user id \n expiry \n 32-byte MAC (which may itself hold '\n').
    let split = bytes.len().checked_sub(33)?;
    let (payload, rest) = bytes.split_at(split);
    if rest[0] != b'\n' {
        return None;
    }
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(payload);
    mac.verify_slice(&rest[1..]).ok()?;
    let text = std::str::from_utf8(payload).ok()?;
    let (user_id, expires) = text.split_once('\n')?;
    (expires.parse::<i64>().ok()? > now).then(|| user_id.to_string())
}

/// Who asks for a moderation action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The organiser's API token: full authority over every channel.
    Api,
    /// A signed-in viewer, by Matrix user id: their role decides.
    User(String),
}

impl Actor {
    /// How the log names them.
    pub fn name(&self) -> &str {
        match self {
            Actor::Api => "api",
            Actor::User(id) => id,
        }
    }
}

/// The bearer token of a request, if any.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// A signed-in viewer (a relay session), rate limited per user.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Their Matrix user id, proven with an OpenID token.
    pub user_id: String,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)
            .filter(|t| t.starts_with(PREFIX))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "missing `Authorization: Bearer chs_…` (a session from POST /chat/v1/session)",
                )
            })?;
        let m = &state.moderation;
        let key = m.session_key().await?;
        let user_id = verify(&key, token, crate::hub::now_ms()).ok_or_else(|| {
            ApiError::unauthorized("the session is invalid or expired; sign in again")
        })?;
        m.limit(state, &user_id).await?;
        Ok(Viewer { user_id })
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if bearer(parts).is_some_and(|t| t.starts_with(PREFIX)) {
            let viewer = Viewer::from_request_parts(parts, state).await?;
            return Ok(Actor::User(viewer.user_id));
        }
        Authed::from_request_parts(parts, state).await?;
        Ok(Actor::Api)
    }
}

/// Body of `POST /chat/v1/session`: what the homeserver's
/// `/openid/request_token` answered the viewer's client.
#[derive(Debug, Deserialize)]
pub struct SessionBody {
    /// The OpenID token.
    access_token: String,
    /// The homeserver that issued it: must be the relay's own.
    matrix_server_name: String,
}

/// `POST /chat/v1/session`: an OpenID token in, a relay session out.
pub async fn start(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SessionBody>,
) -> Result<Json<Value>, ApiError> {
    let Some(matrix) = &state.config.matrix else {
        return Err(ApiError::not_found(
            "this relay has no Matrix homeserver, so nobody can sign in to it",
        ));
    };
    let ours = matrix.user.server_name().as_str();
    if body.matrix_server_name != ours {
        return Err(ApiError::invalid_field(format!(
            "`matrix_server_name` must be {ours:?}: this relay checks tokens with its own homeserver only"
        )));
    }
    let token = body.access_token.trim();
    if token.is_empty()
        || token.len() > MAX_OPENID_TOKEN
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::invalid_field(format!(
            "`access_token` must be 1–{MAX_OPENID_TOKEN} printable ASCII characters"
        )));
    }
    let user_id = userinfo(state.moderation.as_ref(), matrix.homeserver.as_str(), token).await?;
    if user_id.rsplit_once(':').map(|(_, s)| s) != Some(ours) || check_user_id(&user_id).is_err() {
        return Err(openid_refused(
            "the homeserver named a user of another server",
        ));
    }
    let expires = crate::hub::now_ms() + SESSION_MS;
    let key = state.moderation.session_key().await?;
    Ok(Json(json!({
        "session": sign(&key, &user_id, expires),
        "user_id": user_id,
        "expires_at": expires,
    })))
}

fn openid_refused(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_openid",
        format!("the OpenID token was not accepted: {why}"),
    )
}

/// Asks the homeserver whose OpenID token this is (`sub`).
async fn userinfo(m: &Moderation, homeserver: &str, token: &str) -> Result<String, ApiError> {
    let query = serde_urlencoded::to_string([("access_token", token)])
        .map_err(|e| ApiError::internal("openid query", e))?;
    let url = format!(
        "{}/_matrix/federation/v1/openid/userinfo?{query}",
        homeserver.trim_end_matches('/')
    );
    let unavailable = |e: &dyn std::fmt::Display| {
        tracing::warn!("openid userinfo: {e}");
        ApiError::unavailable(
            "the homeserver could not be asked who you are; try again in a moment",
            crate::api::RETRY_AFTER_SECS,
        )
    };
    let res = m
        .http
        .get(url)
        .timeout(HOMESERVER_TIMEOUT)
        .send()
        .await
        .map_err(|e| unavailable(&e))?;
    let status = res.status();
    if status.is_server_error() {
        return Err(unavailable(&status));
    }
    if !status.is_success() {
        return Err(openid_refused(
            "the homeserver does not know it (forged or expired)",
        ));
    }
    let bytes = res.bytes().await.map_err(|e| unavailable(&e))?;
    let info: Value = serde_json::from_slice(&bytes)
        .map_err(|_| openid_refused("the homeserver's answer was not JSON"))?;
    info.get("sub")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| openid_refused("the homeserver's answer named nobody"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_names_its_user_until_it_expires_and_resists_tampering() {
        let key = [7u8; 32];
        let token = sign(&key, "@ann:hs", 1_000);
        assert_eq!(verify(&key, &token, 999).as_deref(), Some("@ann:hs"));
        assert_eq!(verify(&key, &token, 1_000), None, "expired");
        assert_eq!(verify(&[8u8; 32], &token, 0), None, "another relay's key");
        // Another user or a later expiry under the same MAC is refused.
        let forged = sign(&[9u8; 32], "@root:hs", 9_999);
        assert_eq!(verify(&key, &forged, 0), None);
        let body = URL_SAFE_NO_PAD.decode(&token[PREFIX.len()..]).unwrap();
        let mut swapped = b"@root:hs".to_vec();
        swapped.extend_from_slice(&body[b"@ann:hs".len()..]);
        let swapped = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(swapped));
        assert_eq!(verify(&key, &swapped, 0), None);
        for junk in ["", "chs_", "chs_!!!", "api-token", "chs_AAAA"] {
            assert_eq!(verify(&key, junk, 0), None, "{junk}");
        }
    }
}
