//! Restarts keep epoch and seq numbering; kill -9 loses nothing acknowledged.

mod common;

use chyron_protocol::{ServerFrame, SnapshotReason};
use common::*;
use serde_json::{json, Value};
use std::process::Command;

#[tokio::test]
async fn restart_keeps_epoch_and_seq() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_with(config(dir.path(), |_| {})).await;
    let mut ws = first.feed("/feed/demo").await;
    let epoch = next_snapshot(&mut ws).await.epoch;
    for i in 1..=3 {
        first.post("demo", "Ann", &format!("before {i}")).await;
    }
    first.stop().await;

    let second = start_with(config(dir.path(), |_| {})).await;
    let mut ws = second
        .feed(&format!("/feed/demo?epoch={epoch}&since=1"))
        .await;
    for seq in [2, 3] {
        assert_eq!(next_frame(&mut ws).await.event_seq(), Some(seq));
    }
    let posted = second.post("demo", "Ann", "after").await;
    assert_eq!(posted["seq"], 4);
    assert_eq!(posted["id"], "m4");
    assert_eq!(next_frame(&mut ws).await.event_seq(), Some(4));
    let mut fresh = second.feed("/feed/demo").await;
    let snap = next_snapshot(&mut fresh).await;
    assert_eq!((snap.epoch, snap.seq, snap.messages.len()), (epoch, 4, 4));
    second.stop().await;
}

#[tokio::test]
async fn kill_9_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_relay(dir.path(), &[]);
    let c = http();
    let mut acked = Vec::new();
    for i in 1..=20 {
        let res = c
            .post(format!("http://{addr}/api/v1/channels/demo/messages"))
            .bearer_auth(TOKEN)
            .json(&json!({"sender": "Ann", "body": format!("durable {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        acked.push((
            v["seq"].as_u64().unwrap(),
            v["id"].as_str().unwrap().to_string(),
        ));
    }
    child.kill().unwrap(); // SIGKILL, right after the last 2xx
    child.wait().unwrap();

    let (mut child, addr) = spawn_relay(dir.path(), &[]);
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/feed/demo?limit=200"))
        .await
        .unwrap();
    let snap = next_snapshot(&mut ws).await;
    assert_eq!(snap.seq, 20);
    let got: Vec<(u64, String)> = snap
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| (i as u64 + 1, m.id.clone()))
        .collect();
    assert_eq!(got, acked);
    assert_eq!(snap.messages[19].body, "durable 20");
    // Resume across the crash, from the persisted event log.
    let url = format!("ws://{addr}/feed/demo?epoch={}&since=18", snap.epoch);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    for seq in [19, 20] {
        let frame = next_frame(&mut ws).await;
        assert!(matches!(frame, ServerFrame::Message { .. }), "{frame:?}");
        assert_eq!(frame.event_seq(), Some(seq));
    }
    assert_ne!(snap.reason, SnapshotReason::ResumeUnavailable);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn malformed_config_exits_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relay.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nnot_a_key = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_chyron-relay"))
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not_a_key") && err.contains("relay.toml"),
        "{err}"
    );
}
