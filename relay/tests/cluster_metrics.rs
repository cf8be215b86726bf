//! Clustered mode: every node's `/metrics` shows the whole cluster beside
//! its own figures, from the nodes' reports in a real redis-server.

mod common;

use chyron_relay::config::RedisUrl;
use common::redis_server::Redis;
use common::*;
use std::time::Duration;

/// `chyron_cluster{what="…"}` as `server`'s `/metrics` shows it.
async fn cluster_figure(server: &Server, what: &str) -> Option<f64> {
    metric(server, "chyron_cluster", &format!("what=\"{what}\"")).await
}

/// Polls until `server` shows `want` for `what` (reports are written every
/// few seconds); fails after 20 s with what it saw.
async fn shows(server: &Server, what: &str, want: f64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let seen = cluster_figure(server, what).await;
        if seen == Some(want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {seen:?}, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn each_node_shows_the_cluster_and_a_stopped_node_leaves_it() {
    let redis = Redis::start();
    let node = || {
        let url = redis.url.clone();
        start(move |c| c.redis = Some(RedisUrl(url)))
    };
    let (a, b) = (node().await, node().await);
    shows(&a, "nodes", 2.0).await;
    // Viewers on both nodes: each node counts its own; the cluster all.
    let _on_a = a.feed("/feed/demo").await;
    let _on_b = (b.feed("/feed/demo").await, b.feed("/feed/other").await);
    assert_eq!(metric(&b, "chyron_viewers", "").await, Some(2.0));
    shows(&b, "viewers", 3.0).await;
    shows(&a, "viewers", 3.0).await;
    let text = metrics_text(&a).await;
    assert!(text.contains("chyron_node{id=\""), "{text}");
    // A node that stops withdraws its report at once.
    b.stop().await;
    shows(&a, "nodes", 1.0).await;
    shows(&a, "viewers", 1.0).await;
}
