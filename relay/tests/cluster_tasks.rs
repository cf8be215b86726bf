//! The moderation task queue in clustered mode, on a real redis-server: two
//! nodes' handles (each with its own SQLite, as two relays have) share one
//! queue. A task queued through one is taken, in order, by the other (the
//! bridge lease's holder), whose outcome the first reads back; a finished
//! task leaves the open set and expires; one that cannot be read is failed
//! and skipped, never retried forever. The bridge bot's memory (moderators'
//! rooms, silenced users' levels) is shared the same way.

mod common;

use chyron_relay::cluster::{tasks::KEEP_FINISHED_S, Cluster};
use chyron_relay::moderation::tasks::{MatrixTask, Outcome, Tasks, CLUSTER_POLL};
use chyron_relay::store::Store;
use common::redis_server::Redis;
use redis::AsyncCommands;
use std::time::{Duration, Instant};
use tokio::sync::watch;

fn ban(user: &str) -> MatrixTask {
    MatrixTask::Ban {
        channel: "live".into(),
        user_id: user.into(),
        reason: Some("spam".into()),
    }
}

/// A node's queue handle: its own store, the shared Redis.
async fn node(redis: &Redis, stop: watch::Receiver<bool>) -> (Tasks, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, _heard) = Cluster::connect(&redis.url, 16, stop).await.unwrap();
    let store = Store::open(dir.path()).unwrap();
    (Tasks::new(store, Some(cluster)), dir)
}

#[tokio::test]
async fn a_task_queued_through_one_node_is_done_by_the_other_and_answered_back() {
    let redis = Redis::start();
    let (_stop_tx, stop) = watch::channel(false);
    let (a, _da) = node(&redis, stop.clone()).await;
    let (b, _db) = node(&redis, stop).await;
    assert_eq!(b.next().await, None);

    // Ids follow the order tasks were made in, whichever node made them.
    let first = a.enqueue(ban("@one:hs")).await.unwrap();
    let second = b.enqueue(ban("@two:hs")).await.unwrap();
    let third = a.enqueue(ban("@three:hs")).await.unwrap();
    assert!(first < second && second < third);

    // The other node's executor wakes within its poll though nobody there
    // was told, and takes the oldest first.
    let started = Instant::now();
    b.queued().await;
    assert!(started.elapsed() < CLUSTER_POLL + Duration::from_secs(1));
    assert_eq!(b.next().await, Some((first, ban("@one:hs"))));
    // Unfinished: still first, on either node.
    assert_eq!(a.next().await.map(|t| t.0), Some(first));

    // A waits; B finishes; A hears it though B's wake-ups are B's own.
    let waiter = {
        let a = a.clone();
        tokio::spawn(async move { a.wait(first, Duration::from_secs(5)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let why = "the relay's Matrix account lacks the power to ban".to_string();
    b.finish(first, Outcome::Failed(why.clone())).await;
    assert_eq!(waiter.await.unwrap(), Some(Outcome::Failed(why)));
    assert_eq!(b.next().await.map(|t| t.0), Some(second));
    b.finish(second, Outcome::Done).await;
    b.finish(third, Outcome::NotBridged).await;
    assert_eq!(a.next().await, None);
    assert_eq!(a.outcome(second).await, Some(Outcome::Done));
    assert_eq!(a.outcome(third).await, Some(Outcome::NotBridged));

    // A task nobody finishes: waiting gives up at the deadline.
    let fourth = a.enqueue(ban("@four:hs")).await.unwrap();
    let started = Instant::now();
    assert_eq!(a.wait(fourth, Duration::from_millis(300)).await, None);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Finished records expire; open ones do not; the open set holds only
    // the unfinished.
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = conn.ttl(format!("chyron:mod:task:{first}")).await.unwrap();
    assert!(ttl > 0 && ttl <= KEEP_FINISHED_S as i64, "ttl {ttl}");
    let ttl: i64 = conn.ttl(format!("chyron:mod:task:{fourth}")).await.unwrap();
    assert_eq!(ttl, -1, "an open task must not expire");
    let open: Vec<i64> = conn.zrange("chyron:mod:tasks-open", 0, -1).await.unwrap();
    assert_eq!(open, vec![fourth]);
}

#[tokio::test]
async fn an_unreadable_or_missing_task_is_skipped_not_retried_forever() {
    let redis = Redis::start();
    let (_stop_tx, stop) = watch::channel(false);
    let (a, _da) = node(&redis, stop).await;
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();

    // Written by a newer version (a kind this one does not know), and an id
    // left open whose record is gone.
    let newer = a.enqueue(ban("@x:hs")).await.unwrap();
    let _: () = conn
        .hset(
            format!("chyron:mod:task:{newer}"),
            "task",
            r#"{"kind":"teleport"}"#,
        )
        .await
        .unwrap();
    let gone = a.enqueue(ban("@y:hs")).await.unwrap();
    let _: () = conn.del(format!("chyron:mod:task:{gone}")).await.unwrap();
    let good = a.enqueue(ban("@z:hs")).await.unwrap();

    assert_eq!(a.next().await, Some((good, ban("@z:hs"))));
    match a.outcome(newer).await {
        Some(Outcome::Failed(why)) => assert!(why.contains("unreadable"), "{why}"),
        other => panic!("the unreadable task ended as {other:?}"),
    }
    assert_eq!(a.outcome(gone).await, None);
    let open: Vec<i64> = conn.zrange("chyron:mod:tasks-open", 0, -1).await.unwrap();
    assert_eq!(open, vec![good]);
}

#[tokio::test]
async fn the_bots_memory_is_shared_so_a_new_holder_keeps_the_rooms_and_levels() {
    use chyron_relay::bridge::memory::Memory;
    let redis = Redis::start();
    let (_stop_tx, stop) = watch::channel(false);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ca, _) = Cluster::connect(&redis.url, 16, stop.clone())
        .await
        .unwrap();
    let (cb, _) = Cluster::connect(&redis.url, 16, stop).await.unwrap();
    let bot = "@chyron-bot:hs";
    let a = Memory::new(&Store::open(dir_a.path()).unwrap(), Some(&ca), bot);
    let b = Memory::new(&Store::open(dir_b.path()).unwrap(), Some(&cb), bot);

    // The holder (a) made a moderators' room and silenced someone at 10.
    a.set("modroom:@dj:hs", "!mods:hs").await.unwrap();
    a.set("modroom:@dj*[x]:hs", "!odd:hs").await.unwrap();
    a.keep_first("silenced:!r:hs:@ray:hs", "10").await.unwrap();
    // Silenced again after the takeover: the level before the first stays.
    b.keep_first("silenced:!r:hs:@ray:hs", "-1").await.unwrap();
    assert_eq!(
        b.get("silenced:!r:hs:@ray:hs").await.unwrap().as_deref(),
        Some("10")
    );
    let mut rooms = b.with_prefix("modroom:").await.unwrap();
    rooms.sort();
    assert_eq!(
        rooms,
        vec![
            ("@dj*[x]:hs".to_string(), "!odd:hs".to_string()),
            ("@dj:hs".to_string(), "!mods:hs".to_string()),
        ]
    );
    // A glob character in the prefix is taken literally.
    assert!(b.with_prefix("modroom:@dj*").await.unwrap().len() == 1);
    b.forget("silenced:!r:hs:@ray:hs").await.unwrap();
    assert_eq!(a.get("silenced:!r:hs:@ray:hs").await.unwrap(), None);
    // Another bot's bridge remembers apart.
    let other = Memory::new(&Store::open(dir_a.path()).unwrap(), Some(&ca), "@other:hs");
    assert_eq!(other.get("modroom:@dj:hs").await.unwrap(), None);
}
