//! The bridge both ways against a real Synapse: posts made through the relay
//! reach the room once, survive a homeserver outage in order; attachments get
//! relay-served thumbnails; formatted bodies are sanitised; renames and
//! avatars follow; hostile events are dropped or shown inert without stopping
//! the bridge.

mod common;

use chyron_protocol::{BridgeState, MediaKind, ServerFrame, Source};
use common::matrix::*;
use common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_posts_reach_the_room_once_and_survive_an_outage() {
    let Some(LiveBridge {
        synapse,
        alice,
        relay,
        mut ws,
    }) = live_bridge().await
    else {
        return;
    };

    // An API post shows in the feed at once, and in the room as the bot.
    relay.post("demo", "carol", "hello from the stream").await;
    let (_, carol) = posted(next_slow(&mut ws).await);
    assert_eq!(carol.source, Source::Api);
    until_bot_lines(&alice, &["carol (via stream chat): hello from the stream"]).await;
    // The bot's echo from the room is not shown a second time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_quiet(&mut ws).await;

    // A webhook post, then an edit of it through the API.
    let hook = relay.create_webhook("demo", json!({"name": "ci"})).await;
    let res = http()
        .post(hook["url"].as_str().unwrap())
        .json(&json!({"text": "build passed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let (_, built) = posted(next_slow(&mut ws).await);
    until_bot_lines(
        &alice,
        &[
            "carol (via stream chat): hello from the stream",
            "ci (via webhook): build passed",
        ],
    )
    .await;
    let res = http()
        .put(relay.url(&format!("/api/v1/channels/demo/messages/{}", built.id)))
        .bearer_auth(TOKEN)
        .json(&json!({"body": "build passed (3 min)"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(matches!(next_slow(&mut ws).await, ServerFrame::Edit { .. }));
    let mut edited = false;
    for _ in 0..100 {
        edited = alice.recent(20).await.iter().any(|e| {
            e["content"]["m.new_content"]["body"] == "ci (via webhook): build passed (3 min)"
        });
        if edited {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(edited, "the edit did not reach the room");

    // A Matrix moderator redacting the bot's message removes the line.
    let carol_event = alice
        .recent(50)
        .await
        .iter()
        .find(|e| e["content"]["body"] == "carol (via stream chat): hello from the stream")
        .and_then(|e| e["event_id"].as_str().map(str::to_string))
        .unwrap();
    alice.redact(&carol_event).await;
    match next_slow(&mut ws).await {
        ServerFrame::Delete { id, .. } => assert_eq!(id, carol.id),
        other => panic!("expected the delete, got {other:?}"),
    }

    // Outage: the homeserver stops. Viewers are told; posts are accepted and
    // shown at once, and queued.
    synapse.stop();
    until_state(&mut ws, BridgeState::Down).await.unwrap();
    for i in 1..=3 {
        relay
            .post("demo", "dave", &format!("during the outage {i}"))
            .await;
        let (_, m) = posted(next_slow(&mut ws).await);
        assert_eq!(m.body, format!("during the outage {i}"));
    }
    let text = metrics_text(&relay).await;
    assert!(text.contains("chyron_bridge_up 0"), "{text}");

    // Back: alice talks before the relay has reconnected (its backoff), and
    // the queue drains in order.
    synapse.start_again();
    let said: Vec<String> = (1..=3)
        .map(|i| format!("while you were away {i}"))
        .collect();
    for line in &said {
        alice.text(line).await;
    }
    for line in &said {
        let (_, m) = posted(next_slow(&mut ws).await);
        assert_eq!(&m.body, line);
    }
    until_bot_lines(
        &alice,
        &[
            "ci (via webhook): build passed",
            "dave (via stream chat): during the outage 1",
            "dave (via stream chat): during the outage 2",
            "dave (via stream chat): during the outage 3",
        ],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let quiet: Vec<ServerFrame> = drain(&mut ws).await;
    assert!(
        quiet
            .iter()
            .all(|f| matches!(f, ServerFrame::Bridge { .. })),
        "only state changes may follow: {quiet:?}"
    );
    relay.stop().await;
    drop(synapse);
}

/// The frames that arrive within half a second.
async fn drain(ws: &mut Ws) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    while let Ok(f) = tokio::time::timeout(Duration::from_millis(500), next_any(ws)).await {
        frames.push(f);
    }
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_html_renames_and_hostile_events() {
    let Some(LiveBridge {
        synapse,
        alice,
        relay,
        mut ws,
    }) = live_bridge().await
    else {
        return;
    };

    // A real image: an entry with a thumbnail the relay serves.
    let picture = png(64, 48);
    let size = picture.len();
    let mxc = alice.upload(picture, "image/png").await;
    alice
        .send(
            json!({"msgtype": "m.image", "body": "sunset.png", "url": mxc,
            "info": {"mimetype": "image/png", "size": size, "w": 64, "h": 48}}),
        )
        .await;
    let (_, m) = posted(next_slow(&mut ws).await);
    let media = m.media.clone().expect("a media entry");
    assert_eq!(
        (media.kind, media.name.as_str()),
        (MediaKind::Image, "sunset.png")
    );
    assert_eq!((media.width, media.height), (Some(64), Some(48)));
    let thumb = media.thumbnail.expect("a thumbnail route");
    assert_eq!(thumb, format!("/media/demo/{}/thumbnail", m.id));
    let res = http().get(relay.url(&thumb)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    let kind = h["content-type"].to_str().unwrap().to_string();
    assert!(kind == "image/png" || kind == "image/jpeg", "{kind}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG") || bytes.starts_with(b"\xff\xd8\xff"));
    // Cached: a second request is served the same bytes.
    let again = http().get(relay.url(&thumb)).send().await.unwrap();
    assert_eq!(again.bytes().await.unwrap(), bytes);

    // Media that lies: text uploaded as a PNG. The entry shows, the preview
    // is refused, nothing but an error is served.
    let liar = alice
        .upload(
            b"<svg onload=alert(1)>not a picture</svg>".to_vec(),
            "image/png",
        )
        .await;
    alice
        .send(
            json!({"msgtype": "m.image", "body": "innocent.png", "url": liar,
            "info": {"mimetype": "image/png", "size": 1, "w": 1, "h": 1}}),
        )
        .await;
    let (_, m) = posted(next_slow(&mut ws).await);
    let thumb = m.media.unwrap().thumbnail.unwrap();
    let res = http().get(relay.url(&thumb)).send().await.unwrap();
    assert!(res.status().is_client_error() || res.status().is_server_error());
    assert_eq!(res.headers()["content-type"], "application/json");
    // A file brings no preview; unknown ids and other channels have none.
    alice
        .send(json!({"msgtype": "m.file", "body": "slides.pdf", "url": mxc}))
        .await;
    let (_, file) = posted(next_slow(&mut ws).await);
    assert_eq!(file.media.as_ref().unwrap().kind, MediaKind::File);
    assert_eq!(file.media.unwrap().thumbnail, None);
    for path in [
        format!("/media/demo/{}/thumbnail", file.id),
        "/media/demo/m999/thumbnail".into(),
        "/media/other/m1/thumbnail".into(),
        "/media/Bad!/m1/thumbnail".into(),
    ] {
        let res = http().get(relay.url(&path)).send().await.unwrap();
        assert!(
            matches!(res.status().as_u16(), 400 | 404),
            "{path}: {}",
            res.status()
        );
    }

    // Formatted bodies: sanitised HTML beside the plain body.
    alice
        .send(json!({"msgtype": "m.text", "body": "bold move",
            "format": "org.matrix.custom.html",
            "formatted_body": "<b>bold</b> move<script>alert(1)</script>\
                <a href=\"javascript:alert(1)\">x</a><img src=\"https://evil.example/t.png\">\
                <svg><style><img src=x onerror=alert(1)></style></svg>"}))
        .await;
    let (_, m) = posted(next_slow(&mut ws).await);
    assert_eq!(m.body, "bold move");
    let html = m.html.expect("sanitised html");
    assert!(html.starts_with("<b>bold</b> move"), "{html}");
    for bad in ["script", "javascript", "evil.example", "onerror", "svg"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }

    // A rename renames the shown lines, then new lines carry the new name.
    alice.rename("@alice:localhost", "Alice Two").await;
    match next_slow(&mut ws).await {
        ServerFrame::Profile {
            sender_id, sender, ..
        } => assert_eq!(
            (sender_id.as_str(), sender.as_str()),
            ("@alice:localhost", "Alice Two")
        ),
        other => panic!("expected the rename, got {other:?}"),
    }
    // An avatar: the profile frame carries a relay path (never the content
    // URI), which serves a small image; new lines carry it too.
    alice.set_avatar("@alice:localhost", &mxc).await;
    let avatar = match next_slow(&mut ws).await {
        ServerFrame::Profile { sender, avatar, .. } => {
            assert_eq!(sender, "Alice Two");
            avatar.expect("an avatar path")
        }
        other => panic!("expected the avatar change, got {other:?}"),
    };
    assert!(avatar.starts_with("/media/demo/avatars/"), "{avatar}");
    assert!(!avatar.contains("mxc") && !avatar.contains("localhost"));
    let res = http().get(relay.url(&avatar)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let face = res.bytes().await.unwrap();
    assert!(face.starts_with(b"\x89PNG") || face.starts_with(b"\xff\xd8\xff"));
    for path in [
        "/media/demo/avatars/0000000000000000",
        "/media/other/avatars/x",
    ] {
        let res = http().get(relay.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let unknown = avatar.replace("/demo/", "/other/");
    let res = http().get(relay.url(&unknown)).send().await.unwrap();
    assert_eq!(res.status(), 404, "another channel's avatar key");

    // Hostile events: each dropped or shown inert; the bridge goes on.
    // (Synapse refuses a message with no or a non-string body from clients;
    // those, possible over federation, are unit tests of the mapping.)
    let huge = "x".repeat(40_000);
    let mut dropped = Vec::new();
    for content in [
        json!({"msgtype": "m.text", "body": "wrong-typed html",
            "format": "org.matrix.custom.html", "formatted_body": 5}),
        json!({"msgtype": "m.image", "body": "x.png", "url": mxc, "info": "big"}),
        json!({"msgtype": "m.image", "body": "y.png", "url": 7}),
        json!({"msgtype": "m.text", "body": "bad relation", "m.relates_to": "x"}),
        json!({"msgtype": "m.text", "body": " \u{7}\u{1b} "}),
    ] {
        dropped.push(alice.send(content).await);
    }
    // An edit of a message the feed never showed (the unreadable image).
    alice.edit(&dropped[1], "now readable?").await;
    alice.redact("$unknown-event:localhost").await;
    alice
        .send(json!({"msgtype": "org.example.unknown", "body": "<b>plain</b> please"}))
        .await;
    // Only the text with a wrong-typed formatted body shows (plain); the
    // unreadable ones, the edit of one, the blank body and the redaction of
    // an unknown event change nothing.
    let (_, shown) = posted(next_slow(&mut ws).await);
    assert_eq!(
        (shown.body.as_str(), shown.html.as_ref()),
        ("wrong-typed html", None)
    );
    let (_, unknown) = posted(next_slow(&mut ws).await);
    assert_eq!(unknown.body, "<b>plain</b> please");
    assert_eq!(unknown.html, None);
    alice.send(json!({"msgtype": "m.text", "body": huge})).await;
    let (_, long) = posted(next_slow(&mut ws).await);
    assert_eq!(
        long.body.chars().count(),
        chyron_protocol::limits::MAX_BODY_CHARS
    );
    assert!(long.body.ends_with('…'));
    alice.text("still alive").await;
    let (_, last) = posted(next_slow(&mut ws).await);
    assert_eq!(
        (last.body.as_str(), last.sender.as_str()),
        ("still alive", "Alice Two")
    );
    assert_eq!(last.avatar.as_deref(), Some(avatar.as_str()));
    relay.stop().await;
    drop(synapse);
}
