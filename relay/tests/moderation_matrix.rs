//! Moderation by signed-in viewers, against a real Synapse: a Matrix OpenID
//! token becomes a relay session; roles decide; an owner appoints a
//! moderator for one event, who marks an image NSFW on every feed, cannot
//! touch the owner, and loses the role when the event ends; a timed-out
//! Matrix user's posts never reach the feed.

mod common;

use chyron_protocol::{Mark, ServerFrame};
use common::matrix::*;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// A relay session for a seeded user: the OpenID dance a chat does.
async fn session(relay: &Server, mx: &Mx, user_id: &str) -> String {
    let path = format!("/user/{user_id}/openid/request_token");
    let openid = mx.call(Method::POST, &path, json!({})).await;
    let res = http()
        .post(relay.url("/chat/v1/session"))
        .json(&json!({
            "access_token": openid["access_token"],
            "matrix_server_name": openid["matrix_server_name"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user_id"], user_id);
    body["session"].as_str().unwrap().to_string()
}

const D: &str = "/chat/v1/channels/demo";

#[tokio::test]
async fn signed_in_viewers_moderate_by_role_and_an_event_role_ends_with_the_event() {
    let Some((synapse, alice)) = synapse_and_alice().await else {
        return;
    };
    let seeded = seeded(&synapse.base).await;
    let bob = user(&seeded, "bob", &synapse.base);
    let relay = start(|c| {
        c.matrix = Some(bridged(&synapse.base));
        own(c, "demo", &["@alice:localhost"]);
    })
    .await;
    let mut ws = live_demo_feed(&relay).await;

    // Forged, and another server's, tokens get clear refusals.
    let forged = json!({"access_token": "forged", "matrix_server_name": "localhost"});
    let res = http()
        .post(relay.url("/chat/v1/session"))
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"]["code"], "invalid_openid");
    let elsewhere = json!({"access_token": "x", "matrix_server_name": "evil.example"});
    let res = http()
        .post(relay.url("/chat/v1/session"))
        .json(&elsewhere)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Bob has a face and a line before anything happens to him.
    let face = bob.upload(png(4, 4), "image/png").await;
    bob.set_avatar("@bob:localhost", &face).await;
    bob.text("hi all").await;
    let avatar = loop {
        let (_, line) = posted(next_slow(&mut ws).await);
        if line.body == "hi all" {
            break line.avatar.expect("bob's line shows his avatar");
        }
    };
    assert_eq!(
        http()
            .get(relay.url(&avatar))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let bob_s = session(&relay, &bob, "@bob:localhost").await;
    let alice_s = session(&relay, &alice, "@alice:localhost").await;
    let (_, me) = call_as(&relay, &bob_s, Method::GET, &format!("{D}/me"), None).await;
    assert_eq!(me["role"], "viewer");
    let (_, me) = call_as(&relay, &alice_s, Method::GET, &format!("{D}/me"), None).await;
    assert_eq!(me["role"], "owner");

    // A viewer cannot moderate; the refusal is logged.
    let timeout = json!({"user_id": "spammer"});
    let path = format!("{D}/moderation/timeouts");
    let (status, e) = call_as(&relay, &bob_s, Method::POST, &path, Some(timeout.clone())).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (_, log) = call_as(
        &relay,
        TOKEN,
        Method::GET,
        &format!("{D}/moderation/log"),
        None,
    )
    .await;
    assert_eq!(log["log"][0]["actor"], "@bob:localhost");
    assert!(log["log"][0]["action"]
        .as_str()
        .unwrap()
        .starts_with("refused"));

    // The owner appoints bob for an event ending in 15 s (each action waits up to 5 s for the bot).
    let until = chyron_relay::hub::now_ms() + 15_000;
    let appoint = json!({"scope": "event", "until": until});
    let path = format!("{D}/moderators/@bob:localhost");
    let (status, done) = call_as(&relay, &alice_s, Method::PUT, &path, Some(appoint)).await;
    assert_eq!(status, 200, "{done}");
    let (_, me) = call_as(&relay, &bob_s, Method::GET, &format!("{D}/me"), None).await;
    assert_eq!(
        (me["role"].as_str(), me["moderator_until"].as_i64()),
        (Some("moderator"), Some(until))
    );
    // The bot invites him to alice's moderators' room (made on first use,
    // with the appointment's log line in it).
    let mut invited = None;
    for _ in 0..100 {
        let sync = bob.call(Method::GET, "/sync?timeout=0", json!(null)).await;
        let rooms = sync["rooms"]["invite"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        invited = rooms.values().find_map(|r| {
            r["invite_state"]["events"]
                .as_array()?
                .iter()
                .find_map(|e| (e["type"] == "m.room.name").then(|| e["content"]["name"].clone()))
        });
        if invited.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(invited, Some(json!("Moderators: @alice:localhost")));
    // A moderator cannot appoint, nor time the owner out.
    let path = format!("{D}/moderators/@mallory:localhost");
    let again = json!({"scope": "general"});
    assert_eq!(
        call_as(&relay, &bob_s, Method::PUT, &path, Some(again))
            .await
            .0,
        403
    );
    let owner = json!({"user_id": "@alice:localhost"});
    let path = format!("{D}/moderation/timeouts");
    assert_eq!(
        call_as(&relay, &bob_s, Method::POST, &path, Some(owner))
            .await
            .0,
        403
    );

    // Alice posts a picture; bob marks it NSFW; the feed carries the mark.
    let mxc = alice.upload(png(8, 8), "image/png").await;
    alice
        .send(json!({"msgtype": "m.image", "body": "cat.png", "url": mxc,
            "info": {"mimetype": "image/png", "w": 8, "h": 8}}))
        .await;
    let (_, picture) = posted(next_slow(&mut ws).await);
    assert_eq!(picture.media.as_ref().unwrap().mark, None);
    let path = format!("{D}/moderation/marks/{}", picture.id);
    let (status, done) = call_as(
        &relay,
        &bob_s,
        Method::PUT,
        &path,
        Some(json!({"mark": "nsfw"})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    match next_slow(&mut ws).await {
        ServerFrame::Mark { id, mark, .. } => {
            assert_eq!((id, mark), (picture.id.clone(), Mark::Nsfw))
        }
        other => panic!("expected a mark, got {other:?}"),
    }
    // A new viewer's snapshot has it too.
    let mut late = relay.feed("/feed/demo").await;
    let snap = next_snapshot(&mut late).await;
    let shown = snap.messages.iter().find(|m| m.id == picture.id).unwrap();
    assert_eq!(shown.media.as_ref().unwrap().mark, Some(Mark::Nsfw));

    // The API token times bob out while the bot has no power in the room:
    // the relay still refuses his posts (they get through the homeserver
    // and are never shown) and says what it could not do in Matrix.
    let path = format!("{D}/moderation/timeouts");
    let timeout = json!({"user_id": "@bob:localhost", "seconds": 120, "reason": "cool down"});
    let (status, done) = call_as(&relay, TOKEN, Method::POST, &path, Some(timeout.clone())).await;
    assert_eq!(status, 200, "{done}");
    let said = done["matrix"].as_str().unwrap();
    assert!(
        said.starts_with("failed: the relay's Matrix account lacks the power"),
        "{said}"
    );
    bob.text("can anyone hear me").await;
    alice.text("after bob").await;
    let (_, next) = posted(next_slow(&mut ws).await);
    assert_eq!(next.body, "after bob", "bob's post reached the feed");
    // Given the power, the bot lowers his level: the homeserver itself
    // refuses him now (the second timeout extends the first).
    let levels_path = format!("/rooms/{}/state/m.room.power_levels/", alice.room);
    let mut levels = alice.call(Method::GET, &levels_path, json!(null)).await;
    levels["users"]["@chyron-bot:localhost"] = json!(100);
    alice.call(Method::PUT, &levels_path, levels).await;
    let (status, done) = call_as(&relay, TOKEN, Method::POST, &path, Some(timeout)).await;
    assert_eq!(
        (status, done["matrix"].as_str()),
        (StatusCode::OK, Some("done")),
        "{done}"
    );
    assert_eq!(done["extended"], true);
    let sent = http()
        .put(format!(
            "{}/_matrix/client/v3/rooms/{}/send/m.room.message/t-timed-out",
            bob.base, bob.room
        ))
        .bearer_auth(&bob.token)
        .json(&json!({"msgtype": "m.text", "body": "still there?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.status(),
        403,
        "the homeserver let a timed-out user post"
    );
    let (_, me) = call_as(&relay, &bob_s, Method::GET, &format!("{D}/me"), None).await;
    assert_eq!(me["timeout"]["reason"], "cool down");

    // The event ends: bob is a viewer again, and refused.
    let wait = until - chyron_relay::hub::now_ms() + 100;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    let (_, me) = call_as(&relay, &bob_s, Method::GET, &format!("{D}/me"), None).await;
    assert_eq!(me["role"], "viewer");
    let path = format!("{D}/moderation/marks/{}", picture.id);
    let (status, _) = call_as(
        &relay,
        &bob_s,
        Method::PUT,
        &path,
        Some(json!({"mark": "safe"})),
    )
    .await;
    assert_eq!(status, 403);
    // Banned: his lines leave the feed and his avatar is no longer served.
    let ban = json!({"user_id": "@bob:localhost", "reason": "enough"});
    let (status, done) = call_as(
        &relay,
        TOKEN,
        Method::POST,
        &format!("{D}/moderation/bans"),
        Some(ban),
    )
    .await;
    assert_eq!(
        (status, done["removed"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{done}"
    );
    assert_eq!(
        http()
            .get(relay.url(&avatar))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    relay.stop().await;
    drop(synapse);
}
