//! The Matrix bridge against a real Synapse (`scripts/synapse/`): chat in
//! `#demo:localhost` reaches the `demo` feed; edits, redactions and bans
//! follow; restarts neither duplicate nor skip.
//!
//! Skipped, with the reason printed, when Synapse cannot be installed or
//! started (no python3, no package registry), unless CHYRON_REQUIRE_SYNAPSE
//! is set (scripts/test.sh sets it).

mod common;

use chyron_protocol::{BridgeState, ServerFrame, Snapshot, Source};
use chyron_relay::bridge::config::{MatrixAuth, Secret};
use common::matrix::*;
use common::*;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_room_reaches_the_feed_and_survives_restarts() {
    log();
    let Some(synapse) = synapse_or_skip().await else {
        return;
    };
    let base = synapse.base.clone();
    let seeded = seeded(&base).await;
    let (alice, bob) = (user(&seeded, "alice", &base), user(&seeded, "bob", &base));
    alice
        .call(
            reqwest::Method::PUT,
            "/profile/@alice:localhost/displayname",
            json!({"displayname": "Alice Liddell"}),
        )
        .await;
    // Profile changes reach room membership in the background: wait for it.
    for _ in 0..100 {
        let path = format!("/rooms/{}/state/m.room.member/@alice:localhost", alice.room);
        let m = alice.call(reqwest::Method::GET, &path, json!(null)).await;
        if m["displayname"] == "Alice Liddell" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let data = tempfile::tempdir().unwrap();
    let relay = start_with(config(data.path(), |c| c.matrix = Some(bridged(&base)))).await;
    let mut ws = relay.feed("/feed/demo").await;
    let snap: Snapshot = next_snapshot(&mut ws).await;
    assert!(snap.messages.is_empty());
    // The link's state follows the snapshot: connecting, then live.
    assert_eq!(
        next_any(&mut ws).await,
        ServerFrame::Bridge {
            state: BridgeState::Connecting
        }
    );
    until_state(&mut ws, BridgeState::Live).await.unwrap();

    let hello = alice.text("hello from alice").await;
    let (_, m) = posted(next_slow(&mut ws).await);
    assert_eq!(m.body, "hello from alice");
    assert_eq!(m.sender, "Alice Liddell");
    assert_eq!(m.sender_id, "@alice:localhost");
    assert_eq!(m.source, Source::Matrix);
    let hello_id = m.id.clone();

    alice.edit(&hello, "hello from alice, edited").await;
    match next_slow(&mut ws).await {
        ServerFrame::Edit { id, body, .. } => {
            assert_eq!(
                (id.as_str(), body.as_str()),
                (hello_id.as_str(), "hello from alice, edited")
            );
        }
        other => panic!("expected the edit, got {other:?}"),
    }

    // Bob may not edit alice's line: ignored, so his own line comes next.
    bob.edit(&hello, "bob was here").await;
    bob.text("bob line 1").await;
    let (_, b1) = posted(next_slow(&mut ws).await);
    assert_eq!(
        (b1.body.as_str(), b1.sender_id.as_str()),
        ("bob line 1", "@bob:localhost")
    );
    bob.text("bob line 2").await;
    posted(next_slow(&mut ws).await);

    let doomed = alice.text("doomed").await;
    let (_, d) = posted(next_slow(&mut ws).await);
    alice.redact(&doomed).await;
    match next_slow(&mut ws).await {
        ServerFrame::Delete { id, .. } => assert_eq!(id, d.id),
        other => panic!("expected the delete, got {other:?}"),
    }

    alice.moderate("ban", "@bob:localhost").await;
    let head = match next_slow(&mut ws).await {
        ServerFrame::Clear { seq, sender_id } => {
            assert_eq!(sender_id, "@bob:localhost");
            seq
        }
        other => panic!("expected the clear, got {other:?}"),
    };
    alice.moderate("unban", "@bob:localhost").await;
    // Let the bridge see the unban and save its sync token.
    tokio::time::sleep(Duration::from_secs(2)).await;
    relay.stop().await;

    // Restart three times: as is; with the saved sync token gone (the whole
    // recent timeline is delivered again); logged in with an access token
    // instead of the password. Nothing may repeat: the next event after the
    // snapshot is the new line.
    let bot_token = seeded["users"]["bot"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for (round, forget_token, by_token) in [(1, false, false), (2, true, false), (3, false, true)] {
        if forget_token {
            assert!(forget_sync_token(data.path()), "no sync token was saved");
        }
        let mut matrix = bridged(&base);
        if by_token {
            matrix.auth = MatrixAuth::Token(Secret::new(bot_token.clone()));
        }
        let relay = start_with(config(data.path(), |c| c.matrix = Some(matrix))).await;
        let mut ws = relay.feed("/feed/demo").await;
        let snap = next_snapshot(&mut ws).await;
        assert_eq!(snap.seq, head + round - 1, "round {round}");
        let bodies: Vec<&str> = snap.messages.iter().map(|m| m.body.as_str()).collect();
        let mut want = vec!["hello from alice, edited".to_string()];
        want.extend((1..round).map(|r| format!("after restart {r}")));
        assert_eq!(bodies, want, "round {round}");
        until_state(&mut ws, BridgeState::Live).await.unwrap();
        let line = format!("after restart {round}");
        alice.text(&line).await;
        let (seq, m) = posted(next_slow(&mut ws).await);
        assert_eq!(
            (seq, m.body.as_str()),
            (snap.seq + 1, line.as_str()),
            "round {round}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_quiet(&mut ws).await;
        relay.stop().await;
    }
    drop(synapse);
}

/// Deletes the bridge's saved sync token from the relay's database; true if
/// there was one.
fn forget_sync_token(data: &Path) -> bool {
    let conn = rusqlite::Connection::open(data.join("chyron.sqlite3")).unwrap();
    let n = conn
        .execute(
            "DELETE FROM settings WHERE key LIKE 'matrix.sync_token%'",
            [],
        )
        .unwrap();
    n == 1
}

#[tokio::test]
async fn a_homeserver_that_is_down_does_not_take_the_relay_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let relay = start(|c| c.matrix = Some(bridged(&base))).await;
    let mut ws = relay.feed("/feed/demo").await;
    next_snapshot(&mut ws).await;
    // Viewers are told; the feed stays up.
    until_state(&mut ws, BridgeState::Down).await.unwrap();
    relay.post("demo", "Ann", "still here").await;
    let (_, m) = posted(next_frame(&mut ws).await);
    assert_eq!((m.body.as_str(), m.source), ("still here", Source::Api));
    let text = metrics_text(&relay).await;
    assert!(text.contains("chyron_bridge_up 0"), "{text}");
    // The bridge is retrying in the background; shutdown still completes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    relay.stop().await;
}
