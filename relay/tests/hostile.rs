//! Hostile and malformed input: every refusal in the JSON error format.

mod common;

use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn malformed_bodies_are_named() {
    let server = start(|_| {}).await;
    let c = http();
    let url = server.url("/api/v1/channels/demo/messages");
    let send = |body: String, ct: &'static str| {
        c.post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let (code, msg) = error_code(
        send("{\"sender\":".into(), "application/json")
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(code, "invalid_json", "{msg}");
    let (code, msg) = error_code(
        send("{\"body\":\"x\"}".into(), "application/json")
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(code, "invalid_field");
    assert!(msg.contains("sender"), "{msg}");
    let (code, msg) = error_code(
        send("{\"sender\":1,\"body\":\"x\"}".into(), "application/json")
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(
        code == "invalid_field" && msg.contains("invalid type"),
        "{msg}"
    );
    let (code, _) = error_code(
        send("sender=a".into(), "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
    )
    .await;
    assert_eq!(code, "unsupported_media_type");

    let post = |sender: &str, body: String| {
        c.post(&url)
            .bearer_auth(TOKEN)
            .json(&json!({"sender": sender, "body": body}))
            .send()
    };
    assert_eq!(post("Ann", "é".repeat(2000)).await.unwrap().status(), 201);
    let (code, msg) = error_code(post("Ann", "é".repeat(2001)).await.unwrap(), 400).await;
    assert!(code == "invalid_field" && msg.contains("2000"), "{msg}");
    let (_, msg) = error_code(post("   ", "x".into()).await.unwrap(), 400).await;
    assert!(msg.contains("sender"), "{msg}");
    let (_, msg) = error_code(post("Ann", "bell\u{7}".into()).await.unwrap(), 400).await;
    assert!(msg.contains("body"), "{msg}");
    let huge = json!({"sender": "Ann", "body": "x".repeat(40_000)}).to_string();
    let (code, _) = error_code(send(huge, "application/json").await.unwrap(), 413).await;
    assert_eq!(code, "payload_too_large");

    // Nothing refused above was stored: only the one valid post.
    let mut ws = server.feed("/feed/demo").await;
    let snap = next_snapshot(&mut ws).await;
    assert_eq!((snap.seq, snap.messages.len()), (1, 1));
}

#[tokio::test]
async fn invalid_channel_names() {
    let server = start(|_| {}).await;
    let c = http();
    let long = "a".repeat(65);
    for bad in ["Demo", "a%2Fb", "a.b", long.as_str(), "sp%20ace"] {
        let res = c
            .post(server.url(&format!("/api/v1/channels/{bad}/messages")))
            .bearer_auth(TOKEN)
            .json(&json!({"sender": "a", "body": "b"}))
            .send()
            .await
            .unwrap();
        let (code, msg) = error_code(res, 400).await;
        assert!(
            code == "invalid_field" && msg.contains("channel"),
            "{bad}: {code} {msg}"
        );
        let res = c
            .get(server.url(&format!("/feed/{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "feed {bad}");
    }
    // A literal `..` segment, sent raw (HTTP clients normalize it away).
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let body = r#"{"sender":"a","body":"b"}"#;
    let req = format!(
        "POST /api/v1/channels/../messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tcp.read_to_string(&mut answer),
    )
    .await
    .expect("no answer")
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid_field"), "{answer}");
}

/// The media routes take only what the relay recorded: anything else, on a
/// relay with or without a homeserver, is a JSON 400 or 404, never a fetch.
#[tokio::test]
async fn media_paths_that_name_nothing() {
    let server = start(|_| {}).await;
    let c = http();
    let long = "f".repeat(33);
    for (path, status) in [
        ("/media/demo/m1/thumbnail".to_string(), 404),
        ("/media/demo/avatars/0123456789abcdef".into(), 404),
        (format!("/media/demo/avatars/{long}"), 404),
        (format!("/media/demo/{long}/thumbnail"), 404),
        (
            "/media/demo/avatars/mxc%3A%2F%2Fevil.example%2Fx".into(),
            404,
        ),
        ("/media/Demo/avatars/00".into(), 400),
        ("/media/a.b/avatars/00".into(), 400),
        ("/media/a%2Fb/m1/thumbnail".into(), 400),
    ] {
        let res = c.get(server.url(&path)).send().await.unwrap();
        let (code, msg) = error_code(res, status).await;
        assert!(
            matches!(code.as_str(), "not_found" | "invalid_field"),
            "{path}: {code} {msg}"
        );
    }
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let server = start(|_| {}).await;
    let c = http();
    let url = server.url("/api/v1/channels/demo/messages");
    let body = json!({"sender": "a", "body": "b"});
    let res = c.post(&url).json(&body).send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_code(res, 401).await.0, "unauthorized");
    let res = c
        .post(&url)
        .bearer_auth("test-token-12")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401).await.0, "unauthorized");
    let res = c
        .post(&url)
        .header("authorization", format!("Basic {TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    error_code(res, 401).await;
    let res = c.get(server.url("/api/v1/nothing")).send().await.unwrap();
    assert_eq!(error_code(res, 404).await.0, "not_found");
}

#[tokio::test]
async fn flood_from_one_token_is_rate_limited() {
    let server = start(|c| {
        c.limits.rate_limit_per_second = 1;
        c.limits.rate_limit_burst = 5;
    })
    .await;
    let c = http();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..10 {
        let res = c
            .post(server.url("/api/v1/channels/demo/messages"))
            .bearer_auth(TOKEN)
            .json(&json!({"sender": "a", "body": format!("flood {i}")}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            retry_after = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            assert_eq!(error_code(res, 429).await.0, "rate_limited");
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let secs: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=2).contains(&secs));
}

#[tokio::test]
async fn webhook_flood_is_rate_limited() {
    let server = start(|c| {
        c.limits.webhook_rate_limit_per_second = 1;
        c.limits.webhook_rate_limit_burst = 2;
    })
    .await;
    let c = http();
    let created = server.create_webhook("demo", json!({"name": "Bot"})).await;
    let url = created["url"].as_str().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            c.post(url)
                .json(&json!({"text": "x"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, vec![201, 201, 429, 429]);
}

#[tokio::test]
async fn a_relay_without_tokens_says_so() {
    let server = start(|c| c.api_tokens.clear()).await;
    let res = http()
        .post(server.url("/api/v1/channels/demo/messages"))
        .bearer_auth(TOKEN)
        .json(&json!({"sender": "a", "body": "b"}))
        .send()
        .await
        .unwrap();
    let (code, msg) = error_code(res, 401).await;
    assert_eq!(code, "unauthorized");
    assert!(msg.contains("no API token configured"), "{msg}");
}
