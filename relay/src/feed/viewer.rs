//! One viewer's connection after the upgrade: its first frames, then live
//! frames as the channel's queue brings them, until it leaves, stalls, floods
//! pings or the relay stops.
//!
//! The fan-out's hot path: a post wakes every viewer's task once. The task
//! takes every frame already queued for it (up to [`BATCH_BYTES`]), puts
//! them in the socket's buffer and flushes once, so a viewer that fell a few
//! frames behind catches up in one write instead of one per frame. Frames are
//! serialized once per event by the hub and shared; only the websocket
//! header is per viewer. A wake for frames does not also read the socket
//! (see [`LIVE_BEFORE_READ`]), and the shutdown signal is waited on once per
//! connection, not once per frame.

use super::{MAX_PINGS, PING_WINDOW, SEND_TIMEOUT};
use crate::hub::{Channel, Hub, Subscription};
use crate::limits::{Pings, UnsentBytes};
use crate::metrics::Metrics;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes};
use chyron_protocol::ServerFrame;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::watch;

/// Bytes of queued frames a viewer writes at once at most: a few dozen
/// chat lines, small beside the socket's kernel buffer.
pub const BATCH_BYTES: usize = 16 * 1024;

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
    /// Bytes of frames being written, per address: a batch that would pass
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
    viewer: Viewer,
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
    if let Err(ended) = send_all(&mut sink, sub.first, &viewer).await {
        return ended;
    }
    let mut pings = Pings::new(MAX_PINGS, PING_WINDOW);
    // Waits on the shutdown signal once for the connection's life, not once
    // per frame (each wait joins a list that every viewer shares).
    let mut shutdown = viewer.shutdown.clone();
    let stop = stopped(&mut shutdown);
    tokio::pin!(stop);
    let mut live_in_a_row = 0;
    loop {
        let read_first = live_in_a_row >= LIVE_BEFORE_READ;
        let (step, read) = next_step(stop.as_mut(), &mut stream, &mut rx, read_first).await;
        live_in_a_row = if read { 0 } else { live_in_a_row + 1 };
        let done = match step {
            Step::Stop => {
                close(&mut sink, close_code::AWAY, "relay restarting").await;
                return Ended::Shutdown;
            }
            Step::Incoming(incoming) => match incoming {
                None | Some(Ok(Message::Close(_))) => return Ended::ClientClosed,
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    let frame = ServerFrame::Error {
                        code: "read_only".into(),
                        message: "the feed is read-only; post through the Chat API".into(),
                    };
                    let text = serde_json::to_string(&frame).unwrap_or_default();
                    send(&mut sink, text.into(), &viewer).await
                }
                // The websocket library queues the pong itself; we see that
                // it leaves (a peer that never reads is closed, its pongs
                // never pile up) and close a peer that floods pings.
                Some(Ok(Message::Ping(_))) => {
                    if !pings.allow(tokio::time::Instant::now()) {
                        viewer.metrics.refused("ping_flood");
                        close(&mut sink, close_code::POLICY, "too many pings").await;
                        return Ended::PingFlood;
                    }
                    timed(sink.flush()).await
                }
                Some(Ok(Message::Pong(_))) => Ok(()),
                Some(Err(e)) if too_big(&e) => {
                    close(&mut sink, close_code::SIZE, "frame too large").await;
                    return Ended::TooBig;
                }
                Some(Err(_)) => return Ended::Failed,
            },
            Step::Live(live) => {
                let (batch, broke) = match live {
                    Ok(frame) => ready_after(frame, &mut rx),
                    Err(e) => (Vec::new(), Some(e)),
                };
                let sent = send_all(&mut sink, batch, &viewer).await;
                match (sent, broke) {
                    (Ok(()), Some(e)) => restart(&viewer, e, &mut rx, &mut sink).await,
                    (sent, _) => sent,
                }
            }
        };
        if let Err(ended) = done {
            return ended;
        }
    }
}

/// Live batches written in a row before the socket is read first: a viewer
/// wakes for frames, and reading its socket on every wake (through the
/// websocket's lock, its read buffer and the socket's readiness) cost as
/// much as the write; still, a steady feed never keeps a client's close or
/// pings unread for longer than this many batches.
pub const LIVE_BEFORE_READ: u32 = 8;

/// What woke a viewer.
enum Step<E> {
    /// The relay is shutting down.
    Stop,
    /// Something from the client (`None`: it went away).
    Incoming(Option<Result<Message, E>>),
    /// The channel's queue: a frame, or that it lagged or closed.
    Live(Result<Utf8Bytes, RecvError>),
}

/// The next thing to do, and whether the socket was read (polled) on the
/// way: the shutdown first, then the queue, then the socket; the socket
/// before the queue if `read_first`.
async fn next_step<R, E>(
    mut stop: Pin<&mut impl Future<Output = ()>>,
    stream: &mut R,
    rx: &mut broadcast::Receiver<Utf8Bytes>,
    read_first: bool,
) -> (Step<E>, bool)
where
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let recv = rx.recv();
    tokio::pin!(recv);
    let mut read = false;
    let step = std::future::poll_fn(|cx| {
        if stop.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Step::Stop);
        }
        if read_first {
            read = true;
            if let Poll::Ready(incoming) = stream.poll_next_unpin(cx) {
                return Poll::Ready(Step::Incoming(incoming));
            }
        }
        if let Poll::Ready(live) = recv.as_mut().poll(cx) {
            return Poll::Ready(Step::Live(live));
        }
        if !read_first {
            read = true;
            if let Poll::Ready(incoming) = stream.poll_next_unpin(cx) {
                return Poll::Ready(Step::Incoming(incoming));
            }
        }
        Poll::Pending
    })
    .await;
    (step, read)
}

/// `first` and the frames queued behind it, up to [`BATCH_BYTES`]; and the
/// queue's error if it lagged or closed meanwhile (handled after the batch
/// is written, as [`restart`]).
pub(super) fn ready_after(
    first: Utf8Bytes,
    rx: &mut broadcast::Receiver<Utf8Bytes>,
) -> (Vec<Utf8Bytes>, Option<RecvError>) {
    let mut bytes = first.len();
    let mut batch = vec![first];
    while bytes < BATCH_BYTES {
        match rx.try_recv() {
            Ok(frame) => {
                bytes += frame.len();
                batch.push(frame);
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Lagged(n)) => return (batch, Some(RecvError::Lagged(n))),
            Err(TryRecvError::Closed) => return (batch, Some(RecvError::Closed)),
        }
    }
    (batch, None)
}

/// After the queue lagged (a `lagged` snapshot) or closed because the
/// channel's queue grew (the missed events, see `hub::fanout`): the fresh
/// start's frames, and its receiver in place of `rx`.
async fn restart<S: Sink<Message> + Unpin>(
    viewer: &Viewer,
    lag_or_closed: RecvError,
    rx: &mut broadcast::Receiver<Utf8Bytes>,
    sink: &mut S,
) -> Result<(), Ended> {
    // Boxed: a fresh start may read SQLite, Redis or PostgreSQL, and its
    // future would otherwise be part of every viewer's task for as long as
    // it is connected (memory per viewer; `a_viewer_task_stays_small`).
    let fresh = if let RecvError::Lagged(_) = lag_or_closed {
        viewer.metrics.lagged_resyncs.inc();
        Box::pin(viewer.hub.resync(&viewer.channel, viewer.limit)).await
    } else {
        Box::pin(viewer.hub.rejoin(&viewer.channel, viewer.limit)).await
    };
    let fresh = fresh.map_err(|_| Ended::Failed)?;
    *rx = fresh.rx;
    send_all(sink, fresh.first, viewer).await
}

/// Writes text frames with one flush, within [`SEND_TIMEOUT`]. Their bytes
/// count against the address's unsent bytes until written; past the limit
/// the feed is closed (1013, try again later) instead.
async fn send_all<S: Sink<Message> + Unpin>(
    sink: &mut S,
    frames: Vec<Utf8Bytes>,
    viewer: &Viewer,
) -> Result<(), Ended> {
    if frames.is_empty() {
        return Ok(());
    }
    let (count, bytes) = (frames.len(), frames.iter().map(|f| f.len()).sum());
    let Some(_unsent) = viewer.unsent.try_take(viewer.ip, bytes) else {
        viewer.metrics.refused("unsent_bytes");
        close(sink, close_code::AGAIN, "too much unsent to this address").await;
        return Err(Ended::TooMuchUnsent);
    };
    timed(async {
        for frame in frames {
            sink.feed(Message::Text(frame)).await?;
        }
        sink.flush().await
    })
    .await?;
    viewer.metrics.frames_sent.inc_by(count as u64);
    Ok(())
}

/// Sends one text frame as [`send_all`].
async fn send<S: Sink<Message> + Unpin>(
    sink: &mut S,
    text: Utf8Bytes,
    viewer: &Viewer,
) -> Result<(), Ended> {
    send_all(sink, vec![text], viewer).await
}

/// Sends a close frame within [`SEND_TIMEOUT`], whatever becomes of it.
async fn close<S: Sink<Message> + Unpin>(sink: &mut S, code: u16, reason: &'static str) {
    let close = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = timed(sink.send(Message::Close(Some(close)))).await;
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
