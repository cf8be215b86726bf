//! Channel information on a real relay: `GET /chat/v1/channels/{c}/links`
//! (the links and attachments of the visible messages) and `…/people` (feed
//! sockets open, chatters present, people seen), over real HTTP and
//! websockets.

mod common;

use chyron_protocol::{Media, Message, Source};
use chyron_relay::event::Change;
use chyron_relay::store::{self, Store};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn public_demo(c: &mut chyron_relay::config::Config) {
    c.chat.public_channels = vec!["demo".into()];
}

async fn get(relay: &Server, path: &str) -> (u16, Value) {
    let res = http().get(relay.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers()["access-control-allow-origin"], "*", "{path}");
    (status, res.json().await.unwrap())
}

/// Seeds a data directory with a bridged image in `demo` marked NSFW (as
/// the bridge and a moderator would leave it) before the relay starts.
fn seed_image(dir: &std::path::Path) {
    let store = Store::open(dir).unwrap();
    let media: Media = serde_json::from_value(json!({
        "kind": "image", "name": "cat.png", "thumbnail": "/media/demo/m1/thumbnail"
    }))
    .unwrap();
    let post = Change::Post(Message {
        id: "m1".into(),
        sender: "Ann".into(),
        sender_id: "@ann:hs".into(),
        body: "cat.png".into(),
        ts: chyron_relay::event::now_ms(),
        edited: false,
        source: Source::Matrix,
        html: None,
        media: Some(media),
        avatar: None,
        event_id: None,
    });
    let mark = Change::Mark {
        id: "m1".into(),
        mark: chyron_protocol::Mark::Nsfw,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(store.call(move |c| {
        store::apply(c, "demo", "e0", 1, "{}", &post, None, false)?;
        store::apply(c, "demo", "e0", 2, "{}", &mark, None, false)
    }))
    .unwrap();
}

#[tokio::test]
async fn links_and_attachments_newest_first_without_deleted_lines() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || seed_image(&seed))
        .await
        .unwrap();
    let relay = start_with(config(dir.path(), public_demo)).await;
    relay
        .post("demo", "Bob", "set list: https://one.example/a?b=c")
        .await;
    let gone = relay
        .post("demo", "Bob", "oops https://gone.example/")
        .await;
    relay
        .post("demo", "Cy", "no link, javascript:alert(1)")
        .await;
    relay
        .post(
            "demo",
            "Cy",
            "two: http://two.example/ https://three.example/x.",
        )
        .await;
    let id = gone["id"].as_str().unwrap();
    let path = format!("/api/v1/channels/demo/messages/{id}");
    let res = http()
        .delete(relay.url(&path))
        .bearer_auth(TOKEN)
        .send()
        .await;
    assert_eq!(res.unwrap().status(), 200);
    let (status, page) = get(&relay, "/chat/v1/channels/demo/links").await;
    assert_eq!(status, 200, "{page}");
    let got: Vec<(&str, &str)> = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let what = i["url"].as_str().or(i["name"].as_str()).unwrap();
            (i["kind"].as_str().unwrap(), what)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("link", "http://two.example/"),
            ("link", "https://three.example/x"),
            ("link", "https://one.example/a?b=c"),
            ("image", "cat.png"),
        ]
    );
    let image = &page["links"][3];
    assert_eq!(image["mark"], "nsfw", "the stored mark travels");
    assert_eq!(image["thumbnail"], "/media/demo/m1/thumbnail");
    assert_eq!(
        (image["sender"].as_str(), image["seq"].as_u64()),
        (Some("Ann"), Some(1))
    );
    assert_eq!(page["links"][0]["sender"], "Cy");
    assert!(page["next_before"].is_null());
    // Paging: one message per page when the limit is 1.
    let (_, first) = get(&relay, "/chat/v1/channels/demo/links?limit=1").await;
    let before = first["next_before"].as_u64().unwrap();
    let next = format!("/chat/v1/channels/demo/links?limit=1&before={before}");
    let (_, second) = get(&relay, &next).await;
    assert_eq!(second["links"][0]["url"], "https://one.example/a?b=c");
    relay.stop().await;
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_private_channels_stay_private() {
    let relay = start(public_demo).await;
    for (path, status, code) in [
        ("/chat/v1/channels/demo/links?limit=0", 400, "bad_request"),
        ("/chat/v1/channels/demo/links?limit=201", 400, "bad_request"),
        ("/chat/v1/channels/demo/links?limit=1e3", 400, "bad_request"),
        (
            "/chat/v1/channels/demo/links?before=yesterday",
            400,
            "bad_request",
        ),
        ("/chat/v1/channels/demo/links?before=-1", 400, "bad_request"),
        ("/chat/v1/channels/demo/links?limit=%ZZ", 400, "bad_request"),
        (
            "/chat/v1/channels/Not%20a%20channel/links",
            400,
            "invalid_field",
        ),
        ("/chat/v1/channels/private/links", 404, "not_found"),
        ("/chat/v1/channels/private/people", 404, "not_found"),
        (
            "/chat/v1/channels/Not%20a%20channel/people",
            400,
            "invalid_field",
        ),
    ] {
        let (got, body) = get(&relay, path).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }
    relay.stop().await;
}

async fn people(relay: &Server) -> Value {
    let (status, body) = get(relay, "/chat/v1/channels/demo/people").await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `people` until `viewers` is `want` (a socket's close reaches the relay
/// a moment after the client sends it).
async fn viewers_become(relay: &Server, want: u64) -> Value {
    for _ in 0..100 {
        let now = people(relay).await;
        if now["viewers"] == want {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("viewers never became {want}: {}", people(relay).await);
}

#[tokio::test]
async fn viewers_go_up_and_down_with_sockets_and_posters_are_seen() {
    let relay = start(public_demo).await;
    assert_eq!(
        people(&relay).await,
        json!({"viewers": 0, "chatters": 0, "seen": 0})
    );
    let mut a = relay.feed("/feed/demo").await;
    next_snapshot(&mut a).await;
    let mut b = relay.feed("/feed/demo").await;
    next_snapshot(&mut b).await;
    let mut other = relay.feed("/feed/elsewhere").await;
    next_snapshot(&mut other).await;
    viewers_become(&relay, 2).await;
    relay.post("demo", "Ann", "hello").await;
    relay.post("demo", "Ann", "again").await;
    relay.post("demo", "Bob", "hi").await;
    relay.post("elsewhere", "Cy", "not here").await;
    let now = viewers_become(&relay, 2).await;
    assert_eq!(now["seen"], 2, "Ann and Bob, once each: {now}");
    close(a).await;
    viewers_become(&relay, 1).await;
    drop(b);
    let now = viewers_become(&relay, 0).await;
    assert_eq!(now["chatters"], 0);
    close(other).await;
    relay.stop().await;
}

#[tokio::test]
async fn the_endpoints_share_the_anonymous_quota() {
    let relay = start(|c| {
        public_demo(c);
        c.limits.anonymous_rate_limit_burst = 3;
        c.limits.anonymous_rate_limit_per_second = 1;
    })
    .await;
    let mut refused = 0;
    for i in 0..10 {
        let path = if i % 2 == 0 { "links" } else { "people" };
        let res = http()
            .get(relay.url(&format!("/chat/v1/channels/demo/{path}")))
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            refused += 1;
        }
    }
    assert!(refused >= 6, "only {refused} of 10 refused");
    relay.stop().await;
}
