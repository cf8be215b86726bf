//! Live DJs through the Chat API (`PUT`/`GET /api/v1/channels/{channel}/live`)
//! against a real relay: the directory shows them, a restart keeps them, and
//! hostile input is refused with a reason.

mod common;

use chyron_protocol::{Directory, LiveDj};
use chyron_relay::config::Config;
use chyron_relay::live::MAX_LIVE_PER_CHANNEL;
use common::*;
use serde_json::{json, Value};

fn public(c: &mut Config) {
    c.chat.public_channels = vec!["demo".into(), "dj".into()];
    c.limits.rate_limit_burst = 1000;
    c.limits.anonymous_rate_limit_burst = 1000;
}

/// `PUT …/live` answered 200; the channel's live DJs it returned.
async fn mark(relay: &Server, channel: &str, body: Value) -> Vec<LiveDj> {
    let res = put_live(relay, channel, body).await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["channel"], channel);
    serde_json::from_value(v["live"].clone()).unwrap()
}

/// Each public channel's live DJs, as the directory shows them.
async fn directory_live(relay: &Server) -> Vec<(String, Vec<LiveDj>)> {
    let res = reqwest::get(relay.url("/chat/channels")).await.unwrap();
    let dir: Directory = res.json().await.unwrap();
    dir.channels
        .into_iter()
        .map(|c| (c.channel, c.live))
        .collect()
}

#[tokio::test]
async fn a_dj_marked_live_is_in_the_directory_until_unmarked_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_with(config(dir.path(), public)).await;
    let nobody = |c: &str| (c.to_string(), Vec::new());
    assert_eq!(directory_live(&relay).await, [nobody("demo"), nobody("dj")]);
    let raw = reqwest::get(relay.url("/chat/channels")).await.unwrap();
    let raw: Value = raw.json().await.unwrap();
    assert!(
        raw["channels"][0].get("live").is_none(),
        "nobody live: no field"
    );

    let shadow = json!({"user_id": "@shadow:hs.example", "live": true, "name": "DJ Shadow"});
    let live = mark(&relay, "dj", shadow.clone()).await;
    assert_eq!(live.len(), 1);
    let dj = &live[0];
    assert_eq!(
        (dj.user_id.as_str(), dj.name.as_deref()),
        ("@shadow:hs.example", Some("DJ Shadow"))
    );
    assert!(dj.since > 1_600_000_000_000, "since is in ms: {}", dj.since);
    // Idempotent: the same mark again changes nothing, `since` included.
    assert_eq!(mark(&relay, "dj", shadow.clone()).await, live);
    let other = json!({"user_id": "@b2b:hs.example", "live": true});
    let both = mark(&relay, "dj", other).await;
    assert_eq!(both.len(), 2);
    assert_eq!(both[0], live[0], "longest live first");
    assert_eq!(both[1].name, None);

    let dir_now = directory_live(&relay).await;
    assert_eq!(dir_now, [nobody("demo"), ("dj".to_string(), both.clone())]);
    let raw = reqwest::get(relay.url("/chat/channels")).await.unwrap();
    let raw: Value = raw.json().await.unwrap();
    assert_eq!(
        raw["channels"][1]["live"][0]["user_id"],
        "@shadow:hs.example"
    );
    assert_eq!(raw["channels"][1]["live"][0]["name"], "DJ Shadow");
    assert!(raw["channels"][1]["live"][1].get("name").is_none());
    let res = http()
        .get(relay.url("/api/v1/channels/dj/live"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let listed: Value = res.json().await.unwrap();
    assert_eq!(listed, json!({"channel": "dj", "live": both}));

    // A restart mid-show keeps both live.
    relay.stop().await;
    let relay = start_with(config(dir.path(), public)).await;
    assert_eq!(directory_live(&relay).await[1].1, both);

    // Unmarked: gone; unmarking again is no error.
    let off = json!({"user_id": "@shadow:hs.example", "live": false});
    let left = mark(&relay, "dj", off.clone()).await;
    assert_eq!(left, both[1..]);
    assert_eq!(mark(&relay, "dj", off).await, left);
    let off = json!({"user_id": "@b2b:hs.example", "live": false});
    assert_eq!(mark(&relay, "dj", off).await, nobody("dj").1);
    assert_eq!(directory_live(&relay).await, [nobody("demo"), nobody("dj")]);
    relay.stop().await;
    let relay = start_with(config(dir.path(), public)).await;
    assert_eq!(
        directory_live(&relay).await,
        [nobody("demo"), nobody("dj")],
        "the unmark lasts too"
    );
    relay.stop().await;
}

#[tokio::test]
async fn strangers_and_hostile_input_are_refused_with_a_reason() {
    let relay = start(public).await;
    let url = relay.url("/api/v1/channels/dj/live");
    let body = json!({"user_id": "@dj:hs", "live": true});
    let res = http().put(&url).json(&body).send().await.unwrap();
    let (code, _) = error_code(res, 401).await;
    assert_eq!(code, "unauthorized");
    let res = http()
        .put(&url)
        .bearer_auth("wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401).await.1, "invalid API token");
    let res = http().get(&url).bearer_auth("wrong").send().await.unwrap();
    error_code(res, 401).await;

    for (user_id, name, says) in [
        (
            "@dj\u{202e}gro.sh:hs",
            None,
            "`user_id` may not contain '\\u{202e}'",
        ),
        (
            "@d\u{200b}j:hs",
            None,
            "`user_id` may not contain '\\u{200b}'",
        ),
        ("@dj:hs\u{0}", None, "`user_id` may not contain '\\0'"),
        (
            "dj",
            None,
            "`user_id` must be a Matrix user id like `@dj:example.org`",
        ),
        ("", None, "`user_id` must not be empty"),
        (
            "@dj:hs",
            Some("DJ\u{2066}Shadow"),
            "`name` may not contain '\\u{2066}'",
        ),
        ("@dj:hs", Some("two\nlines"), "`name` may not contain '\\n'"),
        ("@dj:hs", Some(""), "`name` must not be empty"),
    ] {
        let body = json!({"user_id": user_id, "live": true, "name": name});
        let (code, message) = error_code(put_live(&relay, "dj", body).await, 400).await;
        assert_eq!((code.as_str(), message.as_str()), ("invalid_field", says));
    }
    let long = format!("@{}:hs", "a".repeat(300));
    let res = put_live(&relay, "dj", json!({"user_id": long, "live": true})).await;
    assert_eq!(
        error_code(res, 400).await.1,
        "`user_id` is longer than 255 bytes"
    );
    let res = put_live(&relay, "dj", json!({"user_id": "@dj:hs"})).await;
    assert!(error_code(res, 400)
        .await
        .1
        .contains("missing field `live`"));

    // Only public channels have live DJs: the directory lists no others.
    let res = put_live(
        &relay,
        "backstage",
        json!({"user_id": "@dj:hs", "live": true}),
    )
    .await;
    let (code, message) = error_code(res, 404).await;
    assert_eq!(code, "not_found");
    assert!(
        message.contains("`backstage` is not a public channel"),
        "{message}"
    );
    let res = put_live(
        &relay,
        "Bad%20Name",
        json!({"user_id": "@dj:hs", "live": true}),
    )
    .await;
    assert_eq!(error_code(res, 400).await.0, "invalid_field");
    assert!(
        directory_live(&relay).await[1].1.is_empty(),
        "nothing was marked"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_channel_holds_a_bounded_number_of_live_djs() {
    let relay = start(public).await;
    for i in 0..MAX_LIVE_PER_CHANNEL {
        let live = mark(
            &relay,
            "dj",
            json!({"user_id": format!("@dj{i}:hs"), "live": true}),
        )
        .await;
        assert_eq!(live.len(), i + 1);
    }
    let res = put_live(
        &relay,
        "dj",
        json!({"user_id": "@one-more:hs", "live": true}),
    )
    .await;
    let (code, message) = error_code(res, 409).await;
    assert_eq!(code, "too_many_live");
    assert!(message.contains("already has 16 live DJs"), "{message}");
    // One already live may still be renamed; another channel has its own room.
    let renamed = json!({"user_id": "@dj0:hs", "live": true, "name": "Zero"});
    assert_eq!(
        mark(&relay, "dj", renamed).await.len(),
        MAX_LIVE_PER_CHANNEL
    );
    assert_eq!(
        mark(
            &relay,
            "demo",
            json!({"user_id": "@one-more:hs", "live": true})
        )
        .await
        .len(),
        1
    );
    // Room again once one goes off.
    mark(&relay, "dj", json!({"user_id": "@dj3:hs", "live": false})).await;
    let live = mark(
        &relay,
        "dj",
        json!({"user_id": "@one-more:hs", "live": true}),
    )
    .await;
    assert_eq!(live.len(), MAX_LIVE_PER_CHANNEL);
    assert_eq!(directory_live(&relay).await[1].1, live);
    relay.stop().await;
}
