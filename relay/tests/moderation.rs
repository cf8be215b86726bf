//! Moderation through the API token on a real relay (port 0, real
//! websockets): timeouts that lift themselves, also across a restart;
//! bans that clear lines; karma; the log; hostile input. The signed-in
//! viewer's side (OpenID, roles) is in `moderation_matrix.rs`.

mod common;

use chyron_protocol::ServerFrame;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// One moderation-clock second in ms: a 120 s timeout lasts 1.2 s.
const SECOND_MS: u32 = 10;

fn tweak(c: &mut chyron_relay::config::Config) {
    c.limits.moderation_second_ms = SECOND_MS;
    c.chat.channels.insert(
        "live".into(),
        chyron_relay::config::chat::ChannelMeta {
            owners: vec!["@dj:hs".into()],
            ..Default::default()
        },
    );
}

/// A call with the API token.
async fn call(
    relay: &Server,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    call_as(relay, TOKEN, method, path, body).await
}

async fn try_post(relay: &Server, sender: &str, body: &str) -> (StatusCode, Value) {
    let body = json!({"sender": sender, "body": body});
    call(
        relay,
        Method::POST,
        "/api/v1/channels/live/messages",
        Some(body),
    )
    .await
}

const M: &str = "/chat/v1/channels/live/moderation";

#[tokio::test]
async fn a_timeout_refuses_posts_then_lifts_itself_also_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(config(dir.path(), tweak)).await;
    relay.post("live", "spammer", "buy now").await;
    let body = json!({"user_id": "spammer", "reason": "spam"});
    let (status, done) = call(&relay, Method::POST, &format!("{M}/timeouts"), Some(body)).await;
    assert_eq!(status, 200, "{done}");
    // No length given: karma 0 suggests 2 minutes.
    assert_eq!(
        (done["seconds"].as_i64(), done["karma"].as_i64()),
        (Some(120), Some(1))
    );
    assert_eq!(
        (done["extended"].as_bool(), done["matrix"].as_str()),
        (Some(false), Some("not_bridged"))
    );
    let (status, refused) = try_post(&relay, "spammer", "again").await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "timed_out");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("spam"));
    assert_eq!(try_post(&relay, "someone else", "hi").await.0, 201);
    // The public standing says so, for a guest's chat.
    let standing: Value = http()
        .get(relay.url("/chat/v1/channels/live/standing/spammer"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(standing["timeout"]["until"], done["until"]);
    // A second timeout while timed out extends it and adds no karma.
    let body = json!({"user_id": "spammer", "seconds": 600});
    let (_, again) = call(&relay, Method::POST, &format!("{M}/timeouts"), Some(body)).await;
    assert_eq!(
        (again["extended"].as_bool(), again["karma"].as_i64()),
        (Some(true), Some(1))
    );
    assert!(again["until"].as_i64() > done["until"].as_i64());
    // Restarted mid-timeout: still refused.
    relay.stop().await;
    let relay = start_with(config(dir.path(), tweak)).await;
    assert_eq!(try_post(&relay, "spammer", "after restart").await.0, 403);
    // 600 s of the test clock = 6 s; then it lifts without anyone acting.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = try_post(&relay, "spammer", "sorry").await;
        if status == 201 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the timeout never lifted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, log) = call(&relay, Method::GET, &format!("{M}/log"), None).await;
    let actions: Vec<&str> = log["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["timeout_ended", "timeout", "timeout"], "{log}");
    assert_eq!(log["log"][0]["actor"], "relay");
    assert_eq!(log["log"][2]["reason"], "spam");
    // Karma 1 (one timeout, one extension) suggests 5 minutes next.
    let (_, user) = call(&relay, Method::GET, &format!("{M}/users/spammer"), None).await;
    assert_eq!(
        (user["karma"].as_i64(), user["suggested_seconds"].as_i64()),
        (Some(1), Some(300))
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_timeout_ended_while_the_relay_was_down_is_lifted_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(config(dir.path(), tweak)).await;
    let body = json!({"user_id": "nap", "seconds": 120});
    assert_eq!(
        call(&relay, Method::POST, &format!("{M}/timeouts"), Some(body))
            .await
            .0,
        200
    );
    relay.stop().await;
    tokio::time::sleep(Duration::from_millis(120 * u64::from(SECOND_MS) + 100)).await;
    let relay = start_with(config(dir.path(), tweak)).await;
    assert_eq!(try_post(&relay, "nap", "back").await.0, 201);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, log) = call(&relay, Method::GET, &format!("{M}/log?limit=1"), None).await;
    assert_eq!(log["log"][0]["action"], "timeout_ended", "{log}");
    relay.stop().await;
}

#[tokio::test]
async fn a_ban_clears_the_lines_on_every_feed_and_refuses_until_lifted() {
    let relay = start(tweak).await;
    relay.post("live", "troll", "first").await;
    relay.post("live", "fan", "hello").await;
    let mut ws = relay.feed("/feed/live").await;
    next_snapshot(&mut ws).await;
    let body = json!({"user_id": "troll", "reason": "abuse"});
    let (status, done) = call(&relay, Method::POST, &format!("{M}/bans"), Some(body)).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["removed"], 1);
    match next_frame(&mut ws).await {
        ServerFrame::Clear { sender_id, .. } => assert_eq!(sender_id, "troll"),
        other => panic!("expected a clear, got {other:?}"),
    }
    let (status, refused) = try_post(&relay, "troll", "x").await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("banned"))
    );
    // Timing out someone banned still records the timeout; unbanning lifts the ban only.
    let (status, _) = call(&relay, Method::DELETE, &format!("{M}/bans/troll"), None).await;
    assert_eq!(status, 200);
    assert_eq!(try_post(&relay, "troll", "ok now").await.0, 201);
    let (status, e) = call(&relay, Method::DELETE, &format!("{M}/bans/troll"), None).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // A delete through moderation reaches the feed; a mark needs an attachment.
    let (_, posted) = try_post(&relay, "fan", "oops").await;
    let id = posted["id"].as_str().unwrap();
    let (status, _) = call(&relay, Method::DELETE, &format!("{M}/messages/{id}"), None).await;
    assert_eq!(status, 200);
    let body = json!({"mark": "nsfw"});
    let (status, e) = call(&relay, Method::PUT, &format!("{M}/marks/m2"), Some(body)).await;
    assert_eq!(status, 404, "{e}");
    relay.stop().await;
}

#[tokio::test]
async fn hostile_moderation_requests_get_clear_errors_and_change_nothing() {
    let relay = start(tweak).await;
    let url = relay.url(&format!("{M}/timeouts"));
    // No token, a wrong one, a forged session.
    for auth in [None, Some("nope"), Some("chs_AAAAAAAA"), Some("chs_")] {
        let mut req = http().post(&url).json(&json!({"user_id": "x"}));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
    }
    let long = "r".repeat(301);
    for (body, says) in [
        (json!({"user_id": "x", "seconds": 60}), "seconds"),
        (json!({"user_id": "x", "seconds": 601}), "seconds"),
        (json!({"user_id": "x", "seconds": "ten"}), ""),
        (json!({"user_id": ""}), "user_id"),
        (json!({"user_id": "x", "reason": long}), "reason"),
        (json!({"user_id": "x", "reason": "a\u{202e}b"}), "reason"),
        (json!({"user_id": "x", "reason": "a\u{0007}b"}), "reason"),
        (json!({"who": "x"}), ""),
    ] {
        let (status, e) = call(
            &relay,
            Method::POST,
            &format!("{M}/timeouts"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body} → {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(says),
            "{body} → {e}"
        );
    }
    for path in [
        format!("{M}/log?limit=0"),
        format!("{M}/log?limit=201"),
        format!("{M}/log?before=yesterday"),
        "/chat/v1/channels/bad%20name/moderation/log".to_string(),
    ] {
        let (status, e) = call(&relay, Method::GET, &path, None).await;
        assert_eq!(status, 400, "{path} → {e}");
    }
    let bad_mark = json!({"mark": "gore"});
    assert_eq!(
        call(
            &relay,
            Method::PUT,
            &format!("{M}/marks/m1"),
            Some(bad_mark)
        )
        .await
        .0,
        400
    );
    let appoint = json!({"scope": "forever"});
    let path = "/chat/v1/channels/live/moderators/@mod:hs";
    assert_eq!(call(&relay, Method::PUT, path, Some(appoint)).await.0, 400);
    let past = json!({"scope": "event", "until": 1});
    assert_eq!(call(&relay, Method::PUT, path, Some(past)).await.0, 400);
    // Nothing was recorded: nobody is timed out, the log is empty.
    assert_eq!(try_post(&relay, "x", "still here").await.0, 201);
    let (_, log) = call(&relay, Method::GET, &format!("{M}/log"), None).await;
    assert_eq!(log["log"], json!([]));
    // A browser may call from another origin (preflight answered).
    let res = http()
        .request(Method::OPTIONS, &url)
        .header("origin", "https://stream.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    relay.stop().await;
}

#[tokio::test]
async fn where_the_organiser_chose_notices_everyone_reads_one_line() {
    let relay = start(|c| {
        tweak(c);
        c.chat.channels.get_mut("live").unwrap().moderation_notices = true;
    })
    .await;
    relay.post("live", "Rowdy Ray", "LOUD").await;
    let mut ws = relay.feed("/feed/live").await;
    next_snapshot(&mut ws).await;
    let body = json!({"user_id": "Rowdy Ray", "seconds": 300});
    assert_eq!(
        call(&relay, Method::POST, &format!("{M}/timeouts"), Some(body))
            .await
            .0,
        200
    );
    match next_frame(&mut ws).await {
        ServerFrame::Message { message, .. } => {
            assert_eq!(message.body, "Rowdy Ray was timed out for 5 minutes.");
            assert_eq!(
                (message.sender.as_str(), message.sender_id.as_str()),
                ("Chyron", "chyron:relay")
            );
        }
        other => panic!("expected the notice, got {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_flood_of_moderation_calls_is_rate_limited() {
    let relay = start(|c| {
        tweak(c);
        c.limits.rate_limit_burst = 3;
        c.limits.rate_limit_per_second = 1;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, _) = call(&relay, Method::GET, &format!("{M}/log"), None).await;
        statuses.push(status.as_u16());
    }
    assert_eq!(&statuses[..3], [200, 200, 200]);
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    relay.stop().await;
}
