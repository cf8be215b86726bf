//! Idle channels leave memory and come back whole.

use crate::hub::tests::{post, test_hub};
use crate::hub::{sweep_idle, Hub, Subscription, SWEEP_EVERY};
use chyron_protocol::ServerFrame;
use std::sync::Arc;
use std::time::Duration;

fn loaded(hub: &Hub) -> usize {
    hub.channels.len()
}

/// The event seqs among a subscription's first frames, in order.
fn first_seqs(sub: &Subscription) -> Vec<u64> {
    sub.first
        .iter()
        .filter_map(|f| serde_json::from_str::<ServerFrame>(f.as_str()).ok())
        .filter_map(|f| f.event_seq())
        .collect()
}

#[tokio::test]
async fn idle_channels_are_dropped_and_come_back_with_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 8, 16);
    for i in 1..=3 {
        hub.append("talk", post(&format!("b{i}"))).await.unwrap();
    }
    // A viewer on "watched"; "looked" is only looked up.
    let watched = hub.channel("watched").await.unwrap();
    let viewer = hub.subscribe(&watched, None, 50).await.unwrap();
    drop(watched);
    hub.channel("looked").await.unwrap();
    let talk = hub.channel("talk").await.unwrap();
    let epoch = talk.state.lock().await.epoch.clone();
    drop(talk);
    assert_eq!(loaded(&hub), 3);

    // The first sweep only marks; the second drops what stayed unused.
    hub.sweep().await;
    assert_eq!(loaded(&hub), 3);
    hub.sweep().await;
    assert_eq!(loaded(&hub), 1, "only the watched channel stays");
    assert!(hub.channels.get("watched").is_some());
    assert!(hub.metrics.encode().contains("chyron_channels_loaded 1"));

    // Loaded again: same epoch, seq goes on, and a viewer that saw seq 1
    // resumes exactly from the ring rebuilt from the store.
    assert_eq!(hub.append("talk", post("b4")).await.unwrap().seq, 4);
    let talk = hub.channel("talk").await.unwrap();
    let sub = hub
        .subscribe(&talk, Some((Some(epoch), 1)), 50)
        .await
        .unwrap();
    assert_eq!(first_seqs(&sub), [2, 3, 4]);
    drop(viewer);
}

#[tokio::test]
async fn a_lookup_between_sweeps_keeps_a_channel() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 8, 16);
    hub.channel("a").await.unwrap();
    hub.sweep().await;
    hub.channel("a").await.unwrap();
    hub.sweep().await;
    assert_eq!(loaded(&hub), 1, "used since the last sweep");
    hub.sweep().await;
    assert_eq!(loaded(&hub), 0);
}

#[tokio::test]
async fn a_flood_of_made_up_channel_names_does_not_stay_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 8, 1024);
    for i in 0..2000 {
        let ch = hub.channel(&format!("made-up-{i}")).await.unwrap();
        // As a feed does: subscribe, then the viewer goes away.
        drop(hub.subscribe(&ch, None, 50).await.unwrap());
    }
    assert_eq!(loaded(&hub), 2000);
    hub.sweep().await;
    hub.sweep().await;
    assert_eq!(loaded(&hub), 0);
    // Watching stores nothing: the store has no trace of them either.
    let names: i64 = hub
        .store()
        .call(|c| Ok(c.query_row("SELECT count(*) FROM channels", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(names, 0);
}

#[tokio::test(start_paused = true)]
async fn the_sweeper_runs_on_its_own_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Arc::new(test_hub(dir.path(), 8, 16));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(sweep_idle(hub.clone(), stopped));
    hub.channel("a").await.unwrap();
    // Store calls run on real threads; let them finish between steps.
    tokio::time::sleep(SWEEP_EVERY + Duration::from_secs(1)).await;
    assert_eq!(loaded(&hub), 1, "marked, not dropped");
    tokio::time::sleep(SWEEP_EVERY).await;
    assert_eq!(loaded(&hub), 0);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("the sweeper stops")
        .unwrap();
}

/// A channel nobody writes to keeps a one-slot queue however many watch it;
/// its first append gives it the full queue, and its viewers rejoin and get
/// that event exactly once.
#[tokio::test]
async fn the_queue_is_allocated_on_first_append_and_viewers_rejoin() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 8, 16);
    let quiet = hub.channel("quiet").await.unwrap();
    let mut viewers = Vec::new();
    for _ in 0..3 {
        viewers.push(hub.subscribe(&quiet, None, 50).await.unwrap());
    }
    assert!(!quiet.tx.is_grown(), "no append, no full queue");
    assert!(hub.channel("live").await.unwrap().tx.is_grown(), "bridged");
    hub.append("quiet", post("first")).await.unwrap();
    hub.append("quiet", post("second")).await.unwrap();
    assert!(quiet.tx.is_grown());
    let mut again = Vec::new();
    for mut viewer in viewers {
        let closed = viewer.rx.recv().await;
        assert!(
            matches!(
                closed,
                Err(tokio::sync::broadcast::error::RecvError::Closed)
            ),
            "{closed:?}"
        );
        let sub = hub.rejoin(&quiet, 50).await.unwrap();
        assert_eq!(first_seqs(&sub), [1, 2]);
        again.push(sub);
    }
    hub.append("quiet", post("third")).await.unwrap();
    for mut sub in again {
        let live = sub.rx.recv().await.unwrap();
        assert!(live.as_str().contains("third"));
    }
}

/// At the cap of loaded channels, unused ones go at once; only when every
/// loaded channel is in use is one more refused.
#[tokio::test]
async fn at_the_cap_unused_channels_make_room() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 8, 16); // max_channels: 3
    for name in ["a", "b", "c"] {
        hub.channel(name).await.unwrap();
    }
    assert_eq!(loaded(&hub), 3);
    assert!(hub.make_room().await);
    assert_eq!(loaded(&hub), 0, "unused channels dropped at once");
    let mut held = Vec::new();
    for name in ["a", "b", "c"] {
        let ch = hub.channel(name).await.unwrap();
        held.push(hub.subscribe(&ch, None, 50).await.unwrap());
    }
    assert!(!hub.make_room().await, "all three in use");
    assert_eq!(loaded(&hub), 3);
    held.pop();
    assert!(hub.make_room().await);
    assert_eq!(loaded(&hub), 2);
}
