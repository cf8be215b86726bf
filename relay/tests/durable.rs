//! Clustered mode's durable history (`--redis` + `--database`): real
//! redis-server and PostgreSQL (scripts/redis.sh, scripts/postgres.sh), a
//! relay node as a child process killed with SIGKILL, and the promise in
//! `relay/src/durable/mod.rs` counted: what a 2xx guarantees after a node
//! and Redis die, and through a PostgreSQL outage.

mod common;

use chyron_protocol::ServerFrame;
use chyron_relay::config::{Config, DatabaseUrl, RedisUrl};
use common::postgres_server::Postgres;
use common::redis_server::Redis;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// Events Redis's stream keeps per channel (and each node's resume ring):
/// small, so history past it can only come from PostgreSQL.
const KEEP: u32 = 8;

/// Clustered mode on `redis` and `pg`, with room for bursts of posts.
fn clustered(c: &mut Config, redis: &Redis, pg: &Postgres) {
    c.redis = Some(RedisUrl(redis.url.clone()));
    c.database = Some(DatabaseUrl(pg.url.clone()));
    c.limits.resume_buffer = KEEP as usize;
    c.limits.rate_limit_burst = 1000;
}

/// A relay node as a child process (the real binary), so it can be killed.
struct Node {
    /// The process.
    child: std::process::Child,
    /// `http://addr`, as it printed it.
    base: String,
}

impl Node {
    /// A node with its SQLite in `data` (the caller's, kept across kills)
    /// and Redis's streams capped at `keep` events.
    fn spawn(redis: &Redis, pg: &Postgres, data: &std::path::Path, keep: u32) -> Node {
        let keep = keep.to_string();
        let args = ["--redis", &redis.url, "--database", &pg.url];
        let more = ["--resume-buffer", &keep, "--rate-limit-burst", "1000"];
        let (child, addr) = spawn_relay(data, &[&args[..], &more[..]].concat());
        Node {
            child,
            base: format!("http://{addr}"),
        }
    }

    /// SIGKILL, and the process reaped.
    fn kill9(&mut self) {
        kill9(self.child.id());
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts `body` to `channel` through the relay at `base`; its seq (201
/// asserted, after waiting out 503s for up to 15 s while Redis comes back).
async fn post(base: &str, channel: &str, body: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = http()
            .post(format!("{base}/api/v1/channels/{channel}/messages"))
            .bearer_auth(TOKEN)
            .json(&json!({"sender": "Ann", "body": body}))
            .send()
            .await
            .unwrap();
        if res.status() == 503 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        assert_eq!(res.status(), 201, "posting {body:?}");
        let v: serde_json::Value = res.json().await.unwrap();
        return v["seq"].as_u64().unwrap();
    }
}

/// The `(epoch, seq)` of every row of `channel` in PostgreSQL, in order.
async fn rows(pg: &tokio_postgres::Client, channel: &str) -> Vec<(String, u64)> {
    pg.query(
        "SELECT epoch, seq FROM chyron_events WHERE channel = $1 ORDER BY ts, seq",
        &[&channel],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
    .collect()
}

/// Waits (up to `secs`) until PostgreSQL holds `n` rows of `channel`; them.
async fn wait_rows(pg: &Postgres, channel: &str, n: usize, secs: u64) -> Vec<(String, u64)> {
    let client = pg.client().await;
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = rows(&client, channel).await;
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn message(frame: ServerFrame) -> (u64, String) {
    match frame {
        ServerFrame::Message { seq, message } => (seq, message.body),
        other => panic!("expected a message, got {other:?}"),
    }
}

fn lines(from: u64, to: u64) -> Vec<String> {
    (from..=to).map(|i| format!("line {i}")).collect()
}

/// K events through two nodes; the one of them that is a child process is
/// killed with SIGKILL right after its last 2xx, then Redis too; a node that
/// never saw the channel is started and a viewer connects to it.
async fn kill_a_node_and_redis(appendfsync: Option<&'static str>) {
    const K: u64 = 40;
    let (redis, pg) = (Redis::start_persistent(appendfsync), Postgres::start());
    let a_data = tempfile::tempdir().unwrap();
    let mut a = Node::spawn(&redis, &pg, a_data.path(), KEEP);
    let b = start(|c| clustered(c, &redis, &pg)).await;
    let mut on_b = b.feed("/feed/keep").await;
    let epoch = next_snapshot(&mut on_b).await.epoch;
    for i in 1..=K {
        // B first: its viewer's epoch is the one Redis takes.
        let base = if i % 2 == 1 {
            b.url("")
        } else {
            a.base.clone()
        };
        assert_eq!(post(&base, "keep", &format!("line {i}")).await, i);
    }
    for i in 1..=K {
        assert_eq!(
            message(next_frame(&mut on_b).await),
            (i, format!("line {i}"))
        );
    }
    a.kill9();

    // Every 2xx event is in PostgreSQL once: B wrote what A could not.
    let began = Instant::now();
    let stored = wait_rows(&pg, "keep", K as usize, 5).await;
    let want: Vec<(String, u64)> = (1..=K).map(|s| (epoch.clone(), s)).collect();
    assert_eq!(stored, want, "all {K} events, once each, in order");
    eprintln!(
        "{K} events in postgresql {} ms after node A was killed",
        began.elapsed().as_millis()
    );

    redis.kill9();
    redis.restart();
    let c = start(|c| clustered(c, &redis, &pg)).await;
    let mut on_c = c.feed("/feed/keep").await;
    let snap = next_snapshot(&mut on_c).await;
    let bodies: Vec<String> = snap.messages.iter().map(|m| m.body.clone()).collect();
    eprintln!(
        "appendfsync {appendfsync:?}: postgresql holds {} of {K}; a new node's snapshot shows {} \
         (epoch {}, seq {})",
        stored.len(),
        bodies.len(),
        if snap.epoch == epoch { "kept" } else { "new" },
        snap.seq
    );
    // Redis's stream holds KEEP events; the rest came from PostgreSQL.
    assert_eq!((snap.epoch.as_str(), snap.seq), (epoch.as_str(), K));
    assert_eq!(bodies, lines(1, K));
    // A resume older than this node's ring (KEEP events) and than Redis's
    // stream: served from PostgreSQL, exactly.
    let mut late = c.feed(&format!("/feed/keep?epoch={epoch}&since=5")).await;
    for i in 6..=K {
        assert_eq!(
            message(next_frame(&mut late).await),
            (i, format!("line {i}"))
        );
    }
    assert_quiet(&mut late).await;

    let next = post(&c.url(""), "keep", "after").await;
    if appendfsync == Some("always") {
        // Redis kept the channel: numbering goes on.
        assert_eq!(next, K + 1);
        assert_eq!(
            message(next_frame(&mut on_c).await),
            (K + 1, "after".into())
        );
    } else {
        // Redis lost it: a new epoch, the old one stays in PostgreSQL.
        assert_eq!(next, 1);
        let snap = loop {
            if let ServerFrame::Snapshot(s) = next_frame(&mut on_c).await {
                break s;
            }
        };
        assert_ne!(snap.epoch, epoch);
        assert_eq!(snap.seq, 1);
    }
    let stored = wait_rows(&pg, "keep", K as usize + 1, 5).await;
    assert_eq!(stored.len() as u64, K + 1);
    assert_eq!(stored[..K as usize], want[..], "the old rows are untouched");
}

#[tokio::test]
async fn with_appendfsync_always_every_2xx_event_survives_a_killed_node_and_redis() {
    kill_a_node_and_redis(Some("always")).await;
}

#[tokio::test]
async fn without_redis_persistence_what_was_written_behind_survives() {
    kill_a_node_and_redis(None).await;
}

#[tokio::test]
async fn a_postgres_outage_keeps_the_chat_going_and_the_backlog_is_written_after() {
    let (redis, pg) = (Redis::start(), Postgres::start());
    let a = start(|c| clustered(c, &redis, &pg)).await;
    let b = start(|c| clustered(c, &redis, &pg)).await;
    let mut on_b = b.feed("/feed/out").await;
    next_snapshot(&mut on_b).await;
    // B first: its viewer's epoch is the one Redis takes.
    let node = |i: u64| if i % 2 == 1 { b.url("") } else { a.url("") };
    for i in 1..=5 {
        assert_eq!(post(&node(i), "out", &format!("line {i}")).await, i);
    }
    assert_eq!(wait_rows(&pg, "out", 5, 5).await.len(), 5);

    pg.stop();
    for i in 6..=25 {
        assert_eq!(post(&node(i), "out", &format!("line {i}")).await, i);
    }
    for i in 1..=25 {
        assert_eq!(
            message(next_frame(&mut on_b).await),
            (i, format!("line {i}"))
        );
    }
    // Long enough for both writers to fail and back off.
    tokio::time::sleep(Duration::from_millis(500)).await;
    pg.restart();
    let began = Instant::now();
    let stored = wait_rows(&pg, "out", 25, 20).await;
    let seqs: Vec<u64> = stored.iter().map(|(_, s)| *s).collect();
    assert_eq!(seqs, (1..=25).collect::<Vec<_>>(), "the backlog, once each");
    eprintln!(
        "backlog of 20 written {} ms after postgresql came back",
        began.elapsed().as_millis()
    );
    // The outage shows in the metrics; nothing was missed; each row was new
    // to PostgreSQL for exactly one of the two writers.
    let mut written = 0;
    for server in [&a, &b] {
        let text = http().get(server.url("/metrics")).send().await.unwrap();
        let text = text.text().await.unwrap();
        let figure = |what: &str| -> u64 {
            let key = format!("chyron_durable{{what=\"{what}\"}} ");
            let line = text.lines().find(|l| l.starts_with(&key));
            line.unwrap_or_else(|| panic!("{key} in {text}"))[key.len()..]
                .parse()
                .unwrap()
        };
        assert!(figure("failures") > 0, "{text}");
        assert_eq!((figure("missed"), figure("overflowed")), (0, 0));
        written += figure("written");
    }
    assert_eq!(written, 25);

    // Write-behind under load: 200 posts by 8 writers through both nodes.
    let (writers, each) = (8u64, 25u64);
    let began = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let base = node(w);
        tasks.push(tokio::spawn(async move {
            for i in 0..each {
                post(&base, "load", &format!("w{w} #{i}")).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let posted = began.elapsed();
    let total = (writers * each) as usize;
    let stored = wait_rows(&pg, "load", total, 10).await;
    assert_eq!(stored.len(), total);
    let client = pg.client().await;
    let batches: Vec<i64> = client
        .query(
            "SELECT count(*) FROM chyron_events WHERE channel = 'load' GROUP BY written_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    eprintln!(
        "{total} posts in {} ms ({:.0}/s); all in postgresql {} ms after the last 2xx, \
         in {} inserts of {}..{} new rows",
        posted.as_millis(),
        total as f64 / posted.as_secs_f64(),
        began.elapsed().saturating_sub(posted).as_millis(),
        batches.len(),
        batches.iter().min().unwrap(),
        batches.iter().max().unwrap(),
    );
}

#[tokio::test]
async fn past_the_backlog_bound_events_come_from_redis_or_are_counted_missed() {
    use chyron_relay::cluster::Cluster;
    use chyron_relay::durable::{writer, Durable, Row};
    let (redis, pg) = (Redis::start(), Postgres::start());
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    // Redis's stream keeps the newest 4 events.
    let (cluster, _heard) = Cluster::connect(&redis.url, 4, stop.clone()).await.unwrap();
    let roomy = Durable::connect(&pg.url, writer::MAX_BACKLOG_BYTES)
        .await
        .unwrap();
    let full = Durable::connect(&pg.url, 1).await.unwrap();
    for i in 1..=10u64 {
        let entry = format!("{{\"ts\": {}}}", 1000 + i);
        let (epoch, seq) = cluster
            .publish("bound", "ep", &entry, None, None)
            .await
            .unwrap()
            .unwrap();
        let row = Row {
            channel: "bound".into(),
            epoch,
            seq,
            entry,
            ts: 1000 + i as i64,
        };
        // Another node wrote 1 and 2; this one could queue nothing.
        if i <= 2 {
            roomy.write(row.clone());
        }
        full.write(row);
    }
    assert_eq!((full.stats().queued, full.stats().overflowed), (0, 10));
    tokio::spawn(writer::run(roomy.clone(), cluster.clone(), stop.clone()));
    assert_eq!(wait_rows(&pg, "bound", 2, 5).await.len(), 2);
    tokio::spawn(writer::run(full.clone(), cluster.clone(), stop));
    // 7..=10 from Redis's stream; 3..=6 are in neither: missed, counted.
    let deadline = Instant::now() + Duration::from_secs(5);
    while full.stats().missed == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seqs: Vec<u64> = wait_rows(&pg, "bound", 6, 5)
        .await
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(seqs, [1, 2, 7, 8, 9, 10]);
    assert_eq!((full.stats().missed, full.stats().written), (4, 4));
    let _ = stop_tx.send(true);
}

#[tokio::test]
async fn a_node_killed_before_its_batch_writes_it_when_it_loads_the_channel_again() {
    const K: u64 = 30;
    let (redis, pg) = (Redis::start(), Postgres::start());
    let data = tempfile::tempdir().unwrap();
    // Redis's stream holds all 30 (the promise holds while it does).
    let mut a = Node::spawn(&redis, &pg, data.path(), 64);
    // 30 posts at once, done well within one flush interval (200 ms), and
    // the only node that applied them killed right after the last 2xx.
    let mut posts = Vec::new();
    for w in 0..6 {
        let base = a.base.clone();
        posts.push(tokio::spawn(async move {
            for i in 0..K / 6 {
                post(&base, "solo", &format!("w{w} #{i}")).await;
            }
        }));
    }
    for p in posts {
        p.await.unwrap();
    }
    a.kill9();
    let before = rows(&pg.client().await, "solo").await.len() as u64;
    assert!(
        before < K,
        "the scenario needs events not yet written: {before}"
    );
    // Started again on the same SQLite, which holds all 30: when it loads
    // the channel, it finds PostgreSQL behind Redis and catches up.
    let a = Node::spawn(&redis, &pg, data.path(), 64);
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/feed/solo", a.base.replace("http", "ws")))
            .await
            .unwrap();
    assert_eq!(next_snapshot(&mut ws).await.seq, K);
    let seqs: Vec<u64> = wait_rows(&pg, "solo", K as usize, 5)
        .await
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=K).collect::<Vec<_>>());
    eprintln!("{before} of {K} in postgresql when the node was killed; all {K} after it came back");
}
