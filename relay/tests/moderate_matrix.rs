//! The moderation queue's work done in Matrix by the bridge's executor
//! (`bridge::moderate`), against a real Synapse: silencing refuses a
//! person's posts at the homeserver and unsilencing restores their level
//! exactly; bans, redactions, moderators' power; the owner's private
//! moderators' room; a room where the bot lacks power fails with a sentence.
//!
//! Drives the executor directly (the bot logged in with matrix-sdk, the
//! queue in a fresh SQLite), so each task's outcome is awaited at once.

mod common;

use chyron_relay::bridge::config::RoomBridge;
use chyron_relay::bridge::memory::Memory;
use chyron_relay::bridge::moderate::Executor;
use chyron_relay::bridge::rooms::Joined;
use chyron_relay::moderation::tasks::{MatrixTask, Outcome, Tasks};
use chyron_relay::store::{self, Store};
use common::matrix::*;
use common::*;
use matrix_sdk::ruma::OwnedRoomId;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const BOT: &str = "@chyron-bot:localhost";
const BOB: &str = "@bob:localhost";
const ALICE: &str = "@alice:localhost";

/// A call that may fail: status and body.
async fn try_call(mx: &Mx, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let res = http()
        .request(method, format!("{}/_matrix/client/v3{path}", mx.base))
        .bearer_auth(&mx.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Bob tries to post in `room`.
async fn bob_posts(bob: &Mx, room: &str) -> (StatusCode, Value) {
    let txn = format!("b{}", std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    let path = format!("/rooms/{room}/send/m.room.message/{txn}");
    try_call(
        bob,
        Method::PUT,
        &path,
        json!({"msgtype": "m.text", "body": "hi"}),
    )
    .await
}

/// `user`'s power level entry in `room` (None: not listed).
async fn listed_level(alice: &Mx, room: &str, user: &str) -> Option<i64> {
    let path = format!("/rooms/{room}/state/m.room.power_levels/");
    let levels = alice.call(Method::GET, &path, json!({})).await;
    levels["users"][user].as_i64()
}

async fn membership(alice: &Mx, room: &str, user: &str) -> String {
    let path = format!("/rooms/{room}/state/m.room.member/{user}");
    let m = alice.call(Method::GET, &path, json!({})).await;
    m["membership"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_executor_moderates_in_matrix_rooms() {
    let Some((synapse, alice)) = synapse_and_alice().await else {
        return;
    };
    let base = synapse.base.clone();
    let seeded = seeded(&base).await;
    let bob = user(&seeded, "bob", &base);
    // A room where the bot has all the power, bob a level of his own.
    let created = alice
        .call(
            Method::POST,
            "/createRoom",
            json!({"preset": "public_chat", "name": "moderated",
                "power_level_content_override": {"users": {BOT: 100, BOB: 10}}}),
        )
        .await;
    let strong = created["room_id"].as_str().unwrap().to_string();
    bob.call(Method::POST, &format!("/join/{strong}"), json!({}))
        .await;
    // #demo: the bot is in it with no power.
    let weak = alice.room.clone();

    let client = matrix_sdk::Client::builder()
        .homeserver_url(&base)
        .build()
        .await
        .unwrap();
    client
        .matrix_auth()
        .login_username("chyron-bot", PASSWORD)
        .send()
        .await
        .unwrap();
    let joined = Joined::default();
    for (channel, room) in [("strong", &strong), ("weak", &weak)] {
        let id = OwnedRoomId::try_from(room.as_str()).unwrap();
        joined.insert(channel, client.join_room_by_id(&id).await.unwrap());
    }
    let mut config = bridged(&base);
    config.rooms = ["strong", "weak"]
        .map(|c| RoomBridge {
            channel: c.into(),
            room: joined.room(c).unwrap().room_id().to_owned().into(),
        })
        .into();
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).unwrap();
    let tasks = Tasks::new(store.clone(), None);
    let executor = Executor {
        client: &client,
        config: &config,
        joined: &joined,
        tasks: &tasks,
        store: &store,
        memory: &Memory::new(&store, None, "@chyron-bot:localhost"),
    };
    let mut took = Vec::new();
    let test = async {
        let mut run = async |task: MatrixTask| {
            let started = Instant::now();
            let id = tasks.enqueue(task).await.unwrap();
            let outcome = tasks.wait(id, Duration::from_secs(30)).await;
            took.push(started.elapsed());
            outcome.expect("finished within 30 s")
        };
        let (channel, user_id) = ("strong".to_string(), BOB.to_string());

        // Silence: Synapse refuses bob; twice keeps his first level.
        assert_eq!(bob_posts(&bob, &strong).await.0, 200);
        let silence = MatrixTask::Silence {
            channel: channel.clone(),
            user_id: user_id.clone(),
        };
        assert_eq!(run(silence.clone()).await, Outcome::Done);
        assert_eq!(listed_level(&alice, &strong, BOB).await, Some(-1));
        let (status, body) = bob_posts(&bob, &strong).await;
        assert_eq!(
            (status.as_u16(), body["errcode"].as_str()),
            (403, Some("M_FORBIDDEN"))
        );
        assert_eq!(run(silence).await, Outcome::Done);
        let unsilence = MatrixTask::Unsilence {
            channel: channel.clone(),
            user_id: user_id.clone(),
        };
        assert_eq!(run(unsilence.clone()).await, Outcome::Done);
        assert_eq!(listed_level(&alice, &strong, BOB).await, Some(10));
        assert_eq!(bob_posts(&bob, &strong).await.0, 200);
        // Nothing remembered any more: a second unsilence changes nothing.
        assert_eq!(run(unsilence).await, Outcome::Done);
        assert_eq!(listed_level(&alice, &strong, BOB).await, Some(10));

        // Promote to 50, demote to users_default (unlisted).
        let promote = MatrixTask::Promote {
            channel: channel.clone(),
            user_id: user_id.clone(),
        };
        assert_eq!(run(promote).await, Outcome::Done);
        assert_eq!(listed_level(&alice, &strong, BOB).await, Some(50));
        let demote = MatrixTask::Demote {
            channel: channel.clone(),
            user_id: user_id.clone(),
        };
        assert_eq!(run(demote).await, Outcome::Done);
        assert_eq!(listed_level(&alice, &strong, BOB).await, None);

        // Redact bob's line.
        let (_, sent) = bob_posts(&bob, &strong).await;
        let event_id = sent["event_id"].as_str().unwrap().to_string();
        let redact = MatrixTask::Redact {
            channel: channel.clone(),
            event_id: event_id.clone(),
            reason: Some("spam".into()),
        };
        assert_eq!(run(redact).await, Outcome::Done);
        let path = format!("/rooms/{strong}/event/{event_id}");
        let event = alice.call(Method::GET, &path, json!({})).await;
        assert_eq!(event["content"], json!({}), "{event}");

        // Ban with a reason, then unban.
        let ban = MatrixTask::Ban {
            channel: channel.clone(),
            user_id: user_id.clone(),
            reason: Some("trolling".into()),
        };
        assert_eq!(run(ban).await, Outcome::Done);
        assert_eq!(membership(&alice, &strong, BOB).await, "ban");
        let unban = MatrixTask::Unban {
            channel: channel.clone(),
            user_id: user_id.clone(),
        };
        assert_eq!(run(unban).await, Outcome::Done);
        assert_eq!(membership(&alice, &strong, BOB).await, "leave");

        // The bot lacks the power in #demo: a sentence, not a crash.
        let weak_ban = MatrixTask::Ban {
            channel: "weak".into(),
            user_id: user_id.clone(),
            reason: None,
        };
        let Outcome::Failed(why) = run(weak_ban).await else {
            panic!("a ban without power must fail");
        };
        assert!(
            why.starts_with(&format!(
                "the relay's Matrix account lacks the power to ban in {weak}"
            )),
            "{why}"
        );
        assert_eq!(membership(&alice, &weak, BOB).await, "join");
        let unbridged = MatrixTask::Silence {
            channel: "elsewhere".into(),
            user_id: user_id.clone(),
        };
        assert_eq!(run(unbridged).await, Outcome::NotBridged);
        let bad = MatrixTask::Silence {
            channel: channel.clone(),
            user_id: "not a user".into(),
        };
        assert!(matches!(run(bad).await, Outcome::Failed(_)));

        // The owner's moderators' room: created once, private, alice invited.
        for line in ["bob was timed out for 5 minutes", "bob was banned"] {
            let log = MatrixTask::ModLog {
                owner: ALICE.into(),
                line: line.into(),
            };
            assert_eq!(run(log).await, Outcome::Done);
        }
        let key = format!("modroom:{ALICE}");
        let room = store
            .call(move |c| store::get_setting(c, &key))
            .await
            .unwrap()
            .expect("the moderators' room remembered");
        // Invite-only (checked below): alice's join proves her invitation.
        alice
            .call(Method::POST, &format!("/join/{room}"), json!({}))
            .await;
        let path = format!("/rooms/{room}/messages?dir=b&limit=20");
        let messages = alice.call(Method::GET, &path, json!({})).await;
        let notices: Vec<&str> = messages["chunk"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["content"]["msgtype"] == "m.notice")
            .filter_map(|e| e["content"]["body"].as_str())
            .collect();
        assert_eq!(
            notices,
            ["bob was banned", "bob was timed out for 5 minutes"]
        );
        let path = format!("/rooms/{room}/state/m.room.join_rules/");
        let rules = alice.call(Method::GET, &path, json!({})).await;
        assert_eq!(rules["join_rule"], "invite");
        let path = format!("/directory/list/room/{room}");
        let listed = alice.call(Method::GET, &path, json!({})).await;
        assert_eq!(listed["visibility"], "private");
        let name = alice
            .call(
                Method::GET,
                &format!("/rooms/{room}/state/m.room.name/"),
                json!({}),
            )
            .await;
        assert_eq!(name["name"], format!("Moderators: {ALICE}"));

        // Moderators come and go.
        for member in [true, false] {
            let task = MatrixTask::ModRoom {
                owner: ALICE.into(),
                user_id: BOB.into(),
                member,
            };
            assert_eq!(run(task).await, Outcome::Done);
            let want = if member { "invite" } else { "leave" };
            assert_eq!(membership(&alice, &room, BOB).await, want);
        }
    };
    tokio::select! {
        never = executor.run() => panic!("the executor stopped: {never:?}"),
        () = test => {}
    }
    took.sort();
    println!(
        "task enqueue -> outcome: {} tasks, median {:?}, max {:?}",
        took.len(),
        took[took.len() / 2],
        took.last().unwrap()
    );
}
