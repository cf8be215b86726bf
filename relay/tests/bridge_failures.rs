//! Partial failures of the Matrix link, against a real Synapse: a room the
//! bot cannot join stays that room's problem; an outbox entry that keeps
//! failing does not stop inbound chat; a revoked bot token loses no queued
//! post; a long outage's gap is filled completely; a wiped database does not
//! reuse transaction ids.

mod common;

use chyron_protocol::{BridgeState, Source};
use chyron_relay::bridge::config::RoomBridge;
use common::matrix::*;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_the_bot_cannot_join_is_down_while_the_others_flow() {
    let Some((synapse, alice)) = synapse_and_alice().await else {
        return;
    };
    let relay = start(|c| {
        let mut m = bridged(&synapse.base);
        // An alias nobody made (a deleted room, a typo).
        m.rooms.push(RoomBridge {
            channel: "ghost".into(),
            room: "#no-such-room:localhost".try_into().unwrap(),
        });
        c.matrix = Some(m);
    })
    .await;
    let mut ghost = relay.feed("/feed/ghost").await;
    next_snapshot(&mut ghost).await;
    let mut demo = relay.feed("/feed/demo").await;
    next_snapshot(&mut demo).await;
    until_state(&mut ghost, BridgeState::Down).await.unwrap();
    until_state(&mut demo, BridgeState::Live).await.unwrap();
    alice.text("the good room still flows").await;
    let (_, m) = posted(next_slow(&mut demo).await);
    assert_eq!(m.body, "the good room still flows");
    // The bad room is retried with backoff, never taking the good one down.
    tokio::time::sleep(Duration::from_secs(4)).await;
    alice.text("and keeps flowing").await;
    let (_, m) = posted(next_slow(&mut demo).await);
    assert_eq!(m.body, "and keeps flowing");
    // A late viewer of the bad channel is told at once.
    let mut late = relay.feed("/feed/ghost").await;
    next_snapshot(&mut late).await;
    match next_any(&mut late).await {
        chyron_protocol::ServerFrame::Bridge { state } => assert_eq!(state, BridgeState::Down),
        other => panic!("expected the bridge state, got {other:?}"),
    }
    // Once the room exists, a later try joins it and the channel is live.
    let created = alice
        .call(
            reqwest::Method::POST,
            "/createRoom",
            json!({"room_alias_name": "no-such-room", "preset": "public_chat"}),
        )
        .await;
    let found = Mx {
        room: created["room_id"].as_str().unwrap().to_string(),
        ..alice
    };
    until_state(&mut ghost, BridgeState::Live).await.unwrap();
    found.text("found at last").await;
    let (_, m) = posted(next_slow(&mut ghost).await);
    assert_eq!(m.body, "found at last");
    relay.stop().await;
    drop(synapse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_bot_takes_its_channel_down_until_it_can_join_again() {
    let Some(LiveBridge {
        synapse,
        alice,
        relay,
        mut ws,
    }) = live_bridge().await
    else {
        return;
    };
    alice.moderate("ban", "@chyron-bot:localhost").await;
    until_state(&mut ws, BridgeState::Down).await.unwrap();
    // The relay keeps serving the channel while its room is out of reach.
    relay.post("demo", "carol", "still here").await;
    let (_, m) = posted(next_slow(&mut ws).await);
    assert_eq!(m.body, "still here");
    alice.moderate("unban", "@chyron-bot:localhost").await;
    // Joined again (the ban itself may show first, clearing nothing).
    while until_state(&mut ws, BridgeState::Live).await.is_err() {}
    alice.text("welcome back").await;
    loop {
        let (_, m) = posted(next_slow(&mut ws).await);
        if m.body == "welcome back" {
            break;
        }
    }
    relay.stop().await;
    drop(synapse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_entry_that_keeps_failing_does_not_stop_inbound_chat() {
    let Some(LiveBridge {
        synapse,
        alice,
        relay,
        mut ws,
    }) = live_bridge().await
    else {
        return;
    };
    // An entry the relay cannot even read (its seq is not a number): every
    // try to send the outbox fails.
    let conn = rusqlite::Connection::open(relay.data.join("chyron.sqlite3")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute(
        "INSERT INTO outbox (channel, seq, kind, message_id, sender, body, source)
         VALUES ('demo', 'not a number', 'post', 'm', 'x', 'poison', 'api')",
        [],
    )
    .unwrap();
    drop(conn);
    // A post wakes the outbox, which trips on the entry.
    relay.post("demo", "carol", "behind the poison").await;
    let (_, m) = posted(next_slow(&mut ws).await);
    assert_eq!(m.source, Source::Api);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Matrix → feed still flows, several times over.
    for body in ["still flowing", "and again"] {
        alice.text(body).await;
        let (_, m) = posted(next_slow(&mut ws).await);
        assert_eq!((m.body.as_str(), m.source), (body, Source::Matrix));
    }
    relay.stop().await;
    drop(synapse);
}

/// Logs the bot's device `CHYRON` out from elsewhere (a password login on
/// that device, then `/logout`): every token of the device stops working.
async fn revoke_bot_device(base: &str) {
    let res = http()
        .post(format!("{base}/_matrix/client/v3/login"))
        .json(&json!({"type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "chyron-bot"},
            "password": PASSWORD, "device_id": "CHYRON"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "login: {}", res.status());
    let token = res.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = http()
        .post(format!("{base}/_matrix/client/v3/logout"))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "logout: {}", res.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_queued_when_the_bot_token_is_revoked_arrive_after_a_new_login() {
    let Some(LiveBridge {
        synapse,
        alice,
        relay,
        mut ws,
    }) = live_bridge().await
    else {
        return;
    };
    revoke_bot_device(&synapse.base).await;
    // Acknowledged (2xx) while the bot's token no longer works.
    for i in 1..=3 {
        relay.post("demo", "carol", &format!("queued {i}")).await;
        posted(next_slow(&mut ws).await);
    }
    until_bot_lines(
        &alice,
        &[
            "carol (via stream chat): queued 1",
            "carol (via stream chat): queued 2",
            "carol (via stream chat): queued 3",
        ],
    )
    .await;
    // The link came back: inbound chat flows again.
    alice.text("back").await;
    let (_, m) = posted(next_slow(&mut ws).await);
    assert_eq!(m.body, "back");
    relay.stop().await;
    drop(synapse);
}

/// How many `burst` lines the relay's database holds for `demo`.
fn burst_lines(data: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(data.join("chyron.sqlite3")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.query_row(
        "SELECT count(*) FROM messages WHERE channel = 'demo' AND body LIKE 'burst %'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Events sent while the relay is down: more than the timeline limit (200)
/// plus ten pages of 100.
const BURST: usize = 1300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_of_a_long_outage_arrives() {
    let Some((synapse, alice)) = synapse_and_alice().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config =
        |dir: &std::path::Path| common::config(dir, |c| c.matrix = Some(bridged(&synapse.base)));
    let relay = start_with(config(dir.path())).await;
    let mut ws = live_demo_feed(&relay).await;
    alice.text("before the outage").await;
    posted(next_slow(&mut ws).await);
    // Let the bridge save the sync token past that line, then go away.
    tokio::time::sleep(Duration::from_secs(1)).await;
    relay.stop().await;

    let started = std::time::Instant::now();
    for i in 0..BURST {
        alice.text(&format!("burst {i}")).await;
    }
    println!("sent {BURST} events in {:?}", started.elapsed());

    let relay = start_with(config(dir.path())).await;
    let started = std::time::Instant::now();
    let mut seen = 0;
    for _ in 0..600 {
        seen = burst_lines(&relay.data);
        if seen as usize >= BURST {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("bridged {seen} gap events in {:?}", started.elapsed());
    assert_eq!(seen as usize, BURST, "every message of the outage arrives");
    // In the order they were said.
    let conn = rusqlite::Connection::open(dir.path().join("chyron.sqlite3")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT body FROM messages WHERE channel = 'demo' AND body LIKE 'burst %' ORDER BY seq",
        )
        .unwrap();
    let bodies: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let want: Vec<String> = (0..BURST).map(|i| format!("burst {i}")).collect();
    assert!(bodies == want, "out of order");
    relay.stop().await;
    drop(synapse);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_database_does_not_reuse_transaction_ids() {
    let Some(LiveBridge {
        synapse,
        alice,
        relay,
        mut ws,
    }) = live_bridge().await
    else {
        return;
    };
    relay.post("demo", "carol", "from the first database").await;
    posted(next_slow(&mut ws).await);
    until_bot_lines(
        &alice,
        &["carol (via stream chat): from the first database"],
    )
    .await;
    relay.stop().await;
    // The same bot and device on a wiped (here: new) database: its first
    // outbox entry has the same queue position as the first one's.
    let relay = start(|c| c.matrix = Some(bridged(&synapse.base))).await;
    let _ws = live_demo_feed(&relay).await;
    relay.post("demo", "dave", "from the second database").await;
    until_bot_lines(
        &alice,
        &[
            "carol (via stream chat): from the first database",
            "dave (via stream chat): from the second database",
        ],
    )
    .await;
    relay.stop().await;
    drop(synapse);
}
