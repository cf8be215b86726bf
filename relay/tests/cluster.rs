//! Clustered mode (`--redis`): two relays on one real redis-server (started
//! by scripts/redis.sh) number, fan out and resume every channel as one.

mod common;

use chyron_protocol::{ServerFrame, SnapshotReason};
use chyron_relay::config::{Config, RedisUrl};
use common::redis_server::Redis;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Two nodes on `redis`, each with `tweak` applied.
async fn two_nodes(redis: &Redis, tweak: fn(&mut Config)) -> (Server, Server) {
    let node = || {
        start(|c| {
            c.redis = Some(RedisUrl(redis.url.clone()));
            tweak(c);
        })
    };
    (node().await, node().await)
}

/// The seq and body of a message frame (panics on anything else).
fn message(frame: ServerFrame) -> (u64, String) {
    match frame {
        ServerFrame::Message { seq, message } => (seq, message.body),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// A post's answer: status, `Retry-After`, seq.
async fn try_post(server: &Server, channel: &str, body: &str) -> (u16, Option<String>, u64) {
    let res = http()
        .post(server.url(&format!("/api/v1/channels/{channel}/messages")))
        .bearer_auth(TOKEN)
        .json(&json!({"sender": "Ann", "body": body}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let v: serde_json::Value = res.json().await.unwrap();
    (status, retry, v["seq"].as_u64().unwrap_or(0))
}

#[tokio::test]
async fn a_post_to_one_node_reaches_viewers_of_the_other_with_the_same_seq() {
    let redis = Redis::start();
    let (a, b) = two_nodes(&redis, |_| {}).await;
    assert_eq!(a.post("demo", "Ann", "first").await["seq"], 1);
    let (mut on_a, mut on_b) = (a.feed("/feed/demo").await, b.feed("/feed/demo").await);
    let (snap_a, snap_b) = (
        next_snapshot(&mut on_a).await,
        next_snapshot(&mut on_b).await,
    );
    assert_eq!(
        (snap_b.epoch.as_str(), snap_b.seq),
        (snap_a.epoch.as_str(), 1)
    );
    assert_eq!(
        snap_b.messages[0].body, "first",
        "B's snapshot has A's post"
    );
    // A second viewer on B shares B's one subscription.
    let mut again_b = b.feed("/feed/demo").await;
    next_snapshot(&mut again_b).await;
    assert_eq!(
        subscribers(&redis, "demo").await,
        2,
        "one subscription per node"
    );

    assert_eq!(b.post("demo", "Bo", "from b").await["seq"], 2);
    assert_eq!(a.post("demo", "Ann", "from a").await["seq"], 3);
    for ws in [&mut on_a, &mut on_b, &mut again_b] {
        assert_eq!(message(next_frame(ws).await), (2, "from b".into()));
        assert_eq!(message(next_frame(ws).await), (3, "from a".into()));
        assert_quiet(ws).await;
    }
}

#[tokio::test]
async fn concurrent_posts_through_both_nodes_are_gap_free_and_seen_alike() {
    let redis = Redis::start();
    let (a, b) = two_nodes(&redis, |c| c.limits.rate_limit_burst = 1000).await;
    a.post("busy", "Ann", "start").await;
    let (mut on_a, mut on_b) = (a.feed("/feed/busy").await, b.feed("/feed/busy").await);
    next_snapshot(&mut on_a).await;
    next_snapshot(&mut on_b).await;
    let (writers, each) = (8, 25);
    let began = std::time::Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let url = if w % 2 == 0 { a.url("") } else { b.url("") };
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..each {
                let res = http()
                    .post(format!("{url}/api/v1/channels/busy/messages"))
                    .bearer_auth(TOKEN)
                    .json(&json!({"sender": "Ann", "body": format!("w{w} #{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                let v: serde_json::Value = res.json().await.unwrap();
                seqs.push((v["seq"].as_u64().unwrap(), format!("w{w} #{i}")));
            }
            seqs
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    acked.sort();
    let total = writers * each;
    eprintln!(
        "{total} posts through two nodes by {writers} writers: {:.0} posts/s",
        total as f64 / began.elapsed().as_secs_f64()
    );
    let seqs: Vec<u64> = acked.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (2..2 + total as u64).collect::<Vec<_>>(),
        "no gap, no repeat"
    );
    let mut seen = Vec::new();
    for ws in [&mut on_a, &mut on_b] {
        let mut frames = Vec::new();
        for _ in 0..total {
            frames.push(message(next_frame(ws).await));
        }
        assert_quiet(ws).await;
        assert_eq!(
            frames, acked,
            "each viewer sees every post once, in seq order"
        );
        seen.push(frames);
    }
    assert_eq!(seen[0], seen[1]);
}

#[tokio::test]
async fn resume_on_the_other_node_gets_exactly_what_was_missed() {
    let redis = Redis::start();
    let (a, b) = two_nodes(&redis, |c| c.limits.resume_buffer = 4).await;
    let mut on_a = a.feed("/feed/talk").await;
    let epoch = next_snapshot(&mut on_a).await.epoch;
    for i in 1..=3 {
        a.post("talk", "Ann", &format!("seen {i}")).await;
    }
    for i in 1..=3 {
        assert_eq!(
            message(next_frame(&mut on_a).await),
            (i, format!("seen {i}"))
        );
    }
    close(on_a).await;
    for i in 4..=6 {
        a.post("talk", "Ann", &format!("missed {i}")).await;
    }
    // B has never loaded the channel: it catches up from Redis's history.
    let mut on_b = b.feed(&format!("/feed/talk?epoch={epoch}&since=3")).await;
    for i in 4..=6 {
        assert_eq!(
            message(next_frame(&mut on_b).await),
            (i, format!("missed {i}"))
        );
    }
    assert_quiet(&mut on_b).await;
    a.post("talk", "Ann", "live").await;
    assert_eq!(message(next_frame(&mut on_b).await), (7, "live".into()));
    // Older than the history (4 events): a fresh snapshot, on either node.
    for node in [&a, &b] {
        let mut late = node
            .feed(&format!("/feed/talk?epoch={epoch}&since=1"))
            .await;
        let snap = next_snapshot(&mut late).await;
        assert_eq!(snap.reason, SnapshotReason::ResumeUnavailable);
        assert_eq!((snap.epoch.as_str(), snap.seq), (epoch.as_str(), 7));
    }
}

/// Sends a ping and waits for its pong: the socket is open and served.
async fn assert_alive(ws: &mut Ws) {
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("pong within 5 s")
        .expect("socket open")
        .expect("no error");
    assert!(
        matches!(msg, Message::Pong(_)),
        "expected a pong, got {msg:?}"
    );
}

#[tokio::test]
async fn redis_down_refuses_posts_keeps_viewers_and_recovers() {
    let redis = Redis::start();
    let (a, b) = two_nodes(&redis, |_| {}).await;
    a.post("show", "Ann", "before").await;
    let (mut on_a, mut on_b) = (a.feed("/feed/show").await, b.feed("/feed/show").await);
    let old = next_snapshot(&mut on_a).await.epoch;
    next_snapshot(&mut on_b).await;

    redis.stop();
    for node in [&a, &b] {
        let (status, retry, _) = try_post(node, "show", "lost?").await;
        assert_eq!((status, retry.as_deref()), (503, Some("2")));
    }
    assert_alive(&mut on_a).await;
    assert_alive(&mut on_b).await;
    // A viewer of a channel loaded here is still served.
    next_snapshot(&mut a.feed("/feed/show").await).await;

    // Back, but empty (no persistence): the channel starts a new epoch.
    redis.restart();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let seq = loop {
        match try_post(&a, "show", "after").await {
            (201, _, seq) => break seq,
            (503, ..) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            other => panic!("posting after Redis came back: {other:?}"),
        }
    };
    assert_eq!(seq, 1, "Redis lost the channel: numbering restarts");
    for ws in [&mut on_a, &mut on_b] {
        let snap = next_snapshot(ws).await;
        assert_ne!(snap.epoch, old);
        let bodies: Vec<_> = snap.messages.iter().map(|m| m.body.as_str()).collect();
        assert_eq!((snap.seq, bodies), (1, vec!["after"]));
    }
    assert_eq!(b.post("show", "Bo", "again").await["seq"], 2);
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(message(next_frame(ws).await), (2, "again".into()));
    }
}

#[tokio::test]
async fn a_flushed_redis_gives_the_channel_a_new_epoch() {
    let redis = Redis::start();
    let (a, b) = two_nodes(&redis, |_| {}).await;
    a.post("news", "Ann", "one").await;
    a.post("news", "Ann", "two").await;
    let (mut on_a, mut on_b) = (a.feed("/feed/news").await, b.feed("/feed/news").await);
    let old = next_snapshot(&mut on_a).await.epoch;
    assert_eq!(next_snapshot(&mut on_b).await.epoch, old);
    let mut conn = redis.connection().await;
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    assert_eq!(b.post("news", "Bo", "three").await["seq"], 1);
    let mut new = Vec::new();
    for ws in [&mut on_a, &mut on_b] {
        let snap = next_snapshot(ws).await;
        assert_eq!(snap.reason, SnapshotReason::Lagged);
        let bodies: Vec<_> = snap.messages.iter().map(|m| m.body.as_str()).collect();
        assert_eq!((snap.seq, bodies), (1, vec!["three"]));
        new.push(snap.epoch);
    }
    assert_ne!(new[0], old);
    assert_eq!(new[0], new[1], "both nodes agree on the new epoch");
    // A resume in the lost epoch gets a fresh snapshot.
    let mut late = a.feed(&format!("/feed/news?epoch={old}&since=2")).await;
    let snap = next_snapshot(&mut late).await;
    assert_eq!(
        (snap.reason, snap.epoch),
        (SnapshotReason::ResumeUnavailable, new[0].clone())
    );
}

/// Redis's count of subscribers to `channel`'s events.
async fn subscribers(redis: &Redis, channel: &str) -> u64 {
    let mut conn = redis.connection().await;
    let subs: Vec<(String, u64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(format!("chyron:{{{channel}}}:events"))
        .query_async(&mut conn)
        .await
        .unwrap();
    subs[0].1
}

#[tokio::test]
async fn a_node_unsubscribes_from_channels_it_drops() {
    use chyron_relay::cluster::Cluster;
    use chyron_relay::hub::{Hub, HubLimits, Log};
    let redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let (cluster, heard) = Cluster::connect(&redis.url, 16, stopped).await.unwrap();
    let limits = HubLimits {
        history: 50,
        resume_buffer: 16,
        broadcast_capacity: 16,
        max_channels: 8,
    };
    let store = chyron_relay::store::Store::open(dir.path()).unwrap();
    let hub = Hub::new(store, limits, Default::default(), Default::default());
    let hub = std::sync::Arc::new(hub.with_log(Log::Redis(cluster)));
    tokio::spawn(chyron_relay::hub::follow(hub.clone(), heard));
    let ch = hub.channel("quiet").await.unwrap();
    let viewer = hub.subscribe(&ch, None, 50).await.unwrap();
    assert_eq!(subscribers(&redis, "quiet").await, 1, "subscribed on load");
    drop((viewer, ch));
    hub.sweep().await;
    assert_eq!(
        subscribers(&redis, "quiet").await,
        1,
        "one idle sweep keeps it"
    );
    hub.sweep().await;
    assert!(!hub.is_loaded("quiet"));
    assert_eq!(
        subscribers(&redis, "quiet").await,
        0,
        "unsubscribed when dropped"
    );
    hub.channel("quiet").await.unwrap();
    assert_eq!(
        subscribers(&redis, "quiet").await,
        1,
        "subscribed again on reload"
    );
}

#[tokio::test]
async fn events_missed_while_pubsub_was_down_are_filled_in_order() {
    let redis = Redis::start();
    let (a, b) = two_nodes(&redis, |_| {}).await;
    a.post("gap", "Ann", "one").await;
    let mut on_b = b.feed("/feed/gap").await;
    next_snapshot(&mut on_b).await;
    // Cut every pub/sub connection (Redis stays up); post before B's comes
    // back (it waits 100 ms first): B hears nothing of these two.
    let mut conn = redis.connection().await;
    let killed: u64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(killed, 2, "one pub/sub connection per node");
    assert_eq!(a.post("gap", "Ann", "two").await["seq"], 2);
    assert_eq!(a.post("gap", "Ann", "three").await["seq"], 3);
    for (seq, body) in [(2, "two"), (3, "three")] {
        assert_eq!(message(next_frame(&mut on_b).await), (seq, body.into()));
    }
    a.post("gap", "Ann", "four").await;
    assert_eq!(message(next_frame(&mut on_b).await), (4, "four".into()));
    assert_quiet(&mut on_b).await;
}

/// Connections Redis has accepted since it started.
/// The ids of the connections Redis has now that hold subscriptions: a node
/// that reconnects its pub/sub shows up with a new id.
async fn pubsub_clients(conn: &mut redis::aio::MultiplexedConnection) -> Vec<u64> {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(conn)
        .await
        .unwrap();
    let mut ids: Vec<u64> = list
        .lines()
        .filter_map(|l| l.strip_prefix("id=")?.split(' ').next()?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_subscribed_node_keeps_its_pubsub_connection_through_its_pings() {
    let redis = Redis::start();
    let (_a, b) = two_nodes(&redis, |_| {}).await;
    let mut viewer = b.feed("/feed/pinged").await;
    next_snapshot(&mut viewer).await;
    assert_eq!(subscribers(&redis, "pinged").await, 1);
    let mut conn = redis.connection().await;
    let before = pubsub_clients(&mut conn).await;
    assert_eq!(
        before.len(),
        1,
        "b's subscribed connection (a subscribes to nothing)"
    );
    // Three pings and more: a ping answer the node misreads would make it
    // reconnect after each one.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    // The same pub/sub connections (other connections, e.g. the command
    // connection reconnecting after a slow answer on a loaded machine, are
    // not what this is about).
    assert_eq!(pubsub_clients(&mut conn).await, before, "no reconnects");
    assert_eq!(subscribers(&redis, "pinged").await, 1);
}
