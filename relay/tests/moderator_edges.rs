//! An event moderator's role follows its stored start and end into Matrix
//! (`moderation::role_clock`): an appointment starting later is promoted
//! at `from`, not before; at `until` the bot is asked to demote them and
//! remove them from the owner's moderators' room, unless another role
//! still holds; an end reached while the relay was down is acted on at
//! start, once. The homeserver here is unreachable, so the queued Matrix
//! tasks stay in SQLite for the test to read (`moderate_matrix.rs` shows
//! the executor doing them on Synapse).

mod common;

use chyron_relay::bridge::config::RoomBridge;
use chyron_relay::event::now_ms;
use chyron_relay::moderation::tasks::{MatrixTask, Outcome, Tasks};
use chyron_relay::store::Store;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

fn tweak(c: &mut chyron_relay::config::Config) {
    c.chat.channels.insert(
        "live".into(),
        chyron_relay::config::chat::ChannelMeta {
            owners: vec!["@dj:hs".into()],
            ..Default::default()
        },
    );
    // Bridged, to a homeserver nobody answers at: tasks wait in SQLite.
    let mut matrix = common::matrix::bridged("http://127.0.0.1:9");
    matrix.rooms = vec![RoomBridge {
        channel: "live".into(),
        room: "#live:localhost".try_into().unwrap(),
    }];
    c.matrix = Some(matrix);
}

async fn call(relay: &Server, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, body) = call_as(relay, TOKEN, method, path, body).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

async fn appoint(relay: &Server, user: &str, body: Value) {
    let path = format!("/chat/v1/channels/live/moderators/{user}");
    call(relay, Method::PUT, &path, Some(body)).await;
}

/// The log's `(action, target, detail)` for the role clock's lines, oldest first.
async fn role_lines(relay: &Server) -> Vec<(String, String, Value)> {
    let path = "/chat/v1/channels/live/moderation/log?limit=200";
    let log = call(relay, Method::GET, path, None).await;
    let mut lines: Vec<_> = log["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"].as_str().unwrap().starts_with("moderator_"))
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (s("action"), s("target"), l["detail"].clone())
        })
        .collect();
    lines.reverse();
    lines
}

/// Waits up to 10 s for the log to hold `n` role-clock lines.
async fn until_lines(relay: &Server, n: usize) -> Vec<(String, String, Value)> {
    for _ in 0..200 {
        let lines = role_lines(relay).await;
        if lines.len() >= n {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{:?}", role_lines(relay).await);
}

/// The Matrix tasks queued (relay stopped), minus the moderators' room log lines.
async fn queued(dir: &std::path::Path) -> Vec<MatrixTask> {
    let tasks = Tasks::new(Store::open(dir).unwrap(), None);
    let mut all = Vec::new();
    while let Some((id, task)) = tasks.next().await {
        tasks.finish(id, Outcome::Done).await;
        if !matches!(task, MatrixTask::ModLog { .. }) {
            all.push(task);
        }
    }
    all
}

fn promote(user: &str) -> [MatrixTask; 2] {
    [
        MatrixTask::ModRoom {
            owner: "@dj:hs".into(),
            user_id: user.into(),
            member: true,
        },
        MatrixTask::Promote {
            channel: "live".into(),
            user_id: user.into(),
        },
    ]
}

fn demote(user: &str) -> [MatrixTask; 2] {
    [
        MatrixTask::ModRoom {
            owner: "@dj:hs".into(),
            user_id: user.into(),
            member: false,
        },
        MatrixTask::Demote {
            channel: "live".into(),
            user_id: user.into(),
        },
    ]
}

// Each call that Promotes or Demotes at once waits up to 5 s for the
// (absent) bot, so the clock starts after those.
#[tokio::test]
async fn event_moderators_are_promoted_at_from_and_demoted_at_until_once() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(config(dir.path(), tweak)).await;
    // A general moderator, who will also moderate the event.
    appoint(&relay, "@both:hs", json!({"scope": "general"})).await;
    let t0 = now_ms();
    // Both start in 2 s and end in 5 s.
    let event = json!({"scope": "event", "from": t0 + 2000, "until": t0 + 5000});
    appoint(&relay, "@ev:hs", event.clone()).await;
    appoint(&relay, "@both:hs", event).await;
    // Before `from`: nothing asked of Matrix for @ev yet.
    let early = role_lines(&relay).await;
    assert!(now_ms() > t0 + 2000 || early.is_empty(), "{early:?}");
    relay.stop().await;
    assert_eq!(queued(dir.path()).await, promote("@both:hs"));

    // Up again: at `from`, both are promoted and invited.
    let relay = start_with(config(dir.path(), tweak)).await;
    let mut lines = until_lines(&relay, 2).await;
    assert!(now_ms() >= t0 + 2000);
    lines.sort_by(|a, b| a.1.cmp(&b.1));
    let starts = |who: &str| ("moderator_starts".to_string(), who.to_string(), Value::Null);
    assert_eq!(lines, [starts("@both:hs"), starts("@ev:hs")]);
    relay.stop().await;
    let mut tasks = queued(dir.path()).await;
    tasks.sort_by_key(|t| format!("{t:?}"));
    let mut want = [promote("@both:hs"), promote("@ev:hs")].concat();
    want.sort_by_key(|t| format!("{t:?}"));
    assert_eq!(tasks, want);

    // Down across the end; at start the ends are acted on at once: @ev
    // loses the role, @both keeps it (general).
    let wait = (t0 + 5200 - now_ms()).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let relay = start_with(config(dir.path(), tweak)).await;
    let mut lines = until_lines(&relay, 4).await.split_off(2);
    lines.sort_by(|a, b| a.1.cmp(&b.1));
    let still = json!("another role still holds");
    let both = ("moderator_ends".to_string(), "@both:hs".to_string(), still);
    let ev = (
        "moderator_ends".to_string(),
        "@ev:hs".to_string(),
        Value::Null,
    );
    assert_eq!(lines, [both, ev]);
    // The list shows roles in force: @both's general one, not the ended event.
    let list = call(
        &relay,
        Method::GET,
        "/chat/v1/channels/live/moderators",
        None,
    )
    .await;
    let listed: Vec<(&str, bool)> = list["moderators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["user_id"].as_str().unwrap(), a["until"].is_null()))
        .collect();
    assert_eq!(listed, [("@both:hs", true)], "{list}");
    relay.stop().await;
    assert_eq!(queued(dir.path()).await, demote("@ev:hs"));

    // Once: another restart does nothing more.
    let relay = start_with(config(dir.path(), tweak)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(role_lines(&relay).await.len(), 4);
    relay.stop().await;
    assert_eq!(queued(dir.path()).await, Vec::<MatrixTask>::new());
}

#[tokio::test]
async fn a_dismissed_or_renewed_appointment_leaves_its_old_edges_alone() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(config(dir.path(), tweak)).await;
    let t0 = now_ms();
    let event = |until: i64| json!({"scope": "event", "from": t0 + 1000, "until": t0 + until});
    // Renewed before it starts: the first appointment's edges are stale.
    appoint(&relay, "@kept:hs", event(2000)).await;
    appoint(&relay, "@kept:hs", event(60_000)).await;
    // Dismissed (which demotes at once, waiting for the bot): stale too.
    appoint(&relay, "@gone:hs", event(2500)).await;
    let path = "/chat/v1/channels/live/moderators/@gone:hs";
    call(&relay, Method::DELETE, path, None).await;
    let wait = (t0 + 3500 - now_ms()).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let lines = until_lines(&relay, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(role_lines(&relay).await, lines);
    let kept = (
        "moderator_starts".to_string(),
        "@kept:hs".to_string(),
        Value::Null,
    );
    assert_eq!(lines, [kept]);
    relay.stop().await;
    let tasks = queued(dir.path()).await;
    let demotes = tasks
        .iter()
        .filter(|t| matches!(t, MatrixTask::Demote { .. }));
    // The dismissal's own demote only.
    assert_eq!(demotes.count(), 1, "{tasks:?}");
}
