//! Clustered mode: who is here is the cluster's, on a real redis-server.
//! A viewer on each node is two viewers at both; a presence through one
//! node is a chatter at the other, and one chatter on two nodes is one;
//! sightings reach every node's `seen`; an admin counts nowhere; a node
//! that stops takes its viewers with it; links posted through one node
//! are listed by the other.

mod common;

use chyron_relay::config::{Config, RedisUrl};
use chyron_relay::moderation::session;
use common::redis_server::Redis;
use common::*;
use redis::AsyncCommands;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const KEY: [u8; 32] = [42; 32];
const P: &str = "/chat/v1/channels/demo/presence";
const PEOPLE: &str = "/chat/v1/channels/demo/people";

async fn node(redis: &Redis) -> Server {
    let url = redis.url.clone();
    start(move |c: &mut Config| {
        c.redis = Some(RedisUrl(url));
        c.chat.public_channels = vec!["demo".into()];
        c.chat.admins = vec!["@root:hs".into()];
        c.limits.rate_limit_burst = 1000;
        c.limits.anonymous_rate_limit_burst = 1000;
    })
    .await
}

fn session_of(user_id: &str) -> String {
    let expires = chyron_relay::hub::now_ms() + 60_000;
    session::sign(&KEY, user_id, expires)
}

async fn here(relay: &Server, user_id: &str) {
    let (status, body) = call_as(relay, &session_of(user_id), Method::POST, P, None).await;
    assert_eq!(status, 200, "{body}");
}

async fn counts(relay: &Server) -> Value {
    let res = http().get(relay.url(PEOPLE)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Polls `relay`'s counts until `field` is `want` (viewer figures are
/// shared every second); fails after five seconds.
async fn until(relay: &Server, field: &str, want: u64) -> Value {
    let start = Instant::now();
    loop {
        let now = counts(relay).await;
        if now[field] == want {
            return now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{field} never became {want}: {now}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn counts_are_the_clusters_and_admins_count_nowhere() {
    let redis = Redis::start();
    let mut conn = redis.connection().await;
    let _: () = conn
        .set("chyron:mod:session-key", hex::encode(KEY))
        .await
        .unwrap();
    let (a, b) = (node(&redis).await, node(&redis).await);
    let mut at_a = a.feed("/feed/demo").await;
    next_snapshot(&mut at_a).await;
    let mut at_b = b.feed("/feed/demo").await;
    next_snapshot(&mut at_b).await;
    until(&a, "viewers", 2).await;
    until(&b, "viewers", 2).await;
    // A presence at a is a chatter at b; the same chatter at b is one.
    here(&a, "@ann:hs").await;
    assert_eq!(counts(&b).await["chatters"], 1);
    here(&b, "@ann:hs").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    here(&b, "@bob:hs").await;
    // The admin is answered, and counted nowhere.
    here(&a, "@root:hs").await;
    for relay in [&a, &b] {
        let now = counts(relay).await;
        assert_eq!(
            (&now["chatters"], &now["seen"]),
            (&json!(2), &json!(2)),
            "{now}"
        );
    }
    let lists = format!("{PEOPLE}?lists=1");
    let (status, body) = call_as(&a, TOKEN, Method::GET, &lists, None).await;
    assert_eq!(status, 200, "{body}");
    let present: Vec<&str> = body["present"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(present, ["@bob:hs", "@ann:hs"]);
    let seen = body["seen_list"].as_array().unwrap();
    assert_eq!(seen.len(), 2, "{body}");
    assert!(seen
        .iter()
        .all(|s| s["user_id"] != "@root:hs" && s["posted"] == false));
    // Leaving through b is gone at a.
    let ann = session_of("@ann:hs");
    assert_eq!(call_as(&b, &ann, Method::DELETE, P, None).await.0, 204);
    assert_eq!(counts(&a).await["chatters"], 1);
    // Links posted through a are listed by b (every node stores every post).
    a.post("demo", "Cy", "https://one.example/").await;
    let start = Instant::now();
    loop {
        let res = http()
            .get(b.url("/chat/v1/channels/demo/links"))
            .send()
            .await;
        let page: Value = res.unwrap().json().await.unwrap();
        if page["links"][0]["url"] == "https://one.example/" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counts(&b).await["seen"], 3, "Cy posted, seen at b too");
    // A node that stops takes its viewer with it.
    drop(at_b);
    b.stop().await;
    until(&a, "viewers", 1).await;
    close(at_a).await;
    a.stop().await;
}

/// The Redis side alone: the bound, expiry, one member per chatter,
/// lists newest first, sightings bumped only now and then, and a silent
/// node's viewer figure ignored and removed.
#[tokio::test]
async fn presences_are_bounded_deduplicated_and_expire_in_redis() {
    use chyron_relay::cluster::people::{Here, Presence};
    use chyron_relay::cluster::Cluster;
    let redis = Redis::start();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let (cluster, _heard) = Cluster::connect(&redis.url, 16, stop).await.unwrap();
    let at = |now_ms: i64| Presence {
        now_ms,
        ttl_ms: 75_000,
        per_channel: 2,
        record_every_ms: 300_000,
        window_ms: 43_200_000,
    };
    let t = 1_000_000_000_000;
    assert_eq!(
        cluster.here("c", "@a:hs", at(t)).await.unwrap(),
        Here::Arrived
    );
    assert_eq!(
        cluster.here("c", "@b:hs", at(t + 1)).await.unwrap(),
        Here::Arrived
    );
    assert_eq!(
        cluster.here("c", "@a:hs", at(t + 2)).await.unwrap(),
        Here::Renewed
    );
    assert_eq!(
        cluster.here("c", "@x:hs", at(t + 3)).await.unwrap(),
        Here::Full
    );
    let (n, list) = cluster.present("c", t + 3, 10).await.unwrap();
    assert_eq!(n, 2);
    let want = [("@b:hs".to_string(), t + 1), ("@a:hs".to_string(), t)];
    assert_eq!(
        list, want,
        "newest arrival first; a renewal keeps its since"
    );
    // b expires (75 s after t + 1); a renewed at t + 2 stays until t + 75_002.
    let later = t + 75_001;
    assert_eq!(cluster.chatters("c", later).await.unwrap(), 1);
    assert_eq!(
        cluster.here("c", "@x:hs", at(later)).await.unwrap(),
        Here::Arrived
    );
    // The sightings (Redis's clock, in the order written): a, b and x once
    // each, a not bumped by its renewal.
    let seen = cluster.sightings("c", 0, 10).await.unwrap();
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["@a:hs", "@b:hs", "@x:hs"]);
    assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "{seen:?}");
    let now = chyron_relay::hub::now_ms();
    assert!(
        seen.iter().all(|(_, at)| (now - at).abs() < 10_000),
        "{seen:?}"
    );
    let newest = seen[2].1;
    assert_eq!(cluster.sightings("c", newest, 10).await.unwrap().len(), 1);
    cluster.gone("c", "@x:hs").await.unwrap();
    assert_eq!(cluster.chatters("c", later).await.unwrap(), 1);
    // A node that stopped writing (its figure expired) counts for nothing.
    cluster
        .set_viewers("c", "live", 3, t + 15_000, 60_000)
        .await
        .unwrap();
    cluster
        .set_viewers("c", "dead", 5, t - 1, 60_000)
        .await
        .unwrap();
    assert_eq!(cluster.viewers_elsewhere("c", "me", t).await.unwrap(), 3);
    assert_eq!(cluster.viewers_elsewhere("c", "live", t).await.unwrap(), 0);
    let fields: Vec<String> = redis
        .connection()
        .await
        .hkeys("chyron:{c}:viewers")
        .await
        .unwrap();
    assert_eq!(fields, ["live"], "the silent node's field is deleted");
}
