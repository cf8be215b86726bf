use super::*;
use chyron_protocol::{Snapshot, SnapshotReason, Source};

pub(crate) fn test_hub(
    dir: &std::path::Path,
    resume_buffer: usize,
    broadcast_capacity: usize,
) -> Hub {
    let limits = HubLimits {
        history: 50,
        resume_buffer,
        broadcast_capacity,
        max_channels: 3,
    };
    Hub::new(
        Store::open(dir).unwrap(),
        limits,
        Arc::new(Metrics::default()),
        ["live".to_string()].into(),
    )
}

pub(crate) fn post(body: &str) -> Action {
    Action::Post(NewPost {
        sender: "Ann".into(),
        sender_id: "ann".into(),
        body: body.into(),
        source: Source::Api,
        html: None,
        media: None,
        avatar: None,
    })
}

fn frame(b: &Utf8Bytes) -> ServerFrame {
    serde_json::from_str(b.as_str()).unwrap()
}

fn snapshot(b: &Utf8Bytes) -> Snapshot {
    match frame(b) {
        ServerFrame::Snapshot(s) => s,
        other => panic!("not a snapshot: {other:?}"),
    }
}

#[tokio::test]
async fn resume_exact_or_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 3, 16);
    for i in 1..=5 {
        assert_eq!(
            hub.append("demo", post(&format!("b{i}")))
                .await
                .unwrap()
                .seq,
            i
        );
    }
    let ch = hub.channel("demo").await.unwrap();
    let epoch = snapshot(&hub.subscribe(&ch, None, 50).await.unwrap().first[0]).epoch;
    assert_eq!(epoch.len(), 16);

    // Ring holds 3..=5: resuming after 2 works, after 1 does not.
    let sub = hub
        .subscribe(&ch, Some((Some(epoch.clone()), 2)), 50)
        .await
        .unwrap();
    let seqs: Vec<_> = sub
        .first
        .iter()
        .map(|f| frame(f).event_seq().unwrap())
        .collect();
    assert_eq!(seqs, vec![3, 4, 5]);
    let sub = hub
        .subscribe(&ch, Some((Some(epoch.clone()), 5)), 50)
        .await
        .unwrap();
    assert!(sub.first.is_empty());
    for bad in [
        (Some(epoch.clone()), 1),
        (Some(epoch.clone()), 6),
        (Some("other".into()), 5),
        (None, 5),
    ] {
        let sub = hub.subscribe(&ch, Some(bad.clone()), 2).await.unwrap();
        let s = snapshot(&sub.first[0]);
        assert_eq!(
            (s.reason, s.seq, s.messages.len()),
            (SnapshotReason::ResumeUnavailable, 5, 2),
            "{bad:?}"
        );
        assert_eq!(s.messages[1].body, "b5");
    }
}

#[tokio::test]
async fn edits_deletes_clears_and_missing_ids() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 16, 16);
    let m = hub
        .append("demo", post("one"))
        .await
        .unwrap()
        .message
        .unwrap();
    hub.append("demo", post("two")).await.unwrap();
    let edit = Action::Edit {
        id: m.id.clone(),
        body: "uno".into(),
        html: None,
    };
    assert_eq!(hub.append("demo", edit).await.unwrap().seq, 3);
    let ch = hub.channel("demo").await.unwrap();
    let s = snapshot(&hub.subscribe(&ch, None, 50).await.unwrap().first[0]);
    assert_eq!(s.messages[0].body, "uno");
    assert!(s.messages[0].edited);
    hub.append("demo", Action::Delete { id: m.id.clone() })
        .await
        .unwrap();
    let again = hub
        .append("demo", Action::Delete { id: m.id.clone() })
        .await;
    assert!(matches!(again, Err(HubError::NotFound)));
    let missing = hub
        .append(
            "demo",
            Action::Edit {
                id: "m99".into(),
                body: "x".into(),
                html: None,
            },
        )
        .await;
    assert!(matches!(missing, Err(HubError::NotFound)));
    let cleared = hub
        .append(
            "demo",
            Action::Clear {
                sender_id: "ann".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!((cleared.seq, cleared.removed), (5, 1));
    let s = snapshot(&hub.subscribe(&ch, None, 50).await.unwrap().first[0]);
    assert_eq!((s.seq, s.messages.len()), (5, 0));
    assert!(matches!(
        hub.channel("Bad").await,
        Err(HubError::InvalidChannel(_))
    ));
}

#[tokio::test]
async fn restart_keeps_epoch_seq_and_ring() {
    let dir = tempfile::tempdir().unwrap();
    let epoch = {
        let hub = test_hub(dir.path(), 16, 16);
        hub.append("demo", post("a")).await.unwrap();
        hub.append("demo", post("b")).await.unwrap();
        let ch = hub.channel("demo").await.unwrap();
        snapshot(&hub.subscribe(&ch, None, 50).await.unwrap().first[0]).epoch
    };
    let hub = test_hub(dir.path(), 16, 16);
    let ch = hub.channel("demo").await.unwrap();
    let sub = hub
        .subscribe(&ch, Some((Some(epoch), 1)), 50)
        .await
        .unwrap();
    assert_eq!(sub.first.len(), 1);
    assert_eq!(frame(&sub.first[0]).event_seq(), Some(2));
    assert_eq!(hub.append("demo", post("c")).await.unwrap().seq, 3);
}

#[tokio::test]
async fn watching_stores_nothing_and_the_first_event_keeps_the_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 8, 16);
    let channel = hub.channel("quiet").await.unwrap();
    let sub = hub.subscribe(&channel, None, 10).await.unwrap();
    let watched_epoch = snapshot(&sub.first[0]).epoch;
    let stored = |hub: &Hub| {
        let store = hub.store().clone();
        async move {
            store
                .call(|c| store::load_channel(c, "quiet"))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        stored(&hub).await,
        None,
        "a viewer alone must not create a row"
    );
    hub.append("quiet", post("first")).await.unwrap();
    assert_eq!(stored(&hub).await, Some((watched_epoch, 1)));
}

#[tokio::test]
async fn bridged_channels_get_the_bridge_state_and_queue_their_changes() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 8, 16);
    hub.append("live", post("to matrix")).await.unwrap();
    hub.append("plain", post("stays here")).await.unwrap();
    let queued = hub.store().call(store::outbox_len).await.unwrap();
    assert_eq!(queued, 1, "only the bridged channel queues");
    // The wake-up is kept until someone waits for it.
    tokio::time::timeout(std::time::Duration::from_secs(1), hub.outbox_queued())
        .await
        .unwrap();
    // A Matrix-origin event is not sent back.
    let origin = Origin {
        id: "$m".into(),
        media: None,
        avatar: None,
    };
    hub.append_from("live", post("from matrix"), Some(origin))
        .await
        .unwrap();
    let queued = hub.store().call(store::outbox_len).await.unwrap();
    assert_eq!(queued, 1);

    let live = hub.channel("live").await.unwrap();
    let mut sub = hub.subscribe(&live, None, 50).await.unwrap();
    assert_eq!(sub.first.len(), 2);
    assert_eq!(
        frame(&sub.first[1]),
        ServerFrame::Bridge {
            state: BridgeState::Connecting
        }
    );
    let plain = hub.channel("plain").await.unwrap();
    assert_eq!(
        hub.subscribe(&plain, None, 50).await.unwrap().first.len(),
        1
    );

    hub.set_bridge_state(BridgeState::Live).await.unwrap();
    hub.set_bridge_state(BridgeState::Live).await.unwrap();
    hub.set_bridge_state(BridgeState::Down).await.unwrap();
    let states: Vec<ServerFrame> = [sub.rx.recv().await.unwrap(), sub.rx.recv().await.unwrap()]
        .iter()
        .map(frame)
        .collect();
    assert_eq!(
        states,
        vec![
            ServerFrame::Bridge {
                state: BridgeState::Live
            },
            ServerFrame::Bridge {
                state: BridgeState::Down
            },
        ],
        "an unchanged state is not repeated"
    );
    assert!(sub.rx.try_recv().is_err());
    let resumed = hub.subscribe(&live, Some((None, 0)), 50).await.unwrap();
    assert_eq!(
        frame(resumed.first.last().unwrap()),
        ServerFrame::Bridge {
            state: BridgeState::Down
        }
    );
}

#[tokio::test]
async fn attachments_with_a_known_source_get_a_thumbnail_route() {
    let dir = tempfile::tempdir().unwrap();
    let hub = test_hub(dir.path(), 8, 16);
    let pic = |name: &str| {
        Action::Post(NewPost {
            sender: "Ann".into(),
            sender_id: "@ann:hs".into(),
            body: name.into(),
            source: Source::Matrix,
            html: None,
            media: Some(chyron_protocol::Media {
                kind: chyron_protocol::MediaKind::Image,
                name: name.into(),
                mimetype: None,
                size: None,
                width: None,
                height: None,
                thumbnail: None,
                mark: None,
            }),
            avatar: None,
        })
    };
    let with = Origin {
        id: "$1".into(),
        media: Some("mxc://hs/a".into()),
        avatar: None,
    };
    let without = Origin {
        id: "$2".into(),
        media: None,
        avatar: None,
    };
    let a = hub
        .append_from("demo", pic("a.png"), Some(with))
        .await
        .unwrap();
    let b = hub
        .append_from("demo", pic("b.bin"), Some(without))
        .await
        .unwrap();
    let thumb = |m: Option<chyron_protocol::Message>| m.unwrap().media.unwrap().thumbnail;
    assert_eq!(thumb(a.message), Some("/media/demo/m1/thumbnail".into()));
    assert_eq!(thumb(b.message), None);
}
