//! Clustered mode: moderation made through one node holds on every node,
//! on a real redis-server. A timeout through one refuses posts at the
//! other within a second, a lift through that one frees both, the log,
//! roles and karma are the same everywhere, a session signed for one
//! node is good on the other, and a timeout's end is lifted (and logged)
//! once however many nodes see it end.

mod common;

use chyron_relay::config::{chat::ChannelMeta, Config, RedisUrl};
use chyron_relay::moderation::session;
use common::redis_server::Redis;
use common::*;
use redis::AsyncCommands;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// One moderation-clock second in ms: a 120 s timeout lasts 1.2 s.
const SECOND_MS: u32 = 10;
const M: &str = "/chat/v1/channels/live/moderation";

async fn node(redis: &Redis) -> Server {
    let url = redis.url.clone();
    start(move |c: &mut Config| {
        c.redis = Some(RedisUrl(url));
        c.limits.moderation_second_ms = SECOND_MS;
        c.limits.rate_limit_burst = 1000;
        c.limits.anonymous_rate_limit_burst = 1000;
        let owners = vec!["@dj:hs".into()];
        let meta = ChannelMeta {
            owners,
            ..Default::default()
        };
        c.chat.channels.insert("live".into(), meta);
    })
    .await
}

async fn call(
    relay: &Server,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    call_as(relay, TOKEN, method, path, body).await
}

async fn try_post(relay: &Server, sender: &str) -> StatusCode {
    let body = json!({"sender": sender, "body": "hello"});
    let path = "/api/v1/channels/live/messages";
    call(relay, Method::POST, path, Some(body)).await.0
}

/// Polls posts by `sender` through `relay` until one answers `want`;
/// how long that took. Fails after a second.
async fn until_post(relay: &Server, sender: &str, want: u16) -> Duration {
    let start = Instant::now();
    loop {
        if try_post(relay, sender).await == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{sender}'s posts never answered {want} within a second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn actions(relay: &Server) -> Vec<(String, String)> {
    let (status, log) = call(relay, Method::GET, &format!("{M}/log?limit=200"), None).await;
    assert_eq!(status, 200, "{log}");
    let lines = log["log"].as_array().unwrap();
    let field = |l: &Value, k: &str| l[k].as_str().unwrap().to_string();
    lines
        .iter()
        .map(|l| (field(l, "action"), field(l, "actor")))
        .collect()
}

#[tokio::test]
async fn a_timeout_through_one_node_refuses_at_the_other_and_a_lift_there_frees_both() {
    let redis = Redis::start();
    let (a, b) = (node(&redis).await, node(&redis).await);
    assert_eq!(try_post(&b, "spammer").await, 201);
    let body = json!({"user_id": "spammer", "seconds": 600, "reason": "spam"});
    let (status, done) = call(&a, Method::POST, &format!("{M}/timeouts"), Some(body)).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["karma"].as_i64(), done["extended"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(
        try_post(&a, "spammer").await,
        403,
        "refused at once where made"
    );
    let took = until_post(&b, "spammer", 403).await;
    eprintln!(
        "timeout through a refused at b after {} ms",
        took.as_millis()
    );
    assert_eq!(try_post(&b, "someone else").await, 201);
    // b answers the standing and karma as a does.
    let standing = get_json(&b, "/chat/v1/channels/live/standing/spammer").await;
    assert_eq!(standing["timeout"]["until"], done["until"], "{standing}");
    let (_, user) = call(&b, Method::GET, &format!("{M}/users/spammer"), None).await;
    assert_eq!(user["karma"], 1, "{user}");
    // Timed out again through b: an extension, no second point.
    let body = json!({"user_id": "spammer", "seconds": 300});
    let (_, again) = call(&b, Method::POST, &format!("{M}/timeouts"), Some(body)).await;
    assert_eq!(
        (again["karma"].as_i64(), again["extended"].as_bool()),
        (Some(1), Some(true))
    );
    // Lifted through b: a takes posts again.
    let path = format!("{M}/timeouts/spammer");
    assert_eq!(call(&b, Method::DELETE, &path, None).await.0, 200);
    assert_eq!(try_post(&b, "spammer").await, 201);
    let took = until_post(&a, "spammer", 201).await;
    eprintln!("lift through b accepted at a after {} ms", took.as_millis());
    assert_eq!(
        call(&a, Method::DELETE, &path, None).await.0,
        404,
        "lifted once"
    );
    // A ban through b refuses at a too; the log reads the same through both.
    let body = json!({"user_id": "troll"});
    assert_eq!(
        call(&b, Method::POST, &format!("{M}/bans"), Some(body))
            .await
            .0,
        200
    );
    until_post(&a, "troll", 403).await;
    let log = actions(&b).await;
    let names: Vec<&str> = log.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        names,
        ["ban", "timeout_lifted", "timeout", "timeout"],
        "{log:?}"
    );
    assert_eq!(actions(&a).await, log);
}

#[tokio::test]
async fn roles_and_sessions_hold_on_every_node() {
    let redis = Redis::start();
    let (a, b) = (node(&redis).await, node(&redis).await);
    // A session check on a makes the key (none exists yet): 401.
    let me = "/chat/v1/channels/live/me";
    let (status, _) = call_as(&a, "chs_AAAA", Method::GET, me, None).await;
    assert_eq!(status, 401);
    let stored: String = redis
        .connection()
        .await
        .get("chyron:mod:session-key")
        .await
        .unwrap();
    let mut key = [0u8; 32];
    hex::decode_to_slice(stored, &mut key).unwrap();
    // A session under it is good on both nodes; one under another key on neither.
    let expires = chyron_relay::hub::now_ms() + 60_000;
    let dj = session::sign(&key, "@dj:hs", expires);
    for relay in [&a, &b] {
        let (status, body) = call_as(relay, &dj, Method::GET, me, None).await;
        assert_eq!(
            (status, body["role"].as_str()),
            (StatusCode::OK, Some("owner")),
            "{body}"
        );
        let forged = session::sign(&[1; 32], "@dj:hs", expires);
        assert_eq!(call_as(relay, &forged, Method::GET, me, None).await.0, 401);
    }
    // The owner appoints through a; b knows the moderator, who acts there.
    let path = "/chat/v1/channels/live/moderators/@mod:hs";
    let body = json!({"scope": "general"});
    let (status, done) = call_as(&a, &dj, Method::PUT, path, Some(body)).await;
    assert_eq!(status, 200, "{done}");
    let moderator = session::sign(&key, "@mod:hs", expires);
    let (_, body) = call_as(&b, &moderator, Method::GET, me, None).await;
    assert_eq!(body["role"], "moderator", "{body}");
    let body = json!({"user_id": "pest"});
    let (status, _) = call_as(
        &b,
        &moderator,
        Method::POST,
        &format!("{M}/timeouts"),
        Some(body),
    )
    .await;
    assert_eq!(status, 200);
    // An owner added through b with the API token is one on a.
    let path = "/chat/v1/channels/live/owners/@ann:hs";
    assert_eq!(call(&b, Method::PUT, path, None).await.0, 200);
    let ann = session::sign(&key, "@ann:hs", expires);
    let (_, body) = call_as(&a, &ann, Method::GET, me, None).await;
    assert_eq!(body["role"], "owner", "{body}");
    let log = actions(&a).await;
    let expected = [
        ("add_owner", "api"),
        ("timeout", "@mod:hs"),
        ("appoint", "@dj:hs"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(log, expected);
}

#[tokio::test]
async fn a_timeouts_end_is_lifted_and_logged_once_across_nodes() {
    let redis = Redis::start();
    let (a, b) = (node(&redis).await, node(&redis).await);
    let body = json!({"user_id": "nap", "seconds": 120});
    assert_eq!(
        call(&a, Method::POST, &format!("{M}/timeouts"), Some(body))
            .await
            .0,
        200
    );
    until_post(&b, "nap", 403).await;
    // 120 s of the test clock = 1.2 s; both nodes' expiry tasks see it end.
    tokio::time::sleep(Duration::from_millis(120 * u64::from(SECOND_MS))).await;
    until_post(&a, "nap", 201).await;
    until_post(&b, "nap", 201).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = actions(&b).await;
    let ended = log.iter().filter(|(a, _)| a == "timeout_ended").count();
    assert_eq!(ended, 1, "{log:?}");
    assert_eq!(log[0], ("timeout_ended".into(), "relay".into()));
    let mut conn = redis.connection().await;
    let left: usize = conn.hlen("chyron:mod:sanctions").await.unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn without_redis_actions_answer_503_and_the_last_known_sanctions_still_refuse() {
    let redis = Redis::start();
    let (a, b) = (node(&redis).await, node(&redis).await);
    let body = json!({"user_id": "spammer", "seconds": 600});
    assert_eq!(
        call(&a, Method::POST, &format!("{M}/timeouts"), Some(body))
            .await
            .0,
        200
    );
    until_post(&b, "spammer", 403).await;
    redis.stop();
    let body = json!({"user_id": "other", "seconds": 600});
    let res = http()
        .post(a.url(&format!("{M}/timeouts")))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "2");
    let (status, _) = call(&b, Method::GET, &format!("{M}/log"), None).await;
    assert_eq!(status, 503);
    // Posts need Redis too, but the screen answers first: still 403.
    assert_eq!(try_post(&b, "spammer").await, 403);
    let standing = get_json(&b, "/chat/v1/channels/live/standing/spammer").await;
    assert!(standing["timeout"]["until"].is_i64(), "{standing}");
}
