//! Clustered mode: what an operator sets up through one node holds on every
//! node (webhooks, live DJs), on a real redis-server; while Redis is away
//! changes are refused with `503` and the directory keeps its last answer.

mod common;

use chyron_protocol::{Directory, LiveDj};
use chyron_relay::config::{Config, RedisUrl};
use chyron_relay::live::MAX_LIVE_PER_CHANNEL;
use common::redis_server::Redis;
use common::*;
use serde_json::json;

async fn node(redis: &Redis) -> Server {
    let url = redis.url.clone();
    start(move |c: &mut Config| {
        c.redis = Some(RedisUrl(url));
        c.chat.public_channels = vec!["demo".into(), "dj".into()];
        c.limits.rate_limit_burst = 1000;
        c.limits.anonymous_rate_limit_burst = 1000;
    })
    .await
}

/// `channel`'s live DJs as `relay`'s directory lists them.
async fn listed(relay: &Server, channel: &str) -> Vec<LiveDj> {
    let res = reqwest::get(relay.url("/chat/channels")).await.unwrap();
    assert_eq!(res.status(), 200);
    let dir: Directory = res.json().await.unwrap();
    let info = dir.channels.into_iter().find(|c| c.channel == channel);
    info.unwrap().live
}

async fn hook_post(relay: &Server, url: &str, text: &str) -> u16 {
    let path = url.split_once("/hooks/").unwrap().1;
    let res = http()
        .post(relay.url(&format!("/hooks/{path}")))
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

#[tokio::test]
async fn a_webhook_made_on_one_node_posts_lists_and_revokes_on_any() {
    let redis = Redis::start();
    let (a, b) = (node(&redis).await, node(&redis).await);
    let hook = a.create_webhook("demo", json!({"name": "ci"})).await;
    let (id, url) = (hook["id"].as_str().unwrap(), hook["url"].as_str().unwrap());
    let mut on_a = a.feed("/feed/demo").await;
    next_snapshot(&mut on_a).await;
    assert_eq!(hook_post(&b, url, "built through b").await, 201);
    let frame = next_frame(&mut on_a).await;
    assert!(
        format!("{frame:?}").contains("built through b"),
        "{frame:?}"
    );
    // Listed by the other node; revoked there, refused here.
    let list = get_json(&b, "/api/v1/channels/demo/webhooks").await;
    assert_eq!(list["webhooks"][0]["id"], id, "{list}");
    assert!(list["webhooks"][0].get("secret_sha256").is_none());
    let res = http()
        .delete(b.url(&format!("/api/v1/channels/demo/webhooks/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(hook_post(&a, url, "after revoke").await, 404);
    // A wrong secret is the same 404 on every node.
    let forged = format!("{}0", url.trim_end_matches(char::is_alphanumeric));
    assert_eq!(hook_post(&b, &forged, "x").await, 404);
}

#[tokio::test]
async fn a_dj_marked_live_on_one_node_is_listed_by_all_and_the_cap_is_shared() {
    let redis = Redis::start();
    let (a, b) = (node(&redis).await, node(&redis).await);
    let res = put_live(
        &a,
        "dj",
        json!({"user_id": "@ben:hs", "live": true, "name": "DJ Ben"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let on_b = listed(&b, "dj").await;
    assert_eq!(on_b.len(), 1);
    assert_eq!(
        (on_b[0].user_id.as_str(), on_b[0].name.as_deref()),
        ("@ben:hs", Some("DJ Ben"))
    );
    // Marked again through b: still one, keeping when they went live.
    let res = put_live(&b, "dj", json!({"user_id": "@ben:hs", "live": true})).await;
    assert_eq!(res.status(), 200);
    let again = listed(&a, "dj").await;
    assert_eq!((again.len(), again[0].since), (1, on_b[0].since));
    // The cap counts marks made through both nodes.
    for i in 1..MAX_LIVE_PER_CHANNEL {
        let node = if i % 2 == 0 { &a } else { &b };
        let res = put_live(
            node,
            "dj",
            json!({"user_id": format!("@dj{i}:hs"), "live": true}),
        )
        .await;
        assert_eq!(res.status(), 200, "mark {i}");
    }
    let res = put_live(
        &a,
        "dj",
        json!({"user_id": "@one-too-many:hs", "live": true}),
    )
    .await;
    assert_eq!(res.status(), 409);
    assert_eq!(listed(&b, "dj").await.len(), MAX_LIVE_PER_CHANNEL);
    // Off through a: gone from b's list; other channels untouched.
    let res = put_live(&a, "dj", json!({"user_id": "@ben:hs", "live": false})).await;
    assert_eq!(res.status(), 200);
    assert!(listed(&b, "dj")
        .await
        .iter()
        .all(|d| d.user_id != "@ben:hs"));
    assert!(listed(&b, "demo").await.is_empty());
}

#[tokio::test]
async fn without_redis_changes_are_refused_and_the_directory_keeps_its_last_answer() {
    let redis = Redis::start();
    let a = node(&redis).await;
    let res = put_live(&a, "dj", json!({"user_id": "@ben:hs", "live": true})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(listed(&a, "dj").await.len(), 1);
    redis.stop();
    let res = put_live(&a, "dj", json!({"user_id": "@ann:hs", "live": true})).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "2");
    let res = http()
        .post(a.url("/api/v1/channels/demo/webhooks"))
        .bearer_auth(TOKEN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    // The chat still opens, and still knows who is live.
    let live = listed(&a, "dj").await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].user_id, "@ben:hs");
}

#[tokio::test]
async fn rate_limits_hold_across_nodes() {
    let redis = Redis::start();
    let url = redis.url.clone();
    let tight = move |c: &mut Config| {
        c.redis = Some(RedisUrl(url.clone()));
        c.limits.rate_limit_per_second = 1;
        c.limits.rate_limit_burst = 3;
        c.limits.anonymous_rate_limit_per_second = 1;
        c.limits.anonymous_rate_limit_burst = 4;
    };
    let (a, b) = (start(tight.clone()).await, start(tight).await);
    // One token, posts spread over both nodes: three in all, not per node.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let node = if i % 2 == 0 { &a } else { &b };
        let res = http()
            .post(node.url("/api/v1/channels/demo/messages"))
            .bearer_auth(TOKEN)
            .json(&json!({"sender": "Ann", "body": format!("post {i}")}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429, 429]);
    // One client address on the anonymous endpoints, likewise.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let node = if i % 2 == 0 { &a } else { &b };
        let res = http()
            .post(node.url("/hooks/whnone/nosecret"))
            .json(&json!({"text": "x"}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 404, 429, 429]);
    // Redis away: the shared quota is not asked (no 429 from it, no 500);
    // the hook itself needs Redis, so 503.
    redis.stop();
    let res = http()
        .post(b.url("/hooks/whnone/nosecret"))
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
}
