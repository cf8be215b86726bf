//! `GET /chat/channels`: what the full chat is told about each public
//! channel, from the configuration and (against a real Synapse) from the
//! bridge, which lets guests into a room when it has the power to.

mod common;

use chyron_protocol::{Directory, Rules};
use chyron_relay::config::chat::{rules_version, ChannelMeta};
use common::matrix::*;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn public_channels_come_with_titles_and_rules_and_no_room_without_a_bridge() {
    let relay = start(|c| {
        c.chat.public_channels = vec!["demo".into(), "dj".into()];
        c.chat.channels.insert(
            "demo".into(),
            ChannelMeta {
                title: Some("Main stage <b>".into()),
                rules: Some(Rules {
                    text: "Be kind.".into(),
                    required: true,
                    version: rules_version("Be kind."),
                }),
                ..ChannelMeta::default()
            },
        );
        c.limits.anonymous_rate_limit_burst = 3;
        c.limits.anonymous_rate_limit_per_second = 1;
    })
    .await;
    let res = reqwest::get(relay.url("/chat/channels")).await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["cache-control"], "public, max-age=5");
    assert_eq!(h["content-type"], "application/json");
    let dir: Directory = res.json().await.unwrap();
    let demo = &dir.channels[0];
    assert_eq!((demo.channel.as_str(), demo.main), ("demo", true));
    assert_eq!(demo.title, "Main stage <b>", "titles are data, not markup");
    assert!(demo.rules.as_ref().unwrap().required);
    assert!(demo.matrix.is_none(), "no bridge: nothing to join");
    let dj = &dir.channels[1];
    assert_eq!(
        (dj.title.as_str(), dj.main, dj.rules.is_none()),
        ("dj", false, true)
    );
    // A stranger hammering it gets 429s, not work.
    let mut refused = 0;
    for _ in 0..10 {
        let res = reqwest::get(relay.url("/chat/channels")).await.unwrap();
        if res.status() == 429 {
            refused += 1;
        }
    }
    assert!(refused >= 7, "only {refused} of 10 refused");
    relay.stop().await;
}

async fn directory(relay: &Server) -> Directory {
    reqwest::get(relay.url("/chat/channels"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn guest_access(alice: &Mx) -> serde_json::Value {
    let path = format!("/rooms/{}/state/m.room.guest_access/", alice.room);
    alice.call(reqwest::Method::GET, &path, json!(null)).await["guest_access"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_lets_guests_in_when_it_may_and_says_so_when_it_may_not() {
    let Some((synapse, alice)) = synapse_and_alice().await else {
        return;
    };
    let path = format!("/rooms/{}/state/m.room.guest_access/", alice.room);
    alice
        .call(
            reqwest::Method::PUT,
            &path,
            json!({"guest_access": "forbidden"}),
        )
        .await;
    // The bot has no power in the room: guests stay out, and the directory
    // says so (the chat then offers signing in only).
    let relay = start(|c| c.matrix = Some(bridged(&synapse.base))).await;
    let mut ws = live_demo_feed(&relay).await;
    // Each Matrix line carries its event id, live and in later snapshots:
    // the full chat matches its own posts and edits by it.
    let event_id = alice.text("with an event id").await;
    let (_, live) = posted(next_slow(&mut ws).await);
    assert_eq!(live.matrix_event_id(), Some(event_id.as_str()));
    let mut again = relay.feed("/feed/demo").await;
    let snapshot = next_snapshot(&mut again).await;
    let stored = snapshot
        .messages
        .iter()
        .find(|m| m.body == "with an event id")
        .unwrap();
    assert_eq!(stored.event_id.as_deref(), Some(event_id.as_str()));
    let dir = directory(&relay).await;
    let demo = &dir.channels[0];
    assert_eq!(demo.channel, "demo");
    let room = demo.matrix.as_ref().expect("the bridged room is listed");
    assert_eq!(room.room_id, alice.room);
    assert_eq!(room.alias.as_deref(), Some("#demo:localhost"));
    assert_eq!(room.homeserver, synapse.base);
    assert!(!room.guests_can_post);
    assert_eq!(guest_access(&alice).await, "forbidden");
    relay.stop().await;
    // Given the power, the bot opens the room to guests on joining.
    let levels_path = format!("/rooms/{}/state/m.room.power_levels/", alice.room);
    let mut levels = alice
        .call(reqwest::Method::GET, &levels_path, json!(null))
        .await;
    levels["users"]["@chyron-bot:localhost"] = json!(100);
    alice.call(reqwest::Method::PUT, &levels_path, levels).await;
    let relay = start(|c| c.matrix = Some(bridged(&synapse.base))).await;
    let mut open = false;
    for _ in 0..600 {
        let dir = directory(&relay).await;
        if dir.channels[0]
            .matrix
            .as_ref()
            .is_some_and(|r| r.guests_can_post)
        {
            open = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(open, "guests_can_post after the bot set can_join");
    assert_eq!(guest_access(&alice).await, "can_join");
    relay.stop().await;
}
