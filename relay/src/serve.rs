//! The accept loop: hyper's connection builder with the timeouts `axum::serve`
//! cannot set, and a cap on open connections.
//!
//! - A client has `header_read_timeout_secs` to send a request's headers; the
//!   same timer ends a keep-alive connection that sends nothing more.
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
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
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
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
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
        let io = TokioIo::new(Counted {
            io: stream,
            _slot: slot,
            _open: OpenGauge::new(metrics.clone()),
        });
        let service = hyper::service::service_fn({
            let router = router.clone();
            move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(req)
            }
        });
        let (builder, mut stop) = (builder.clone(), stop.clone());
        conns.spawn(async move {
            let conn = builder.serve_connection_with_upgrades(io, service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
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
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, b)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
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
