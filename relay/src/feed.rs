//! `GET /feed/{channel}`: the read-only caption websocket.
//!
//! Everything that can be refused is refused before the upgrade, as JSON
//! errors (origin, per-address connections, per-address loads of channels not
//! in memory). After it, [`serve_viewer`] (`feed/viewer.rs`) runs the
//! connection; it is generic over `Sink`/`Stream` so tests drive it without a
//! socket. A connection that floods pings, stops reading, or whose address
//! has too many bytes unsent is closed, so what one client holds in the relay
//! stays bounded.

use crate::client::ClientAddr;
use crate::error::{check_channel, ApiError, ApiPath};
use crate::hub::MAX_SNAPSHOT;
pub use crate::limits::{ConnGuard, ConnLimiter};
use crate::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use chyron_protocol::limits::MAX_CLIENT_FRAME_BYTES;
use futures_util::StreamExt;
use std::net::IpAddr;
use std::time::Duration;

mod viewer;
pub use viewer::{serve_viewer, Ended, Viewer, BATCH_BYTES};

/// A viewer whose socket accepts nothing for this long is disconnected.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Pings a viewer may send per [`PING_WINDOW`]; one more closes the socket
/// (1008). Browsers never send pings; proxies send a few a minute.
pub const MAX_PINGS: u32 = 20;

/// The window [`MAX_PINGS`] is counted in.
pub const PING_WINDOW: Duration = Duration::from_secs(10);

/// Cap of a socket's write buffer: more than the largest frame the relay
/// sends (a 200-message snapshot of 64 KiB Matrix events), so only a peer
/// that never reads can reach it.
pub const MAX_WRITE_BUFFER_BYTES: usize = 16 * 1024 * 1024;

/// The feed's query: `epoch`, `since`, `limit`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FeedQuery {
    /// Epoch of the client's last applied event, for resume.
    pub epoch: Option<String>,
    /// Seq of the client's last applied event; present means "resume".
    pub since: Option<u64>,
    /// Snapshot size, 1..=200.
    pub limit: Option<usize>,
}

/// Parses the raw query string, naming the parameter that is wrong.
pub fn parse_query(raw: Option<&str>) -> Result<FeedQuery, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
    let mut q = FeedQuery::default();
    for (key, value) in pairs {
        match key.as_str() {
            "epoch" if value.len() <= 64 => q.epoch = Some(value),
            "epoch" => return Err(ApiError::bad_request("`epoch` is longer than 64 bytes")),
            "since" => {
                let since = value.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "`since` must be a non-negative integer, not {value:?}"
                    ))
                })?;
                q.since = Some(since);
            }
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_SNAPSHOT).contains(&n) => q.limit = Some(n),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`limit` must be an integer from 1 to {MAX_SNAPSHOT}, not {value:?}"
                    )))
                }
            },
            _ => {}
        }
    }
    Ok(q)
}

/// Whether the `Origin` header is allowed: no list, no header (not a
/// browser), same origin as the request's `Host`, or on the list.
fn origin_allowed(allowed: &[String], headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    if allowed.is_empty() {
        return true;
    }
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let same = origin
        .split_once("://")
        .is_some_and(|(_, rest)| !host.is_empty() && rest.eq_ignore_ascii_case(host));
    same || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin))
}

/// The feed endpoint.
pub async fn handler(
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match prepare(&state, &channel, client, &headers, raw.as_deref(), ws).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn prepare(
    state: &AppState,
    channel: &str,
    client: IpAddr,
    headers: &HeaderMap,
    raw: Option<&str>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    check_channel(channel)?;
    if !origin_allowed(&state.config.allowed_origins, headers) {
        state.metrics.rejected("origin");
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this page's origin may not open the feed",
        ));
    }
    let query = parse_query(raw)?;
    let ws = ws.map_err(|r| {
        ApiError::new(
            r.status(),
            "bad_request",
            format!("expected a websocket upgrade: {r}"),
        )
    })?;
    let max = state.config.limits.max_connections_per_ip;
    let Some(guard) = state.conns.try_acquire(client, max) else {
        state.metrics.rejected("per_ip_limit");
        let mut e = ApiError::rate_limited(5);
        e.message = format!("more than {max} feed connections from one address");
        return Err(e);
    };
    let hub = state.hub.clone();
    if !hub.is_loaded(channel) {
        // A channel not in memory costs a load: counted per address, and
        // refused when every loaded channel is in use.
        let loads = &state.per_address.channel_loads;
        if let Some(secs) = loads.check(state.cluster.as_deref(), &client).await {
            state.metrics.rejected("channel_loads");
            let mut e = ApiError::rate_limited(secs.max(1));
            e.message = format!(
                "too many feeds of channels not in use from one address; retry after {} s",
                secs.max(1)
            );
            return Err(e);
        }
        if !hub.make_room().await {
            state.metrics.rejected("channels_loaded");
            let mut e = ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "too many channels in use; retry in a moment",
            );
            e.retry_after = Some(5);
            return Err(e);
        }
    }
    // In clustered mode a channel not in memory needs Redis: `503` without it.
    let ch = hub.channel(channel).await.map_err(crate::api::hub_error)?;
    let limit = query.limit.unwrap_or(state.config.limits.history);
    let resume = query.since.map(|since| (query.epoch.clone(), since));
    let sub = hub
        .subscribe(&ch, resume, limit)
        .await
        .map_err(|e| ApiError::internal("feed subscribe", e))?;
    let viewer = Viewer {
        hub,
        channel: ch,
        limit,
        metrics: state.metrics.clone(),
        shutdown: state.shutdown.clone(),
        ip: client,
        unsent: state.per_address.unsent.clone(),
    };
    let counted = state.people.watching(channel);
    Ok(ws
        // Viewers send next to nothing: a small read buffer (tungstenite's
        // default is 128 KiB) keeps thousands of idle viewers cheap.
        .read_buffer_size(READ_BUFFER_BYTES)
        // Frames are put in the buffer and flushed once per batch of queued
        // frames (`viewer.rs`): up to a batch stays in the buffer unwritten.
        .write_buffer_size(BATCH_BYTES)
        // Pongs queued to a peer that never reads stop here (and the ping
        // limit in `serve_viewer` closes such a peer long before).
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .max_frame_size(MAX_CLIENT_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            let (_slot, _counted) = (guard, counted);
            let metrics = viewer.metrics.clone();
            metrics.viewers.inc();
            let (sink, stream) = socket.split();
            let ended = serve_viewer(viewer, sub, sink, stream).await;
            tracing::debug!(?ended, "viewer left");
            metrics.viewers.dec();
        }))
}

/// Bytes read from a viewer's socket at a time. Viewers send pings and a
/// close, a few bytes each; the websocket library zero-fills the whole read
/// buffer before every read and keeps it for the connection's life, so 4 KiB
/// cost a page per viewer and a 4 KiB memset per read. A larger client frame
/// still arrives whole (the buffer grows to the frame, up to the size limit).
const READ_BUFFER_BYTES: usize = 256;

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
