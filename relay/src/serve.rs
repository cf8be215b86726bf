//! The accept loop: hyper's connection builder with the timeouts `axum::serve`
//! cannot set, and a cap on open connections.
//!
//! - A client has `header_read_timeout_secs` to send a request's headers
//!   (hyper's timer), and a connection with no request in flight that sends
//!   nothing for that long is closed (ours: hyper's timer does not start on a
//!   socket that never sends a byte, nor on an idle keep-alive one).
//! - At most `max_connections` TCP connections are open at once, websockets
//!   included (the slot lives as long as the socket, also after an upgrade).
//!   One more is answered `503` with the JSON error and closed at once, so
//!   half-sent requests cannot use up file descriptors.
//! - On shutdown it stops accepting, lets each connection finish its request,
//!   and returns when they have.

use crate::metrics::Metrics;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// What the accept loop needs besides the router.
pub struct ServeLimits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Time to send a request's headers (and the idle keep-alive limit).
    pub header_read_timeout: Duration,
}

/// Kernel send buffer of each connection (Linux doubles it): enough for a
/// feed's frames at any usual latency, and no more held for a peer that
/// never reads.
pub const SEND_BUFFER_BYTES: usize = 64 * 1024;

/// Read buffer of an HTTP connection at most.
const MAX_BUF_BYTES: usize = 64 * 1024;

/// The answer to a connection over the cap: the relay's JSON error, sent
/// without reading the request, then the socket is closed.
const OVER_CAP: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 5\r\nconnection: close\r\ncontent-length: 89\r\n\r\n\
{\"error\":{\"code\":\"unavailable\",\"message\":\"too many open connections; retry in a moment\"}}";

/// Serves `router` on `listener` until `stop` turns `true`, then waits for
/// the open HTTP connections to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    // HTTP/1 only: browsers speak HTTP/2 only over TLS (a proxy's job), and
    // telling the versions apart waits for a client's first bytes with no
    // timeout, so a socket that sends nothing would be held for ever.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // A request's head and buffered body bytes at most (hyper's default
        // is ~400 KiB per connection; bodies are limited to 32 KiB anyway).
        .max_buf_size(MAX_BUF_BYTES);
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut conns = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while conns.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.refused("connection_cap");
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        // A fixed kernel send buffer: what a peer that never reads pins in
        // the kernel is bounded, and the rest waits in the websocket's
        // buffer, where it is counted (`max_unsent_bytes_per_ip`).
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER_BYTES);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Counted {
            io: stream,
            activity: activity.clone(),
            _slot: slot,
            _open: OpenGauge::new(metrics.clone()),
        });
        let service = hyper::service::service_fn({
            let (router, activity) = (router.clone(), activity.clone());
            move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let busy = Busy::new(activity.clone());
                let answer = router.clone().oneshot(req);
                async move {
                    let res = answer.await;
                    drop(busy);
                    res
                }
            }
        });
        let (builder, mut stop, metrics) = (builder.clone(), stop.clone(), metrics.clone());
        let idle_limit = limits.header_read_timeout;
        conns.spawn(async move {
            let conn = builder.serve_connection_with_upgrades(io, service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
                // Dropping the connection closes it; nothing is in flight.
                _ = idle(&activity, idle_limit) => metrics.refused("idle_timeout"),
            }
            // Served, or upgraded to a websocket, whose socket lives on
            // without this timeout: its bytes need no more marking.
            activity.served.store(true, Ordering::Relaxed);
        });
    }
    while conns.join_next().await.is_some() {}
    Ok(())
}

/// Completes when `stop` turns `true` (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Answers a connection over the cap and closes it (bounded in time). The
/// request's first bytes are read if they come at once, so that clients see
/// the answer as a response to their request.
async fn refuse(mut stream: TcpStream) {
    let mut head = [0u8; 2048];
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut head)).await;
    let write = async {
        let _ = stream.write_all(OVER_CAP).await;
        let _ = stream.shutdown().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

/// When a connection last read or wrote a byte, and how many of its
/// requests are being answered.
struct Activity {
    /// The connection's start, the origin of `last_ms`.
    start: Instant,
    /// Milliseconds from `start` to the last byte read or written.
    last_ms: AtomicU64,
    /// Requests whose response is not ready yet.
    busy: AtomicUsize,
    /// The HTTP connection is over (a websocket's socket outlives it): the
    /// idle timeout no longer watches, so bytes are not marked (a feed
    /// writes a frame per viewer per event; reading the clock for each was
    /// a few per cent of the fan-out).
    served: AtomicBool,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            served: AtomicBool::new(false),
        }
    }

    fn touch(&self) {
        if self.served.load(Ordering::Relaxed) {
            return;
        }
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long since the last byte.
    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// One request being answered; the connection is not idle meanwhile.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: Arc<Activity>) -> Busy {
        activity.busy.fetch_add(1, Ordering::Relaxed);
        Busy(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// Completes once the connection has had no request in flight and no byte
/// in either direction for `limit`.
async fn idle(activity: &Activity, limit: Duration) {
    loop {
        let quiet = activity.quiet_for();
        let busy = activity.busy.load(Ordering::Relaxed) > 0;
        if !busy && quiet >= limit {
            return;
        }
        let wait = if busy { limit } else { limit - quiet };
        tokio::time::sleep(wait).await;
    }
}

/// Counts one open connection in the `chyron_connections` gauge.
struct OpenGauge(Arc<Metrics>);

impl OpenGauge {
    fn new(metrics: Arc<Metrics>) -> OpenGauge {
        metrics.connections.inc();
        OpenGauge(metrics)
    }
}

impl Drop for OpenGauge {
    fn drop(&mut self) {
        self.0.connections.dec();
    }
}

/// A socket holding its connection slot until it is dropped (a websocket
/// carries its socket, and so its slot, past the upgrade).
struct Counted {
    /// The socket.
    io: TcpStream,
    /// Marked on every byte read or written, for the idle timeout.
    activity: Arc<Activity>,
    /// The slot, given back on drop.
    _slot: OwnedSemaphorePermit,
    /// The open-connections gauge, decremented on drop.
    _open: OpenGauge,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, b);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Raises the soft limit of open files to the hard limit (the connection cap
/// is useless if the process runs out of descriptors first); returns the
/// limit now in force.
pub fn raise_fd_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_refusal_is_the_json_error_with_its_length() {
        let text = std::str::from_utf8(super::OVER_CAP).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "unavailable");
    }
}
