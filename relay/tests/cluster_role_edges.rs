//! Clustered mode: an event appointment's start and end (kept in Redis,
//! `cluster::role_edges`) are acted on once across the cluster: two nodes
//! watch the same edges, and the shared log shows one start and one end.

mod common;

use chyron_relay::config::{chat::ChannelMeta, Config, RedisUrl};
use chyron_relay::event::now_ms;
use common::redis_server::Redis;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn node(redis: &Redis) -> Server {
    let url = redis.url.clone();
    start(move |c: &mut Config| {
        c.redis = Some(RedisUrl(url));
        let meta = ChannelMeta {
            owners: vec!["@dj:hs".into()],
            ..Default::default()
        };
        c.chat.channels.insert("live".into(), meta);
    })
    .await
}

/// The role clock's log lines `(action, target)`, oldest first.
async fn role_lines(relay: &Server) -> Vec<(String, String)> {
    let path = "/chat/v1/channels/live/moderation/log?limit=200";
    let (_, log) = call_as(relay, TOKEN, Method::GET, path, None).await;
    let mut lines: Vec<(String, String)> = log["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"].as_str().unwrap().starts_with("moderator_"))
        .map(|l| {
            let s = |v: &Value| v.as_str().unwrap().to_string();
            (s(&l["action"]), s(&l["target"]))
        })
        .collect();
    lines.reverse();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_edge_is_acted_on_once_by_one_node() {
    let redis = Redis::start();
    let (a, b) = (node(&redis).await, node(&redis).await);
    let t0 = now_ms();
    let event = json!({"scope": "event", "from": t0 + 1000, "until": t0 + 2500});
    let path = "/chat/v1/channels/live/moderators/@ev:hs";
    let (status, body) = call_as(&a, TOKEN, Method::PUT, path, Some(event)).await;
    assert_eq!(status, 200, "{body}");
    let mut conn = redis.connection().await;
    let pending: usize = redis::cmd("ZCARD")
        .arg("chyron:mod:role-edges")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending, 2);
    let wait = (t0 + 4500 - now_ms()).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let want = [
        ("moderator_starts".to_string(), "@ev:hs".to_string()),
        ("moderator_ends".to_string(), "@ev:hs".to_string()),
    ];
    assert_eq!(role_lines(&a).await, want);
    assert_eq!(role_lines(&b).await, want);
    let pending: usize = redis::cmd("ZCARD")
        .arg("chyron:mod:role-edges")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    a.stop().await;
    b.stop().await;
}
