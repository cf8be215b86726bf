//! The bridge lease and the shared bridge state in Redis, on a real
//! redis-server (no homeserver needed: the link's own failures do not
//! matter to the lease): one holder at a time, renewed and released only by
//! its holder, given up when another node holds it; a Matrix event id
//! ordered once across nodes; the outbox queued with the event.

mod common;

use chyron_protocol::BridgeState;
use chyron_relay::cluster::Cluster;
use chyron_relay::config::RedisUrl;
use common::matrix::{bridged, until_state};
use common::redis_server::Redis;
use common::*;
use std::time::Duration;
use tokio::sync::watch;

const BOT: &str = "@chyron-bot:localhost";

#[tokio::test]
async fn only_the_holder_renews_or_releases_and_an_expired_lease_is_free() {
    let redis = Redis::start();
    let (_stop_tx, stop) = watch::channel(false);
    let (cluster, _heard) = Cluster::connect(&redis.url, 16, stop).await.unwrap();
    assert!(cluster.lease_acquire(BOT, "a", 60_000).await.unwrap());
    assert!(!cluster.lease_acquire(BOT, "b", 60_000).await.unwrap());
    assert!(!cluster.lease_renew(BOT, "b", 60_000).await.unwrap());
    cluster.lease_release(BOT, "b").await.unwrap();
    assert_eq!(
        cluster.lease_holder(BOT).await.unwrap().as_deref(),
        Some("a")
    );
    assert!(cluster.lease_renew(BOT, "a", 300).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Expired: b takes it, and a can neither renew nor delete it.
    assert!(cluster.lease_acquire(BOT, "b", 60_000).await.unwrap());
    assert!(!cluster.lease_renew(BOT, "a", 60_000).await.unwrap());
    cluster.lease_release(BOT, "a").await.unwrap();
    assert_eq!(
        cluster.lease_holder(BOT).await.unwrap().as_deref(),
        Some("b")
    );
    cluster.lease_release(BOT, "b").await.unwrap();
    assert_eq!(cluster.lease_holder(BOT).await.unwrap(), None);
}

#[tokio::test]
async fn a_matrix_event_is_ordered_once_and_the_outbox_is_queued_with_its_event() {
    let redis = Redis::start();
    let (_stop_tx, stop) = watch::channel(false);
    let (cluster, _heard) = Cluster::connect(&redis.url, 16, stop).await.unwrap();
    let first = cluster
        .publish("demo", "ep", "{}", Some("$e1"), None)
        .await
        .unwrap();
    assert_eq!(first, Some(("ep".into(), 1)));
    // Another node fetching the same event again: refused, no seq used.
    let again = cluster
        .publish("demo", "ep", "{}", Some("$e1"), None)
        .await
        .unwrap();
    assert_eq!(again, None);
    assert_eq!(cluster.head("demo").await.unwrap(), Some(("ep".into(), 1)));
    let sent = cluster
        .publish("demo", "ep", "{}", None, Some("payload"))
        .await
        .unwrap();
    assert_eq!(sent, Some(("ep".into(), 2)));
    let queued = cluster.outbox_next("demo").await.unwrap().unwrap();
    assert_eq!((queued.epoch.as_str(), queued.seq), ("ep", 2));
    assert_eq!(queued.payload, "payload");
    assert_eq!(cluster.outbox_len("demo").await.unwrap(), 1);
    cluster.outbox_done("demo", &queued.id).await.unwrap();
    assert_eq!(cluster.outbox_next("demo").await.unwrap(), None);
    // The sync position is shared.
    assert_eq!(cluster.sync_position(BOT).await.unwrap(), None);
    cluster.set_sync_position(BOT, "s72_1").await.unwrap();
    assert_eq!(
        cluster.sync_position(BOT).await.unwrap().as_deref(),
        Some("s72_1")
    );
}

/// A node bridged to a homeserver that is not there (the lease does not
/// care), clustered on `redis`, with a 600 ms lease.
async fn node(redis: &Redis) -> Server {
    start(|c| {
        c.redis = Some(RedisUrl(redis.url.clone()));
        c.matrix = Some(bridged("http://127.0.0.1:9"));
        c.limits.bridge_lease_ms = 600;
    })
    .await
}

async fn holds(server: &Server) -> bool {
    metric(server, "chyron_bridge_lease", "").await == Some(1.0)
}

/// Waits (5 s at most) until `server`'s holding is `want`.
async fn until_holds(server: &Server, want: bool) {
    for _ in 0..100 {
        if holds(server).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the node's bridge lease never became {want}");
}

#[tokio::test]
async fn a_stopped_holder_hands_over_and_a_holder_that_lost_the_lease_stops() {
    let redis = Redis::start();
    let a = node(&redis).await;
    until_holds(&a, true).await;
    let b = node(&redis).await;
    // Three of b's tries: a keeps it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!holds(&b).await, "two nodes hold the lease");
    assert!(holds(&a).await);
    // Bridged media: the node that does not bridge says so, not a bare 404.
    let thumb = |s: &Server| http().get(s.url("/media/demo/m1/thumbnail")).send();
    let res = thumb(&b).await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "2");
    assert_eq!(thumb(&a).await.unwrap().status(), 404);
    // b's viewers see the holder's link state (its homeserver is not there).
    let mut ws = b.feed("/feed/demo").await;
    next_snapshot(&mut ws).await;
    until_state(&mut ws, BridgeState::Down).await.unwrap();
    // A clean stop releases it: b takes over.
    a.stop().await;
    until_holds(&b, true).await;
    // Someone else holds it now (as after a pause longer than the ttl): b
    // stops its link at its next renewal.
    let mut conn = redis.connection().await;
    let key = format!("chyron:bridge:{{{BOT}}}:lease");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("intruder")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    until_holds(&b, false).await;
    // Redis gone: nobody bridges, the feed still serves.
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    until_holds(&b, true).await;
    redis.stop();
    until_holds(&b, false).await;
    healthy_within(&b, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn the_sent_posts_map_keeps_the_newest_and_stays_bounded() {
    use chyron_relay::cluster::bridge::SENT_KEPT;
    let redis = Redis::start();
    let (_stop_tx, stop) = watch::channel(false);
    let (cluster, _heard) = Cluster::connect(&redis.url, 16, stop).await.unwrap();
    let extra = 5;
    for i in 0..SENT_KEPT + extra {
        let event = format!("$e{i}");
        cluster
            .link_sent("demo", &format!("m{i}"), &event)
            .await
            .unwrap();
    }
    // Recording one again changes nothing but its event.
    let last = SENT_KEPT + extra - 1;
    cluster
        .link_sent("demo", &format!("m{last}"), "$again")
        .await
        .unwrap();
    for i in 0..extra {
        assert_eq!(
            cluster.sent_event("demo", &format!("m{i}")).await.unwrap(),
            None,
            "m{i}"
        );
    }
    assert_eq!(
        cluster
            .sent_event("demo", &format!("m{extra}"))
            .await
            .unwrap()
            .as_deref(),
        Some(format!("$e{extra}").as_str())
    );
    assert_eq!(
        cluster
            .sent_event("demo", &format!("m{last}"))
            .await
            .unwrap()
            .as_deref(),
        Some("$again")
    );
    let mut conn = redis.connection().await;
    let len: usize = redis::cmd("HLEN")
        .arg("chyron:{demo}:sent")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, SENT_KEPT);
}
