//! The HTTP Chat API against a real relay, and its events on the feed.

mod common;

use chyron_protocol::{ServerFrame, Source};
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn post_edit_delete_clear_reach_the_feed() {
    let server = start(|_| {}).await;
    let mut ws = server.feed("/feed/demo").await;
    let snap = next_snapshot(&mut ws).await;
    assert_eq!(
        (snap.seq, snap.messages.len(), snap.channel.as_str()),
        (0, 0, "demo")
    );

    let posted = server.post("demo", "Ann", "hello <b>world</b>").await;
    assert_eq!(posted["seq"], 1);
    assert_eq!(posted["channel"], "demo");
    assert_eq!(posted["message"]["sender_id"], "Ann");
    assert_eq!(posted["message"]["source"], "api");
    let id = posted["id"].as_str().unwrap().to_string();
    let ServerFrame::Message { seq: 1, message } = next_frame(&mut ws).await else {
        panic!()
    };
    assert_eq!(
        (message.id.as_str(), message.body.as_str()),
        (id.as_str(), "hello <b>world</b>")
    );
    assert_eq!(message.source, Source::Api);

    let c = http();
    let url = server.url(&format!("/api/v1/channels/demo/messages/{id}"));
    let res = c
        .put(&url)
        .bearer_auth(TOKEN)
        .json(&json!({"body": "fixed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"id": id, "seq": 2})
    );
    assert_eq!(
        next_frame(&mut ws).await,
        ServerFrame::Edit {
            seq: 2,
            id: id.clone(),
            body: "fixed".into(),
            html: None
        }
    );

    let res = c.delete(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"id": id, "seq": 3})
    );
    assert_eq!(
        next_frame(&mut ws).await,
        ServerFrame::Delete {
            seq: 3,
            id: id.clone()
        }
    );

    // Deleted and unknown ids: 404, no event.
    let (code, _) = error_code(c.delete(&url).bearer_auth(TOKEN).send().await.unwrap(), 404).await;
    assert_eq!(code, "not_found");
    let res = c
        .put(server.url("/api/v1/channels/demo/messages/m999"))
        .bearer_auth(TOKEN)
        .json(&json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    error_code(res, 404).await;

    server.post("demo", "Spammer", "buy").await;
    server.post("demo", "Spammer", "now").await;
    server.post("demo", "Bob", "hi").await;
    for seq in 4..=6 {
        assert_eq!(next_frame(&mut ws).await.event_seq(), Some(seq));
    }
    let res = c
        .post(server.url("/api/v1/channels/demo/users/Spammer/clear"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"seq": 7, "removed": 2})
    );
    assert_eq!(
        next_frame(&mut ws).await,
        ServerFrame::Clear {
            seq: 7,
            sender_id: "Spammer".into()
        }
    );
    assert_quiet(&mut ws).await;

    let mut fresh = server.feed("/feed/demo").await;
    let snap = next_snapshot(&mut fresh).await;
    assert_eq!(snap.seq, 7);
    let bodies: Vec<_> = snap.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, vec!["hi"]);
    server.stop().await;
}

#[tokio::test]
async fn webhooks_create_list_post_revoke() {
    let server = start(|_| {}).await;
    let c = http();
    let hooks = server.url("/api/v1/channels/demo/webhooks");
    let res = c
        .post(&hooks)
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Bot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let url = created["url"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("http://{}/hooks/{id}/", server.addr)),
        "{url}"
    );
    assert_eq!(
        (created["channel"].as_str(), created["name"].as_str()),
        (Some("demo"), Some("Bot"))
    );
    let secret = url.rsplit('/').next().unwrap().to_string();
    assert!(secret.len() >= 43);

    // Created without a body: default name.
    let res = c.post(&hooks).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let second: Value = res.json().await.unwrap();

    let listed = c
        .get(&hooks)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&secret), "list leaks the secret");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let list = listed["webhooks"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], id.as_str());
    assert!(list[0]["created_at"].as_i64().unwrap() > 0);
    error_code(c.get(&hooks).send().await.unwrap(), 401).await;

    let mut ws = server.feed("/feed/demo").await;
    next_snapshot(&mut ws).await;
    let bodies = [
        (json!({"text": "slack style"}), "Bot"),
        (json!({"text": "as someone", "username": "Ann"}), "Ann"),
        (json!({"sender": "Cid", "body": "chyron style"}), "Cid"),
    ];
    for (i, (body, sender)) in bodies.iter().enumerate() {
        let res = c.post(&url).json(body).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["seq"], i as u64 + 1);
        let ServerFrame::Message { message, .. } = next_frame(&mut ws).await else {
            panic!()
        };
        assert_eq!(
            (message.sender.as_str(), message.source),
            (*sender, Source::Webhook)
        );
        assert_eq!(message.id, v["id"].as_str().unwrap());
    }
    let (code, _) = error_code(
        c.post(&url)
            .json(&json!({"username": "x"}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(code, "invalid_field");
    let wrong = url.replace(&secret, &"0".repeat(secret.len()));
    let (_, wrong_msg) = error_code(
        c.post(&wrong)
            .json(&json!({"text": "x"}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;

    let res = c
        .delete(format!("{hooks}/{id}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (_, revoked_msg) = error_code(
        c.post(&url)
            .json(&json!({"text": "x"}))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(
        wrong_msg, revoked_msg,
        "revoked and wrong secret must look alike"
    );
    error_code(
        c.delete(format!("{hooks}/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let listed: Value = c
        .get(&hooks)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(listed["webhooks"][0]["id"], second["id"]);
    assert_quiet(&mut ws).await;
}

#[tokio::test]
async fn public_url_is_used_for_webhook_urls() {
    let server = start(|c| c.public_url = Some("https://relay.example/chat".into())).await;
    let v = server.create_webhook("demo", json!({})).await;
    assert!(v["url"]
        .as_str()
        .unwrap()
        .starts_with("https://relay.example/chat/hooks/"));
    assert_eq!(v["name"], "webhook");
}

#[tokio::test]
async fn pages_health_metrics_and_assets() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let dist = dir.join("dist");
    std::fs::create_dir_all(dist.join("media")).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>demo stream</title>",
    )
    .unwrap();
    std::fs::write(
        dist.join("embed.js"),
        "customElements.define('x', class {});\n".repeat(100),
    )
    .unwrap();
    std::fs::write(dist.join("chyron_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dist.join("media/clip.txt"), "clip").unwrap();
    let server = start_with(config(dir, |_| {})).await;
    let c = http();

    let res = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("demo stream"));
    let res = c.get(server.url("/chyron_bg.wasm")).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/wasm");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let res = c
        .get(server.url("/embed.js"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(
        res.bytes().await.unwrap().len() < 1000,
        "brotli should shrink a repetitive file"
    );
    let res = c.get(server.url("/media/clip.txt")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "clip");
    assert_eq!(
        c.get(server.url("/nope.js")).send().await.unwrap().status(),
        404
    );

    let res = c
        .get(server.url("/overlay/demo?lines=3&position=bottom-left&evil=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    // dist/embed.js runs inline, loading the widget from the site root.
    assert!(html.contains("<script data-base=\"/\">customElements.define('x', class {});"));
    assert!(!html.contains("src=\"/embed.js\""));
    assert!(
        html.contains(
            r#"<chyron-chat channel="demo" placement="overlay" lines="3" position="bottom-left">"#
        ),
        "{html}"
    );
    assert_eq!(
        c.get(server.url("/overlay/NOT..ok"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    let res = c.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    server.post("demo", "Ann", "count me").await;
    let text = metrics_text(&server).await;
    assert!(
        text.contains("chyron_events_total{kind=\"message\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("chyron_http_requests_total{class=\"2xx\"}"),
        "{text}"
    );
    assert!(
        text.contains("chyron_http_requests_total{class=\"4xx\"}"),
        "{text}"
    );
}
