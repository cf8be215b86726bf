use super::*;
use crate::hub::tests::{post, test_hub};
use crate::hub::{Hub, Subscription};
use crate::metrics::Metrics;
use axum::extract::ws::{close_code, Message};
use chyron_protocol::{ServerFrame, Snapshot, SnapshotReason};
use futures_util::{sink, stream};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

#[path = "feed_batch_tests.rs"]
mod batch;

type ClientTx = mpsc::UnboundedSender<Result<Message, tungstenite::Error>>;

struct Rig {
    /// A hub on a temporary database.
    hub: Arc<Hub>,
    /// The shutdown signal viewers watch.
    stop: watch::Sender<bool>,
    /// Keeps the database directory alive for the test.
    _dir: tempfile::TempDir,
}

async fn rig(broadcast_capacity: usize) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let hub = Arc::new(test_hub(dir.path(), 64, broadcast_capacity));
    Rig {
        hub,
        stop: watch::channel(false).0,
        _dir: dir,
    }
}

impl Rig {
    async fn viewer(&self) -> (Viewer, Subscription) {
        let channel = self.hub.channel("demo").await.unwrap();
        let sub = self.hub.subscribe(&channel, None, 50).await.unwrap();
        let viewer = Viewer {
            hub: self.hub.clone(),
            channel,
            limit: 50,
            metrics: Arc::new(Metrics::default()),
            shutdown: self.stop.subscribe(),
            ip: [127, 0, 0, 1].into(),
            unsent: Arc::new(crate::limits::UnsentBytes::new(
                1 << 20,
                1 << 20,
                Default::default(),
            )),
        };
        (viewer, sub)
    }

    /// Runs a viewer on channels; returns what it sends, what feeds it, and its end.
    async fn spawn(
        &self,
    ) -> (
        mpsc::UnboundedReceiver<Message>,
        ClientTx,
        tokio::task::JoinHandle<Ended>,
    ) {
        let (viewer, sub) = self.viewer().await;
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let sink = Box::pin(sink::unfold(out_tx, |tx, m: Message| async move {
            tx.send(m).map_err(|_| std::io::Error::other("closed"))?;
            Ok::<_, std::io::Error>(tx)
        }));
        let stream = Box::pin(stream::unfold(in_rx, |mut rx| async move {
            rx.recv().await.map(|m| (m, rx))
        }));
        (
            out_rx,
            in_tx,
            tokio::spawn(serve_viewer(viewer, sub, sink, stream)),
        )
    }
}

fn frame(m: Message) -> ServerFrame {
    match m {
        Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn snapshot(m: Message) -> Snapshot {
    match frame(m) {
        ServerFrame::Snapshot(s) => s,
        other => panic!("expected snapshot, got {other:?}"),
    }
}

#[tokio::test]
async fn snapshot_live_and_read_only() {
    let rig = rig(16).await;
    let (mut out, client, task) = rig.spawn().await;
    assert_eq!(
        snapshot(out.recv().await.unwrap()).reason,
        SnapshotReason::Initial
    );
    rig.hub.append("demo", post("hello")).await.unwrap();
    assert!(matches!(
        frame(out.recv().await.unwrap()),
        ServerFrame::Message { seq: 1, .. }
    ));
    client.send(Ok(Message::Text("hi".into()))).unwrap();
    let ServerFrame::Error { code, .. } = frame(out.recv().await.unwrap()) else {
        panic!()
    };
    assert_eq!(code, "read_only");
    client.send(Ok(Message::Binary(vec![1, 2].into()))).unwrap();
    assert!(matches!(
        frame(out.recv().await.unwrap()),
        ServerFrame::Error { .. }
    ));
    rig.hub.append("demo", post("still open")).await.unwrap();
    assert!(matches!(
        frame(out.recv().await.unwrap()),
        ServerFrame::Message { seq: 2, .. }
    ));
    client.send(Ok(Message::Close(None))).unwrap();
    assert_eq!(task.await.unwrap(), Ended::ClientClosed);
}

#[tokio::test]
async fn lagged_viewer_gets_lagged_snapshot_then_live() {
    let rig = rig(2).await;
    // Written to before the viewer comes, so the channel has its full queue.
    rig.hub.append("demo", post("b1")).await.unwrap();
    let (viewer, sub) = rig.viewer().await;
    let metrics = viewer.metrics.clone();
    // The viewer is subscribed but not yet reading: 4 events overflow capacity 2.
    for i in 2..=5 {
        rig.hub
            .append("demo", post(&format!("b{i}")))
            .await
            .unwrap();
    }
    let (out_tx, mut out) = mpsc::unbounded_channel();
    let (_in_tx, in_rx) = mpsc::unbounded_channel::<Result<Message, tungstenite::Error>>();
    let sink = Box::pin(sink::unfold(out_tx, |tx, m: Message| async move {
        tx.send(m).map_err(|_| std::io::Error::other("closed"))?;
        Ok::<_, std::io::Error>(tx)
    }));
    let stream = Box::pin(stream::unfold(in_rx, |mut rx| async move {
        rx.recv().await.map(|m| (m, rx))
    }));
    tokio::spawn(serve_viewer(viewer, sub, sink, stream));
    assert_eq!(snapshot(out.recv().await.unwrap()).seq, 1);
    let lagged = snapshot(out.recv().await.unwrap());
    assert_eq!(
        (lagged.reason, lagged.seq, lagged.messages.len()),
        (SnapshotReason::Lagged, 5, 5)
    );
    rig.hub.append("demo", post("b6")).await.unwrap();
    assert!(matches!(
        frame(out.recv().await.unwrap()),
        ServerFrame::Message { seq: 6, .. }
    ));
    assert_eq!(metrics.lagged_resyncs.get(), 1);
}

#[tokio::test]
async fn oversized_frame_closes_with_1009() {
    let rig = rig(16).await;
    let (mut out, client, task) = rig.spawn().await;
    snapshot(out.recv().await.unwrap());
    let err = tungstenite::error::CapacityError::MessageTooLong {
        size: 20_000,
        max_size: 16_384,
    };
    client.send(Err(tungstenite::Error::Capacity(err))).unwrap();
    let Message::Close(Some(close)) = out.recv().await.unwrap() else {
        panic!("no close")
    };
    assert_eq!(close.code, close_code::SIZE);
    assert_eq!(task.await.unwrap(), Ended::TooBig);
}

#[tokio::test]
async fn shutdown_closes_with_going_away() {
    let rig = rig(16).await;
    let (mut out, _client, task) = rig.spawn().await;
    snapshot(out.recv().await.unwrap());
    rig.stop.send(true).unwrap();
    let Message::Close(Some(close)) = out.recv().await.unwrap() else {
        panic!("no close")
    };
    assert_eq!(close.code, close_code::AWAY);
    assert_eq!(task.await.unwrap(), Ended::Shutdown);
}

#[tokio::test]
async fn stalled_viewer_is_dropped_after_timeout() {
    let rig = rig(16).await;
    let (viewer, sub) = rig.viewer().await;
    tokio::time::pause();
    let start = tokio::time::Instant::now();
    let stuck = Box::pin(sink::unfold((), |_, _m: Message| {
        std::future::pending::<Result<(), std::io::Error>>()
    }));
    let silent = stream::pending::<Result<Message, tungstenite::Error>>();
    let ended = serve_viewer(viewer, sub, stuck, silent).await;
    assert_eq!(ended, Ended::SendTimedOut);
    assert!(start.elapsed() >= SEND_TIMEOUT);
}

#[test]
fn query_parsing() {
    assert_eq!(parse_query(None).unwrap(), FeedQuery::default());
    let q = parse_query(Some("epoch=ab12&since=7&limit=200&x=1")).unwrap();
    assert_eq!(
        q,
        FeedQuery {
            epoch: Some("ab12".into()),
            since: Some(7),
            limit: Some(200)
        }
    );
    for bad in [
        "limit=0",
        "limit=201",
        "limit=x",
        "since=-1",
        "since=1.5",
        "limit=",
    ] {
        let e = parse_query(Some(bad)).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            e.message.contains(bad.split('=').next().unwrap()),
            "{bad}: {}",
            e.message
        );
    }
    assert!(parse_query(Some(&format!("epoch={}", "e".repeat(65)))).is_err());
}

#[test]
fn per_ip_slots_are_returned_on_drop() {
    let limiter = Arc::new(ConnLimiter::default());
    let ip: IpAddr = "10.0.0.1".parse().unwrap();
    let a = limiter.try_acquire(ip, 2).unwrap();
    let _b = limiter.try_acquire(ip, 2).unwrap();
    assert!(limiter.try_acquire(ip, 2).is_none());
    assert!(limiter
        .try_acquire("10.0.0.2".parse().unwrap(), 2)
        .is_some());
    drop(a);
    assert!(limiter.try_acquire(ip, 2).is_some());
}

#[test]
fn origins() {
    let mut h = HeaderMap::new();
    let list = vec!["https://ok.example".to_string()];
    assert!(origin_allowed(&list, &h), "no Origin: not a browser");
    h.insert(header::HOST, "relay.example:8080".parse().unwrap());
    h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    assert!(!origin_allowed(&list, &h));
    assert!(origin_allowed(&[], &h), "no list: any origin");
    h.insert(header::ORIGIN, "https://OK.example".parse().unwrap());
    assert!(origin_allowed(&list, &h));
    h.insert(header::ORIGIN, "http://relay.example:8080".parse().unwrap());
    assert!(origin_allowed(&list, &h), "same origin as the relay");
}

/// Each viewer is one task for as long as it is connected: its future's size
/// is memory per viewer. Whatever the rare paths await (a resync, a resume
/// from PostgreSQL, Redis) must stay boxed, off this state machine.
#[tokio::test]
async fn a_viewer_task_stays_small() {
    let rig = rig(16).await;
    let (viewer, sub) = rig.viewer().await;
    let sink = Box::pin(sink::unfold((), |_, _m: Message| async {
        Ok::<_, std::io::Error>(())
    }));
    let silent = stream::pending::<Result<Message, tungstenite::Error>>();
    let task = serve_viewer(viewer, sub, sink, silent);
    let size = std::mem::size_of_val(&task);
    eprintln!("viewer task: {size} bytes");
    assert!(size <= 2048, "a viewer's task is {size} bytes");
}
