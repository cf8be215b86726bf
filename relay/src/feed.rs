//! `GET /feed/{channel}`: the read-only caption websocket.
//!
//! Everything that can be refused is refused before the upgrade, as JSON
//! errors (origin, per-address connections, per-address loads of channels not
//! in memory). After it, [`serve_viewer`] runs the connection; it is generic
//! over `Sink`/`Stream` so tests drive it without a socket. A connection that
//! floods pings, stops reading, or whose address has too many bytes unsent is
//! closed, so what one client holds in the relay stays bounded.

use crate::error::{check_channel, ApiError, ApiPath};
use crate::hub::{Channel, Hub, Subscription, MAX_SNAPSHOT};
use crate::limits::{self, Pings, UnsentBytes};
pub use crate::limits::{ConnGuard, ConnLimiter};
use crate::metrics::Metrics;
use crate::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocketUpgrade};
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use chyron_protocol::limits::MAX_CLIENT_FRAME_BYTES;
use chyron_protocol::ServerFrame;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast::error::RecvError, watch};

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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match prepare(&state, &channel, peer, &headers, raw.as_deref(), ws).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn prepare(
    state: &AppState,
    channel: &str,
    peer: SocketAddr,
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
    let client = limits::client(peer);
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
        if let Some(secs) = limits::check(&state.per_address.channel_loads, client) {
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
    let ch = hub
        .channel(channel)
        .await
        .map_err(|e| ApiError::internal("feed channel", e))?;
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
    Ok(ws
        // Viewers send next to nothing: a small read buffer (tungstenite's
        // default is 128 KiB) keeps thousands of idle viewers cheap.
        .read_buffer_size(READ_BUFFER_BYTES)
        // Every frame is flushed as it is sent; no write-side batching buffer.
        .write_buffer_size(0)
        // Pongs queued to a peer that never reads stop here (and the ping
        // limit in `serve_viewer` closes such a peer long before).
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .max_frame_size(MAX_CLIENT_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            let _slot = guard;
            let metrics = viewer.metrics.clone();
            metrics.viewers.inc();
            let (sink, stream) = socket.split();
            let ended = serve_viewer(viewer, sub, sink, stream).await;
            tracing::debug!(?ended, "viewer left");
            metrics.viewers.dec();
        }))
}

/// Bytes read from a viewer's socket at a time.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// What a connection needs besides its socket.
pub struct Viewer {
    /// For resyncing after lag.
    pub hub: Arc<Hub>,
    /// The channel watched.
    pub channel: Arc<Channel>,
    /// Snapshot size for resyncs.
    pub limit: usize,
    /// Frames sent and lagged resyncs are counted here.
    pub metrics: Arc<Metrics>,
    /// Becomes `true` when the relay shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// The client's address, whose unsent bytes are counted.
    pub ip: IpAddr,
    /// Bytes of frames being written, per address: a frame that would pass
    /// the address's limit closes the feed (1013) instead of being held.
    pub unsent: Arc<UnsentBytes>,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client closed or went away.
    ClientClosed,
    /// The client sent a frame over the size limit (closed with 1009).
    TooBig,
    /// A send blocked longer than [`SEND_TIMEOUT`].
    SendTimedOut,
    /// The socket failed.
    Failed,
    /// The relay is shutting down (closed with 1001).
    Shutdown,
    /// The client sent more than [`MAX_PINGS`] pings in a [`PING_WINDOW`]
    /// (closed with 1008).
    PingFlood,
    /// Its address had too many bytes unsent already (closed with 1013).
    TooMuchUnsent,
}

/// Runs one viewer: its first frames, then live frames, answering client data
/// frames with `read_only`, until it leaves, stalls or the relay stops.
pub async fn serve_viewer<S, R, E>(
    mut viewer: Viewer,
    sub: Subscription,
    mut sink: S,
    mut stream: R,
) -> Ended
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: std::error::Error + 'static,
{
    let mut rx = sub.rx;
    for frame in sub.first {
        if let Err(ended) = send(&mut sink, Message::Text(frame), &viewer).await {
            return ended;
        }
    }
    let mut pings = Pings::new(MAX_PINGS, PING_WINDOW);
    loop {
        let step = tokio::select! {
            biased;
            _ = stopped(&mut viewer.shutdown) => {
                let close = CloseFrame { code: close_code::AWAY, reason: "relay restarting".into() };
                let _ = send(&mut sink, Message::Close(Some(close)), &viewer).await;
                return Ended::Shutdown;
            }
            incoming = stream.next() => match incoming {
                None | Some(Ok(Message::Close(_))) => return Ended::ClientClosed,
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    let frame = ServerFrame::Error {
                        code: "read_only".into(),
                        message: "the feed is read-only; post through the Chat API".into(),
                    };
                    let text = serde_json::to_string(&frame).unwrap_or_default();
                    send(&mut sink, Message::Text(text.into()), &viewer).await
                }
                // The websocket library queues the pong itself; we see that
                // it leaves (a peer that never reads is closed, its pongs
                // never pile up) and close a peer that floods pings.
                Some(Ok(Message::Ping(_))) => {
                    if !pings.allow(tokio::time::Instant::now()) {
                        viewer.metrics.refused("ping_flood");
                        let close = CloseFrame { code: close_code::POLICY, reason: "too many pings".into() };
                        let _ = send(&mut sink, Message::Close(Some(close)), &viewer).await;
                        return Ended::PingFlood;
                    }
                    flush(&mut sink).await
                }
                Some(Ok(Message::Pong(_))) => Ok(()),
                Some(Err(e)) if too_big(&e) => {
                    let close = CloseFrame { code: close_code::SIZE, reason: "frame too large".into() };
                    let _ = send(&mut sink, Message::Close(Some(close)), &viewer).await;
                    return Ended::TooBig;
                }
                Some(Err(_)) => return Ended::Failed,
            },
            live = rx.recv() => match live {
                Ok(frame) => send(&mut sink, Message::Text(frame), &viewer).await,
                Err(lag_or_closed) => {
                    let fresh = if let RecvError::Lagged(_) = lag_or_closed {
                        viewer.metrics.lagged_resyncs.inc();
                        viewer.hub.resync(&viewer.channel, viewer.limit).await
                    } else {
                        // The channel's queue grew (its first append since
                        // it loaded): continue on the new one.
                        viewer.hub.rejoin(&viewer.channel, viewer.limit).await
                    };
                    let Ok(fresh) = fresh else {
                        return Ended::Failed;
                    };
                    rx = fresh.rx;
                    for frame in fresh.first {
                        if let Err(ended) = send(&mut sink, Message::Text(frame), &viewer).await {
                            return ended;
                        }
                    }
                    Ok(())
                }
            },
        };
        if let Err(ended) = step {
            return ended;
        }
    }
}

/// Sends one message within [`SEND_TIMEOUT`]. A data frame's bytes count
/// against its address's unsent bytes until written; past the limit the feed
/// is closed (1013, try again later) instead.
async fn send<S: Sink<Message> + Unpin>(
    sink: &mut S,
    msg: Message,
    viewer: &Viewer,
) -> Result<(), Ended> {
    let Message::Text(text) = &msg else {
        return timed(sink.send(msg)).await;
    };
    let Some(_unsent) = viewer.unsent.try_take(viewer.ip, text.len()) else {
        viewer.metrics.refused("unsent_bytes");
        let close = CloseFrame {
            code: close_code::AGAIN,
            reason: "too much unsent to this address".into(),
        };
        let _ = timed(sink.send(Message::Close(Some(close)))).await;
        return Err(Ended::TooMuchUnsent);
    };
    timed(sink.send(msg)).await?;
    viewer.metrics.frames_sent.inc();
    Ok(())
}

/// Waits until what the socket holds is written (a peer that never reads
/// fails here within [`SEND_TIMEOUT`]).
async fn flush<S: Sink<Message> + Unpin>(sink: &mut S) -> Result<(), Ended> {
    timed(sink.flush()).await
}

async fn timed<E>(io: impl std::future::Future<Output = Result<(), E>>) -> Result<(), Ended> {
    match tokio::time::timeout(SEND_TIMEOUT, io).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Ended::Failed),
        Err(_) => Err(Ended::SendTimedOut),
    }
}

/// Completes when the relay shuts down (or the signal's sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}

/// Whether a read error is a frame over the size limit.
fn too_big(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(tungstenite::Error::Capacity(_)) = err.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        current = err.source();
    }
    false
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
