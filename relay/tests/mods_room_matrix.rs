//! The owner's moderators' room on a real Synapse: the bot marks it
//! (`chat.chyron.mods`), and commands typed there from any client run like
//! the API's moderation calls with the sender as the actor: the owner's
//! `!timeout @bob 2m spam in chat` (“chat” is no channel of hers, so it is
//! part of the reason) silences bob in the bridged room (Synapse refuses
//! his post) and at the relay, is logged, and is answered by the
//! bot's notice in reply; a viewer's command is refused and logged;
//! unknown commands get the help.

mod common;

use common::matrix::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const D: &str = "/chat/v1/channels/demo";
const BOT: &str = "@chyron-bot:localhost";

/// The room alice is invited to whose name is `name`, waiting up to 20 s.
async fn invited_to(mx: &Mx, name: &str) -> String {
    for _ in 0..100 {
        let sync = mx.call(Method::GET, "/sync?timeout=0", json!(null)).await;
        let rooms = sync["rooms"]["invite"].as_object().cloned();
        let found = rooms.unwrap_or_default().into_iter().find(|(_, r)| {
            r["invite_state"]["events"]
                .as_array()
                .is_some_and(|es| es.iter().any(|e| e["content"]["name"] == name))
        });
        if let Some((id, _)) = found {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no invitation to {name}");
}

/// `mx` says `body` in `room`; the event id.
async fn say(mx: &Mx, room: &str, body: &str) -> String {
    let txn = format!("c{}", std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    let path = format!("/rooms/{room}/send/m.room.message/{txn}");
    let sent = mx
        .call(
            Method::PUT,
            &path,
            json!({"msgtype": "m.text", "body": body}),
        )
        .await;
    sent["event_id"].as_str().unwrap().to_string()
}

/// The bot's notice in reply to `event_id`, waiting up to 30 s.
async fn answer(mx: &Mx, room: &str, event_id: &str) -> String {
    for _ in 0..150 {
        let path = format!("/rooms/{room}/messages?dir=b&limit=50");
        let page = mx.call(Method::GET, &path, json!(null)).await;
        let found = page["chunk"].as_array().unwrap().iter().find_map(|e| {
            let c = &e["content"];
            (e["sender"] == BOT
                && c["msgtype"] == "m.notice"
                && c["m.relates_to"]["m.in_reply_to"]["event_id"] == event_id)
                .then(|| c["body"].as_str().unwrap_or_default().to_string())
        });
        if let Some(body) = found {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the bot did not answer {event_id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_in_the_moderators_room_moderate_with_the_senders_role() {
    let Some((synapse, alice)) = synapse_and_alice().await else {
        return;
    };
    let seeded = seeded(&synapse.base).await;
    let bob = user(&seeded, "bob", &synapse.base);
    // The bot may change power levels in #demo.
    let levels_path = format!("/rooms/{}/state/m.room.power_levels/", alice.room);
    let mut levels = alice.call(Method::GET, &levels_path, json!(null)).await;
    levels["users"][BOT] = json!(100);
    alice.call(Method::PUT, &levels_path, levels).await;
    let relay = start(|c| {
        c.matrix = Some(bridged(&synapse.base));
        own(c, "demo", &["@alice:localhost"]);
    })
    .await;
    let _ws = live_demo_feed(&relay).await;

    // Any logged action makes alice's moderators' room; she joins it.
    let path = format!("{D}/moderation/timeouts");
    let warm = json!({"user_id": "warmup", "seconds": 120});
    assert_eq!(
        call_as(&relay, TOKEN, Method::POST, &path, Some(warm))
            .await
            .0,
        200
    );
    let room = invited_to(&alice, "Moderators: @alice:localhost").await;
    alice
        .call(Method::POST, &format!("/join/{room}"), json!({}))
        .await;
    // It carries the marker the chat looks for.
    let marker = format!("/rooms/{room}/state/chat.chyron.mods/");
    let marker = alice.call(Method::GET, &marker, json!(null)).await;
    assert_eq!(marker, json!({"owner": "@alice:localhost"}));

    // The owner times bob out by his local name.
    assert_eq!(
        bob.call(Method::GET, "/account/whoami", json!(null)).await["user_id"],
        "@bob:localhost"
    );
    let command = say(&alice, &room, "!timeout @bob 2m spam in chat").await;
    let said = answer(&alice, &room, &command).await;
    assert!(
        said.starts_with("Timed out @bob:localhost for 2 min (karma 1); in Matrix: done"),
        "{said}"
    );
    // Synapse refuses his post; the relay holds the timeout; the log has it.
    let txn = format!("/rooms/{}/send/m.room.message/t-silenced", bob.room);
    let sent = http()
        .put(format!("{}/_matrix/client/v3{txn}", bob.base))
        .bearer_auth(&bob.token)
        .json(&json!({"msgtype": "m.text", "body": "still here"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 403);
    let standing = get_json(&relay, &format!("{D}/standing/@bob:localhost")).await;
    assert_eq!(standing["timeout"]["reason"], "spam in chat", "{standing}");
    let (_, log) = call_as(
        &relay,
        TOKEN,
        Method::GET,
        &format!("{D}/moderation/log"),
        None,
    )
    .await;
    let line = log["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == "timeout" && l["target"] == "@bob:localhost")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(line["actor"], "@alice:localhost", "{log}");

    // Karma, help, bad input: answers, never silence.
    let karma = say(&alice, &room, "/karma @bob:localhost").await;
    let said = answer(&alice, &room, &karma).await;
    assert!(
        said.contains("karma 1") && said.contains("timed out now"),
        "{said}"
    );
    let odd = say(&alice, &room, "!frobnicate everything").await;
    assert!(answer(&alice, &room, &odd)
        .await
        .starts_with("Unknown command"));
    let short = say(&alice, &room, "!timeout @bob 30s").await;
    assert!(answer(&alice, &room, &short)
        .await
        .contains("2 to 10 minutes"));
    let nobody = say(&alice, &room, "!ban @nobody").await;
    assert!(answer(&alice, &room, &nobody)
        .await
        .starts_with("No member"));

    // A viewer in the room (alice invited bob) is refused, and that is logged.
    let invite = json!({"user_id": "@bob:localhost"});
    alice
        .call(Method::POST, &format!("/rooms/{room}/invite"), invite)
        .await;
    bob.call(Method::POST, &format!("/join/{room}"), json!({}))
        .await;
    let attempt = say(&bob, &room, "!untimeout @bob:localhost").await;
    let said = answer(&alice, &room, &attempt).await;
    assert!(said.contains("you are a viewer"), "{said}");
    let (_, log) = call_as(
        &relay,
        TOKEN,
        Method::GET,
        &format!("{D}/moderation/log?limit=1"),
        None,
    )
    .await;
    assert_eq!(log["log"][0]["actor"], "@bob:localhost", "{log}");
    assert!(log["log"][0]["action"]
        .as_str()
        .unwrap()
        .starts_with("refused"));
    let standing = get_json(&relay, &format!("{D}/standing/@bob:localhost")).await;
    assert!(standing["timeout"].is_object(), "{standing}");

    // The owner lifts it; then appoints bob for an event of a few seconds:
    // at its end the bot lowers his level and removes him from the room.
    let lift = say(&alice, &room, "!untimeout @bob").await;
    let said = answer(&alice, &room, &lift).await;
    assert_eq!(said, "Lifted @bob:localhost's timeout; in Matrix: done");
    let until = chyron_relay::event::now_ms() + 4000;
    let path = format!("{D}/moderators/@bob:localhost");
    let event = json!({"scope": "event", "until": until});
    let (status, done) = call_as(&relay, TOKEN, Method::PUT, &path, Some(event)).await;
    assert_eq!(status, 200, "{done}");
    let level = async || {
        let levels = alice.call(Method::GET, &levels_path, json!(null)).await;
        levels["users"]["@bob:localhost"].as_i64()
    };
    assert_eq!(level().await, Some(50));
    let member = format!("/rooms/{room}/state/m.room.member/@bob:localhost");
    let mut ended = (None, String::new());
    for _ in 0..100 {
        let m = alice.call(Method::GET, &member, json!(null)).await;
        ended = (
            level().await,
            m["membership"].as_str().unwrap_or("").to_string(),
        );
        if ended.1 == "leave" && ended.0 != Some(50) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_ne!(ended.0, Some(50), "still a moderator in #demo");
    assert_eq!(ended.1, "leave", "still in the moderators' room");
    relay.stop().await;
    drop(synapse);
}
