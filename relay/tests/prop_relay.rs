//! Property tests against a real relay on port 0: generated webhook, Chat
//! API and feed requests get the answer the documented rules give (a post,
//! or a `4xx` in the JSON error format naming the rule), and every accepted
//! post reaches the feed. Raw bytes over TCP: `prop_tcp.rs`.
//!
//! Each test owns a tokio runtime that runs the relay on its worker threads
//! while proptest drives requests from the test thread.

mod common;
mod prop_support;

use common::*;
use prop_support::{runner, runtime};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// A string field: valid, too long, blank, with control characters, any
/// text, or not a string at all; `None` leaves the field out.
fn field() -> impl Strategy<Value = Option<Value>> {
    let text = prop_oneof![
        6 => "[A-Za-z][A-Za-z 😀é]{0,12}",
        1 => "\\PC{0,80}",
        1 => "[ \t\n]{0,3}",
        1 => "[a-z]{1,4}[\n\u{7}\u{202e}][a-z]{1,4}",
        1 => Just("y".repeat(2001)),
    ];
    let other = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(json!(["x"])),
        Just(json!({"x": "y"})),
    ];
    proptest::option::weighted(
        0.85,
        prop_oneof![4 => text.prop_map(Value::String), 1 => other],
    )
}

/// An object with the given optional members and sometimes an extra one.
fn object(members: &[(&str, &Option<Value>)], extra: bool) -> Value {
    let mut o = serde_json::Map::new();
    for (name, value) in members {
        if let Some(v) = value {
            o.insert(name.to_string(), v.clone());
        }
    }
    if extra {
        o.insert("channel".into(), json!("elsewhere"));
    }
    Value::Object(o)
}

/// `Option<String>` as serde reads it; `Err` for any other type.
fn opt_string(v: &Option<Value>) -> Result<Option<String>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    }
}

/// What the hook should answer: the post `(sender, text)`, or the refusal's
/// message (`None`: serde's own message about a mistyped field).
fn hook_model(f: &[Option<Value>; 4], name: &str) -> Result<(String, String), Option<String>> {
    let [text, username, sender, body] = f
        .clone()
        .map(|v| opt_string(&v))
        .map(|r| r.map_err(|_| None::<String>));
    let (text, username, sender, body) = (text?, username?, sender?, body?);
    let (sender, text) = match (text, sender, body) {
        (Some(text), _, _) => (username.unwrap_or_else(|| name.into()), text),
        (None, Some(sender), Some(body)) => (sender, body),
        (None, None, Some(_)) => return Err(Some("missing field `sender`".into())),
        _ => {
            let both = "expected `text` (Slack style) or `sender` and `body`";
            return Err(Some(both.into()));
        }
    };
    chyron_protocol::validate_sender(&sender).map_err(|e| Some(e.to_string()))?;
    chyron_protocol::validate_body(&text).map_err(|e| Some(e.to_string()))?;
    Ok((sender, text))
}

/// Checks a refusal: `400 invalid_field` with `message` (or serde's).
async fn refused(res: reqwest::Response, message: Option<String>) -> Result<(), TestCaseError> {
    let status = res.status().as_u16();
    let v: Value = res.json().await.unwrap();
    prop_assert_eq!(status, 400, "{}", v);
    prop_assert_eq!(&v["error"]["code"], "invalid_field", "{}", v);
    let got = v["error"]["message"].as_str().unwrap();
    match message {
        Some(m) => prop_assert_eq!(got, m),
        None => prop_assert!(got.starts_with("invalid JSON body: "), "{}", got),
    }
    Ok(())
}

/// The last `posts` of `channel`'s feed, as `(sender, body)`, oldest first.
async fn feed_tail(server: &Server, channel: &str) -> Vec<(String, String)> {
    let mut ws = server.feed(&format!("/feed/{channel}?limit=200")).await;
    let snapshot = next_snapshot(&mut ws).await;
    close(ws).await;
    snapshot
        .messages
        .into_iter()
        .map(|m| (m.sender, m.body))
        .collect()
}

#[test]
fn webhook_bodies_are_posted_or_refused_as_documented() {
    let rt = runtime();
    // Limits out of the way: this test is about the answers, not the rates.
    let server = rt.block_on(start(|c| {
        c.limits.webhook_rate_limit_burst = 10_000;
        c.limits.anonymous_rate_limit_burst = 10_000;
    }));
    let hook = rt.block_on(server.create_webhook("hooked", json!({"name": "Hook"})));
    let url = hook["url"].as_str().unwrap().to_string();
    let accepted = RefCell::new(vec![]);
    let bodies = ([field(), field(), field(), field()], any::<bool>());
    runner(128, file!())
        .run(&bodies, |(fields, extra)| {
            let names = ["text", "username", "sender", "body"];
            let members: Vec<_> = names.iter().copied().zip(fields.iter()).collect();
            let body = object(&members, extra);
            rt.block_on(async {
                let res = http().post(&url).json(&body).send().await.unwrap();
                match hook_model(&fields, "Hook") {
                    Ok(post) => {
                        prop_assert_eq!(res.status(), 201, "{}", body);
                        accepted.borrow_mut().push(post);
                        Ok(())
                    }
                    Err(message) => refused(res, message).await,
                }
            })
        })
        .unwrap();
    let accepted = accepted.into_inner();
    assert!(!accepted.is_empty(), "no generated body was valid");
    eprintln!("{} of the webhook bodies posted", accepted.len());
    let tail = rt.block_on(feed_tail(&server, "hooked"));
    assert_eq!(tail, accepted, "the feed lost or changed an accepted post");
    rt.block_on(server.stop());
}

/// A path segment with every byte but unreserved ones percent-encoded.
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn api_posts_are_posted_or_refused_as_documented() {
    let rt = runtime();
    let server = rt.block_on(start(|c| {
        c.limits.rate_limit_per_second = 10_000;
        c.limits.rate_limit_burst = 10_000;
    }));
    let channel = prop_oneof![
        3 => prop_oneof![Just("props".to_string()), Just("p_2".to_string())],
        // Not "." or "..": URLs resolve those segments before sending.
        1 => "\\PC{1,70}".prop_filter("dots", |s| s != "." && s != ".."),
    ];
    let accepted: RefCell<BTreeMap<String, Vec<(String, String)>>> = RefCell::default();
    runner(128, file!())
        .run(
            &(channel, field(), field(), any::<bool>()),
            |(channel, sender, body, extra)| {
                let json = object(&[("sender", &sender), ("body", &body)], extra);
                let path = format!("/api/v1/channels/{}/messages", encode(&channel));
                rt.block_on(async {
                    let res = http()
                        .post(server.url(&path))
                        .bearer_auth(TOKEN)
                        .json(&json)
                        .send()
                        .await
                        .unwrap();
                    // The body is read first (a missing or mistyped field),
                    // then the channel, the sender (as name and id), the body.
                    let (Some(Value::String(s)), Some(Value::String(b))) = (&sender, &body) else {
                        return refused(res, None).await;
                    };
                    let rule = chyron_protocol::validate_channel(&channel)
                        .and_then(|()| chyron_protocol::validate_sender(s))
                        .and_then(|()| chyron_protocol::validate_sender_id(s))
                        .and_then(|()| chyron_protocol::validate_body(b));
                    match rule {
                        Ok(()) => {
                            prop_assert_eq!(res.status(), 201, "{} {}", path, json);
                            accepted
                                .borrow_mut()
                                .entry(channel)
                                .or_default()
                                .push((s.clone(), b.clone()));
                            Ok(())
                        }
                        Err(e) => refused(res, Some(e.to_string())).await,
                    }
                })
            },
        )
        .unwrap();
    let accepted = accepted.into_inner();
    assert!(!accepted.is_empty(), "no generated post was valid");
    eprintln!(
        "{} API posts in {} channels",
        accepted.values().map(Vec::len).sum::<usize>(),
        accepted.len()
    );
    for (channel, posts) in &accepted {
        let tail = rt.block_on(feed_tail(&server, channel));
        assert_eq!(&tail, posts, "the feed of {channel} lost or changed a post");
    }
    rt.block_on(server.stop());
}

/// A header value as it arrives (no space at either end: parsers trim it).
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("https://stream.example".to_string()),
        Just("HTTPS://STREAM.example".to_string()),
        Just("http://HOST".to_string()),
        Just("null".to_string()),
        "[!-~]([ -~]{0,28}[!-~])?",
    ]
}

/// `origin_allowed`'s doc: no header, same origin as `Host`, or on the
/// list (case-insensitive).
fn origin_model(origin: Option<&str>, host: &str) -> bool {
    let Some(origin) = origin else { return true };
    let same = origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host));
    same || origin.eq_ignore_ascii_case("https://stream.example")
}

#[test]
fn feed_requests_are_refused_in_order_with_the_rule_named() {
    let rt = runtime();
    let server = rt.block_on(start(|c| {
        c.allowed_origins = vec!["https://stream.example".into()];
    }));
    let channel = prop_oneof![
        Just("demo".to_string()),
        "[a-z0-9][a-z0-9_-]{0,70}",
        "\\PC{1,20}".prop_filter("dots", |s| s != "." && s != ".."),
    ];
    let query = prop_oneof![
        Just(String::new()),
        Just("since=5&epoch=e".to_string()),
        "(since|limit|epoch)=[0-9a-z+-]{0,3}",
        "[ -~]{0,30}".prop_map(|q| encode(&q).replace("%3D", "=").replace("%26", "&")),
    ];
    let host = prop_oneof![Just(None), header_value().prop_map(Some)];
    let origin = proptest::option::of(header_value());
    runner(128, file!())
        .run(
            &(channel, query, host, origin),
            |(channel, query, host, origin)| {
                let path = format!("/feed/{}?{query}", encode(&channel));
                rt.block_on(async {
                    let mut req = http().get(server.url(&path));
                    if let Some(h) = &host {
                        req = req.header("host", h);
                    }
                    if let Some(o) = &origin {
                        req = req.header("origin", o);
                    }
                    let res = req.send().await.unwrap();
                    let status = res.status().as_u16();
                    let v: Value = res.json().await.unwrap();
                    let code = v["error"]["code"].as_str().unwrap_or_default();
                    let sent_host = host.unwrap_or_else(|| server.addr.to_string());
                    let expected = if chyron_protocol::validate_channel(&channel).is_err() {
                        (400, "invalid_field")
                    } else if !origin_model(origin.as_deref(), &sent_host) {
                        (403, "origin_not_allowed")
                    } else if chyron_relay::feed::parse_query(Some(&query)).is_err() {
                        (400, "bad_request")
                    } else {
                        // Not a websocket upgrade: a plain GET is refused too.
                        prop_assert!((400..500).contains(&status), "{} {}", status, v);
                        (status, "bad_request")
                    };
                    prop_assert_eq!((status, code), expected, "{} {} {:?}", path, v, origin);
                    prop_assert!(!v["error"]["message"].as_str().unwrap_or("").is_empty());
                    Ok(())
                })
            },
        )
        .unwrap();
    rt.block_on(server.stop());
}
