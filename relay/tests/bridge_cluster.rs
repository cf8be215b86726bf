//! One Matrix bridge for the cluster, against a real Synapse and a real
//! redis-server: two relay processes with the same bridge settings on one
//! Redis. Exactly one holds the lease and syncs, so a Matrix line shows once
//! on both nodes; an API post through the other node reaches the room once;
//! when the holder is killed (SIGKILL: no release) the other takes over
//! within the lease's ttl plus a margin, from the shared sync position, and
//! the lines said meanwhile arrive once each, none lost. A moderation
//! action made through the node that does not bridge is done in Matrix by
//! the holder, and its outcome answered by the node it was made through.

mod common;

use chyron_protocol::{BridgeState, ServerFrame};
use common::matrix::*;
use common::redis_server::Redis;
use common::*;
use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, Instant};

/// The lease of these tests (`--bridge-lease-ms`): short, so a takeover
/// takes seconds.
const LEASE_MS: u64 = 1500;

/// A relay process bridged to `base`, clustered on `redis`.
fn node(data: &std::path::Path, redis: &Redis, base: &str) -> (Child, Server) {
    let lease = LEASE_MS.to_string();
    let args = [
        "--redis",
        redis.url.as_str(),
        "--matrix-homeserver",
        base,
        "--matrix-user",
        "@chyron-bot:localhost",
        "--bridge",
        "demo=#demo:localhost",
        "--bridge-lease-ms",
        lease.as_str(),
    ];
    let (child, addr) = spawn_relay_with(data, &args, &[("CHYRON_MATRIX_PASSWORD", PASSWORD)]);
    (child, Server::at(&addr))
}

/// Whether `server` holds the bridge lease now (its `chyron_bridge_lease`).
async fn holds(server: &Server) -> bool {
    metric(server, "chyron_bridge_lease", "").await == Some(1.0)
}

/// What one viewer shows: its messages by seq (a resync snapshot replaces
/// them, as the widget does) and the link state.
#[derive(Default)]
struct View(BTreeMap<u64, String>, Option<BridgeState>);

impl View {
    /// Reads `ws` (60 s at most per frame) until a message whose body ends
    /// with `tail` is shown.
    async fn until(&mut self, ws: &mut Ws, tail: &str) {
        while !self.0.values().any(|b| b.ends_with(tail)) {
            match next_any(ws).await {
                ServerFrame::Bridge { state } => self.1 = Some(state),
                ServerFrame::Message { seq, message } => {
                    self.0.insert(seq, message.body);
                }
                ServerFrame::Snapshot(s) => {
                    let base = s.seq - s.messages.len() as u64;
                    self.0 = (base + 1..)
                        .zip(s.messages.into_iter().map(|m| m.body))
                        .collect();
                }
                _ => {}
            }
        }
    }

    /// Reads `ws` until the link state shown is `state`.
    async fn until_state(&mut self, ws: &mut Ws, state: BridgeState) {
        while self.1 != Some(state) {
            if let ServerFrame::Bridge { state } = next_any(ws).await {
                self.1 = Some(state);
            }
        }
    }

    /// Reads what `ws` shows for 2 s (a duplicate would come in this time).
    async fn settle(&mut self, ws: &mut Ws) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.until(ws, "\u{0}never")).await;
    }

    /// The message id (`m{seq}`) of the shown message ending with `tail`.
    fn id_of(&self, tail: &str) -> Option<String> {
        let seq = self.0.iter().find(|(_, b)| b.ends_with(tail))?.0;
        Some(format!("m{seq}"))
    }

    /// How many shown messages have a body ending with `tail`.
    fn count(&self, tail: &str) -> usize {
        self.0.values().filter(|b| b.ends_with(tail)).count()
    }

    /// The shown bodies among `lines`, in feed order.
    fn order_of(&self, lines: &[String]) -> Vec<String> {
        self.0
            .values()
            .filter(|b| lines.contains(b))
            .cloned()
            .collect()
    }
}

/// Whether `server`'s `/chat/channels` gives `demo` a Matrix room (polled
/// for 10 s: the holder shares it right after joining).
async fn offers_room(server: &Server) -> bool {
    for _ in 0..50 {
        let res = reqwest::get(server.url("/chat/channels")).await.unwrap();
        let dir: chyron_protocol::Directory = res.json().await.unwrap();
        let demo = dir.channels.into_iter().find(|c| c.channel == "demo");
        if demo
            .and_then(|c| c.matrix)
            .is_some_and(|m| m.room_id.starts_with('!'))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        kill9(self.0.id());
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_bridges_and_the_other_takes_over_without_loss_or_duplicates() {
    let Some((synapse, alice)) = synapse_and_alice().await else {
        return;
    };
    let redis = Redis::start();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, server_a) = node(dir_a.path(), &redis, &synapse.base);
    let (b, server_b) = node(dir_b.path(), &redis, &synapse.base);
    let mut nodes = vec![(Some(Kill(a)), server_a), (Some(Kill(b)), server_b)];
    let mut viewers = Vec::new();
    for (_, server) in &nodes {
        let mut ws = server.feed("/feed/demo").await;
        next_snapshot(&mut ws).await;
        viewers.push(ws);
    }

    // One line from Matrix: once on both nodes' viewers.
    let first_line = alice.text("one line, two nodes").await;
    let mut views = [View::default(), View::default()];
    for (view, ws) in views.iter_mut().zip(&mut viewers) {
        view.until(ws, "one line, two nodes").await;
    }
    let mut holder = None;
    for (i, (_, server)) in nodes.iter().enumerate() {
        if holds(server).await {
            assert!(holder.is_none(), "both nodes hold the bridge lease");
            holder = Some(i);
        }
    }
    let holder = holder.expect("no node holds the bridge lease");
    let other = 1 - holder;
    // Both directories offer the room to the full chat, also the one of the
    // node that never joined it (the holder shares it through Redis).
    for (_, server) in &nodes {
        assert!(
            offers_room(server).await,
            "{} lists no room",
            server.url("")
        );
    }

    // An API post through the node that does not bridge: in the room once.
    nodes[other]
        .1
        .post("demo", "carol", "through the other node")
        .await;
    for (view, ws) in views.iter_mut().zip(&mut viewers) {
        view.until(ws, "through the other node").await;
    }
    until_bot_lines(&alice, &["carol (via stream chat): through the other node"]).await;

    // A moderation action through the node that does not bridge is done in
    // Matrix by the holder (the task queue is in Redis): the answer carries
    // the holder's outcome, here the bot's lack of power to ban, not
    // `pending`.
    let (status, body) = call_as(
        &nodes[other].1,
        TOKEN,
        reqwest::Method::POST,
        "/chat/v1/channels/demo/moderation/bans",
        Some(serde_json::json!({"user_id": "@mallory:localhost", "reason": "spam"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let matrix = body["matrix"].as_str().unwrap_or_default();
    assert!(
        matrix.starts_with("failed:") && matrix.contains("lacks the power"),
        "the holder did not do the other node's task: {body}"
    );

    // Nothing shown twice so far (the bot's echo included).
    for (view, ws) in views.iter_mut().zip(&mut viewers) {
        view.settle(ws).await;
        assert_eq!(view.count("one line, two nodes"), 1);
        assert_eq!(view.count("through the other node"), 1);
    }

    // Both nodes' viewers see the link live (the other node shows the
    // holder's state).
    for (view, ws) in views.iter_mut().zip(&mut viewers) {
        view.until_state(ws, BridgeState::Live).await;
    }

    // The holder dies without a word; lines said meanwhile wait in the room.
    let killed = Instant::now();
    drop(nodes[holder].0.take());
    let gap: Vec<String> = (1..=5).map(|i| format!("said in the gap {i}")).collect();
    for line in &gap {
        alice.text(line).await;
    }
    let survivor = &nodes[other].1;
    let mut took_over = None;
    for _ in 0..200 {
        if holds(survivor).await {
            took_over = Some(killed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took_over = took_over.expect("the survivor never took the bridge lease over");
    let limit = Duration::from_millis(LEASE_MS) + Duration::from_secs(5);
    assert!(took_over < limit, "took over after {took_over:?}");
    alice.text("after the takeover").await;
    let (ws, view) = (&mut viewers[other], &mut views[other]);
    view.until(ws, "after the takeover").await;
    let arrived = killed.elapsed();
    let mut want = gap.clone();
    want.push("after the takeover".into());
    view.settle(ws).await;
    assert_eq!(
        view.order_of(&want),
        want,
        "lost, duplicated or out of order"
    );
    assert_eq!(view.count("one line, two nodes"), 1);
    // The room still has the API post once: the new holder did not resend it.
    until_bot_lines(&alice, &["carol (via stream chat): through the other node"]).await;

    // A delete through the API of the post the dead holder sent to the
    // room: the new holder redacts its Matrix event.
    let carol = view.id_of("through the other node").unwrap();
    let res = http()
        .delete(survivor.url(&format!("/api/v1/channels/demo/messages/{carol}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "delete: {}", res.status());
    until_bot_lines(&alice, &[]).await;

    // A redaction of a line the dead holder bridged: the new holder finds it.
    alice.redact(&first_line).await;
    loop {
        match next_slow(ws).await {
            ServerFrame::Delete { id, .. } if id == carol => continue,
            ServerFrame::Delete { id, .. } => {
                assert_eq!(view.id_of("one line, two nodes"), Some(id));
                break;
            }
            _ => {}
        }
    }
    println!(
        "bridge takeover: lease taken {} ms after SIGKILL (ttl {LEASE_MS} ms), \
         the gap's {} lines and one more shown {} ms after it, 0 lost, 0 duplicated",
        took_over.as_millis(),
        gap.len(),
        arrived.as_millis()
    );
    drop(nodes);
    drop(synapse);
}
