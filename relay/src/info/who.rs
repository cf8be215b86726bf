//! `GET /chat/v1/channels/{channel}/people[?lists=1]`: who is here, as
//! everyone sees it (counts), and for a moderator-or-up the lists of who
//! is present and who was seen. In clustered mode the counts are the
//! cluster's ([`super::shared`]).

use super::people::Present;
use super::{public, shared, write_seen, MAX_LIST, SEEN_WINDOW};
use crate::error::{ApiError, ApiPath};
use crate::event::now_ms;
use crate::live::public_channel;
use crate::moderation::roles::{actor_role, Role};
use crate::moderation::session::Actor;
use crate::records::cluster_err;
use crate::store::seen::{self, SeenRow};
use crate::AppState;
use axum::extract::{FromRequestParts, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

/// Longest query string taken (`lists=1` is 7 bytes).
pub const MAX_QUERY_BYTES: usize = 256;

/// Who is here, as everyone sees it.
#[derive(Debug, Serialize)]
pub struct Counts {
    /// Feed sockets of the channel open now (every live node's, clustered).
    pub viewers: usize,
    /// Signed-in chatters present now (deduplicated by user id).
    pub chatters: usize,
    /// People seen in the last [`SEEN_WINDOW`] (posted, or were present).
    pub seen: u64,
}

/// The answer: the counts, and for moderators the lists.
#[derive(Debug, Serialize)]
pub struct Answer {
    /// The counts everyone sees.
    #[serde(flatten)]
    pub counts: Counts,
    /// Chatters present, newest arrival first, at most [`MAX_LIST`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub present: Option<Vec<Present>>,
    /// People seen, newest first, at most [`MAX_LIST`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen_list: Option<Vec<SeenRow>>,
    /// Whether either list was cut at [`MAX_LIST`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lists_truncated: Option<bool>,
}

/// Whether the query asks for the lists (`lists=1`); a clear error for a
/// query too long or a `lists` that is neither `0` nor `1`.
pub fn parse_query(raw: Option<&str>) -> Result<bool, ApiError> {
    let raw = raw.unwrap_or("");
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(format!(
            "the query string is {} bytes; at most {MAX_QUERY_BYTES} are taken",
            raw.len()
        )));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
    let mut lists = false;
    for (key, value) in pairs {
        if key == "lists" {
            lists = match value.as_str() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`lists` must be 1 or 0, not {value:?}"
                    )))
                }
            };
        }
    }
    Ok(lists)
}

/// The handler: anonymous for the counts; the lists need moderator rights
/// (a relay session, or the API token).
pub async fn handler(
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> Response {
    let (mut parts, _) = req.into_parts();
    public(answer(&state, &channel, raw.as_deref(), &mut parts).await)
}

async fn answer(
    state: &AppState,
    channel: &str,
    raw: Option<&str>,
    parts: &mut Parts,
) -> Result<Answer, ApiError> {
    public_channel(state, channel)?;
    let lists = parse_query(raw)?;
    if lists {
        let actor = Actor::from_request_parts(parts, state).await?;
        let role = actor_role(&state.moderation, channel, &actor).await?;
        if role < Role::Moderator {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only the channel's moderators and owners may list who is here",
            ));
        }
    }
    write_seen(&state.people, state.hub.store()).await?;
    shared::pull_seen(state, channel).await?;
    let since = now_ms() - SEEN_WINDOW.as_millis() as i64;
    // Admins read unnoticed: a post of theirs is no sighting.
    let admins = state.config.chat.admins.clone();
    let owned = channel.to_string();
    let want = if lists { MAX_LIST + 1 } else { 0 };
    let (seen, mut seen_list) = state
        .hub
        .store()
        .call(move |c| {
            let n = seen::count(c, &owned, since, &admins)?;
            let list = seen::list(c, &owned, since, want, &admins)?;
            Ok((n, list))
        })
        .await
        .map_err(|e| ApiError::internal("seen", e))?;
    let (chatters, mut present) = chatters(state, channel, want).await?;
    let counts = Counts {
        viewers: shared::viewers(state, channel).await?,
        chatters,
        seen,
    };
    if !lists {
        return Ok(Answer {
            counts,
            present: None,
            seen_list: None,
            lists_truncated: None,
        });
    }
    let truncated = present.len() > MAX_LIST || seen_list.len() > MAX_LIST;
    present.truncate(MAX_LIST);
    seen_list.truncate(MAX_LIST);
    Ok(Answer {
        counts,
        present: Some(present),
        seen_list: Some(seen_list),
        lists_truncated: Some(truncated),
    })
}

/// How many chatters are present, and the `want` who arrived last.
async fn chatters(
    state: &AppState,
    channel: &str,
    want: usize,
) -> Result<(usize, Vec<Present>), ApiError> {
    let Some(cluster) = &state.cluster else {
        let now = tokio::time::Instant::now();
        let people = &state.people;
        let list = people.chatter_list(channel, now, want);
        return Ok((people.chatters(channel, now), list));
    };
    if want == 0 {
        let n = cluster.chatters(channel, now_ms()).await;
        return Ok((n.map_err(cluster_err)?, Vec::new()));
    }
    let (n, list) = cluster
        .present(channel, now_ms(), want)
        .await
        .map_err(cluster_err)?;
    let list = list
        .into_iter()
        .map(|(user_id, since)| Present { user_id, since })
        .collect();
    Ok((n, list))
}
