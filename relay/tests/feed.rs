//! The feed websocket against a real relay: snapshots, resume, limits.

mod common;

use chyron_protocol::{ServerFrame, SnapshotReason};
use common::*;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

#[tokio::test]
async fn snapshot_limit_then_live() {
    let server = start(|_| {}).await;
    for i in 1..=5 {
        server.post("demo", "Ann", &format!("m{i}")).await;
    }
    let mut ws = server.feed("/feed/demo?limit=2").await;
    let snap = next_snapshot(&mut ws).await;
    assert_eq!(
        (snap.reason, snap.seq, snap.epoch.len()),
        (SnapshotReason::Initial, 5, 16)
    );
    let bodies: Vec<_> = snap.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, vec!["m4", "m5"]);
    server.post("demo", "Ann", "live").await;
    let ServerFrame::Message { seq: 6, message } = next_frame(&mut ws).await else {
        panic!()
    };
    assert_eq!(message.body, "live");
    // Other channels are separate.
    server.post("other", "Ann", "elsewhere").await;
    assert_quiet(&mut ws).await;
}

/// A channel's live queue is allocated on its first append after it loaded;
/// viewers who came while it was quiet (empty, or with history) get every
/// later event live, once and in order, with no snapshot in between.
#[tokio::test]
async fn viewers_of_a_quiet_channel_get_the_first_posts_live() {
    let server = start(|_| {}).await;
    let mut empty = server.feed("/feed/empty").await;
    assert_eq!(next_snapshot(&mut empty).await.seq, 0);
    let mut empty2 = server.feed("/feed/empty").await;
    next_snapshot(&mut empty2).await;
    for i in 1..=3 {
        server.post("empty", "Ann", &format!("p{i}")).await;
    }
    for ws in [&mut empty, &mut empty2] {
        for want in 1..=3u64 {
            let ServerFrame::Message { seq, message } = next_frame(ws).await else {
                panic!("expected a message")
            };
            assert_eq!((seq, message.body), (want, format!("p{want}")));
        }
        assert_quiet(ws).await;
    }
}

#[tokio::test]
async fn resume_is_exact_after_disconnect() {
    let server = start(|_| {}).await;
    let mut ws = server.feed("/feed/demo").await;
    let epoch = next_snapshot(&mut ws).await.epoch;
    for i in 1..=3 {
        server.post("demo", "Ann", &format!("seen {i}")).await;
    }
    let mut last = 0;
    for _ in 0..3 {
        last = next_frame(&mut ws).await.event_seq().unwrap();
    }
    close(ws).await;
    server.post("demo", "Ann", "missed 4").await;
    server.post("demo", "Ann", "missed 5").await;

    let mut ws = server
        .feed(&format!("/feed/demo?epoch={epoch}&since={last}"))
        .await;
    for expected in ["missed 4", "missed 5"] {
        let ServerFrame::Message { seq, message } = next_frame(&mut ws).await else {
            panic!("expected event")
        };
        last += 1;
        assert_eq!((seq, message.body.as_str()), (last, expected));
    }
    server.post("demo", "Ann", "live 6").await;
    assert_eq!(next_frame(&mut ws).await.event_seq(), Some(6));
    assert_quiet(&mut ws).await;

    // Up to date: nothing to replay, nothing duplicated.
    let mut ws = server
        .feed(&format!("/feed/demo?epoch={epoch}&since=6"))
        .await;
    assert_quiet(&mut ws).await;
}

#[tokio::test]
async fn resume_unavailable_cases() {
    let server = start(|c| c.limits.resume_buffer = 4).await;
    let mut ws = server.feed("/feed/demo").await;
    let epoch = next_snapshot(&mut ws).await.epoch;
    for i in 1..=10 {
        server.post("demo", "Ann", &format!("m{i}")).await;
    }
    let cases = [
        "epoch=0000000000000000&since=9".to_string(),
        format!("epoch={epoch}&since=2"),
        format!("epoch={epoch}&since=11"),
        "since=9".to_string(),
    ];
    for query in cases {
        let mut ws = server.feed(&format!("/feed/demo?{query}&limit=3")).await;
        let snap = next_snapshot(&mut ws).await;
        assert_eq!(
            (snap.reason, snap.seq, snap.messages.len()),
            (SnapshotReason::ResumeUnavailable, 10, 3),
            "{query}"
        );
        assert_eq!(snap.messages[2].body, "m10");
    }
    // The oldest still held: 7..=10 (buffer of 4), so since=6 resumes.
    let mut ws = server
        .feed(&format!("/feed/demo?epoch={epoch}&since=6"))
        .await;
    assert_eq!(next_frame(&mut ws).await.event_seq(), Some(7));
}

#[tokio::test]
async fn bad_query_params_are_400_before_upgrade() {
    let server = start(|_| {}).await;
    for q in ["limit=0", "limit=201", "limit=ten", "since=-3", "since=x"] {
        let res = http()
            .get(server.url(&format!("/feed/demo?{q}")))
            .send()
            .await
            .unwrap();
        let (code, msg) = error_code(res, 400).await;
        assert_eq!(code, "bad_request", "{q}: {msg}");
        let err = tokio_tungstenite::connect_async(server.ws_url(&format!("/feed/demo?{q}")))
            .await
            .unwrap_err();
        assert!(
            matches!(err, WsError::Http(ref r) if r.status() == 400),
            "{q}: {err:?}"
        );
    }
}

#[tokio::test]
async fn client_frames_are_refused_but_not_fatal_unless_too_big() {
    let server = start(|_| {}).await;
    let mut ws = server.feed("/feed/demo").await;
    next_snapshot(&mut ws).await;
    ws.send(Message::Text("x".repeat(16 * 1024 - 100).into()))
        .await
        .unwrap();
    let ServerFrame::Error { code, .. } = next_frame(&mut ws).await else {
        panic!()
    };
    assert_eq!(code, "read_only");
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"are you there".to_vec().into()));
    server.post("demo", "Ann", "still open").await;
    assert_eq!(next_frame(&mut ws).await.event_seq(), Some(1));

    ws.send(Message::Text("x".repeat(16 * 1024 + 1).into()))
        .await
        .unwrap();
    let mut closed_with = None;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        match msg {
            Ok(Message::Close(frame)) => closed_with = frame.map(|f| f.code),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => break,
        }
    }
    assert_eq!(closed_with, Some(CloseCode::Size));
}

#[tokio::test]
async fn origin_allow_list_is_checked_before_upgrade() {
    let server = start(|c| c.allowed_origins = vec!["https://stream.example".into()]).await;
    let request = |origin: &'static str| {
        let mut req = server.ws_url("/feed/demo").into_client_request().unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };
    let err = tokio_tungstenite::connect_async(request("https://evil.example"))
        .await
        .unwrap_err();
    let WsError::Http(res) = err else {
        panic!("{err:?}")
    };
    assert_eq!(res.status(), 403);
    let body = String::from_utf8(res.body().clone().unwrap_or_default()).unwrap();
    assert!(body.contains("origin_not_allowed"), "{body}");
    let (mut ws, _) = tokio_tungstenite::connect_async(request("https://stream.example"))
        .await
        .unwrap();
    next_snapshot(&mut ws).await;
}

#[tokio::test]
async fn per_ip_connection_cap() {
    let server = start(|c| c.limits.max_connections_per_ip = 2).await;
    let a = server.feed("/feed/demo").await;
    let _b = server.feed("/feed/demo").await;
    let err = tokio_tungstenite::connect_async(server.ws_url("/feed/demo"))
        .await
        .unwrap_err();
    let WsError::Http(res) = err else {
        panic!("{err:?}")
    };
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    close(a).await;
    // The slot frees once the server notices the close.
    let mut ok = false;
    for _ in 0..50 {
        if tokio_tungstenite::connect_async(server.ws_url("/feed/demo"))
            .await
            .is_ok()
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "slot never freed");
    let metrics = metrics_text(&server).await;
    assert!(
        metrics.contains("chyron_rejected_connections_total{reason=\"per_ip_limit\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn concurrent_posts_reach_a_slow_viewer_consistently() {
    // A tiny broadcast queue: whether or not this viewer lags, what it ends up
    // with must match the channel (events in order, or a lagged resync).
    let server = start(|c| c.limits.broadcast_capacity = 1).await;
    let mut ws = server.feed("/feed/demo?limit=200").await;
    next_snapshot(&mut ws).await;
    let posts = (0..30).map(|i| {
        let s = &server;
        async move { s.post("demo", "Ann", &format!("p{i}")).await }
    });
    futures_util::future::join_all(posts).await;
    let mut shown = std::collections::BTreeMap::new();
    let mut head = 0;
    while head < 30 {
        match next_frame(&mut ws).await {
            ServerFrame::Message { seq, message } => {
                assert_eq!(seq, head + 1, "gap or duplicate");
                head = seq;
                shown.insert(message.id, message.body);
            }
            ServerFrame::Snapshot(s) => {
                assert_eq!(s.reason, SnapshotReason::Lagged);
                head = s.seq;
                shown = s.messages.into_iter().map(|m| (m.id, m.body)).collect();
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(shown.len(), 30);
}

#[tokio::test]
async fn shutdown_closes_viewers() {
    let server = start(|_| {}).await;
    let mut ws = server.feed("/feed/demo").await;
    next_snapshot(&mut ws).await;
    server.stop().await;
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(
        matches!(msg, Some(Ok(Message::Close(Some(ref f)))) if f.code == CloseCode::Away),
        "{msg:?}"
    );
}
