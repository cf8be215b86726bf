//! Property tests against a real relay on port 0: generated webhook and
//! Chat API requests get the answer the documented rules give (a post, or a
//! `400` in the JSON error format naming the rule) and every accepted post
//! reaches the feed; arbitrary bytes over raw TCP neither panic the relay
//! nor stop it serving others.
//!
//! Each test owns a tokio runtime that runs the relay on its worker threads
//! while proptest drives requests from the test thread.

mod common;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        source_file: Some(file!()),
        max_shrink_iters: 64,
        ..Config::default()
    })
}

/// The name of the runtime's worker threads, where the relay's tasks run.
const RELAY_THREAD: &str = "relay-under-test";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(RELAY_THREAD)
        .enable_all()
        .build()
        .unwrap()
}

/// Panics on the runtime's worker threads (where the relay's tasks run),
/// counted since the hook was installed.
fn count_relay_panics() -> &'static AtomicUsize {
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            if thread.name() == Some(RELAY_THREAD) {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
    &PANICS
}

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
    proptest::option::of(prop_oneof![4 => text.prop_map(Value::String), 1 => other])
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
    runner(128)
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
    runner(128)
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

/// What strangers send: random bytes, HTTP-looking requests with garbage
/// in every part, websocket upgrades followed by garbage, HTTP/2 prefaces.
fn stranger_bytes() -> impl Strategy<Value = Vec<u8>> {
    let garbage = vec(any::<u8>(), 0..300);
    let method = prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("PUT"),
        Just("DELETE"),
        Just("OPTIONS"),
        Just("CONNECT"),
        Just("G\u{0}T"),
        Just(""),
    ];
    let path = prop_oneof![
        Just("/healthz".to_string()),
        Just("/feed/demo?since=1&epoch=x".to_string()),
        Just("/api/v1/channels/demo/messages".to_string()),
        Just("/hooks/wh0/secret".to_string()),
        "/[ -~]{0,40}",
        "\\PC{0,40}",
    ];
    let headers = vec(("[A-Za-z-]{0,12}", "[ -~]{0,30}"), 0..6);
    let line_end = prop_oneof![Just("\r\n"), Just("\n"), Just("\r"), Just("")];
    let request = (
        method,
        path,
        headers,
        line_end,
        garbage.clone(),
        any::<bool>(),
    )
        .prop_map(|(method, path, headers, eol, body, whole)| {
            let mut out = format!("{method} {path} HTTP/1.1{eol}Host: x{eol}");
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}{eol}"));
            }
            if whole {
                out.push_str(&format!("Content-Length: {}{eol}", body.len()));
            }
            out.push_str(eol);
            let mut bytes = out.into_bytes();
            bytes.extend(body);
            bytes
        });
    let upgrade = garbage.clone().prop_map(|frames| {
        let mut bytes = b"GET /feed/tcp-props HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            .to_vec();
        bytes.extend(frames);
        bytes
    });
    let h2 = garbage.clone().prop_map(|frames| {
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend(frames);
        bytes
    });
    prop_oneof![garbage, request, upgrade, h2]
}

/// Sends `bytes` on a fresh connection, half-closes it and reads what comes
/// back (up to 2 s, 64 KiB).
async fn send_raw(server: &Server, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut answer = vec![];
    if tcp.write_all(bytes).await.is_ok() && tcp.shutdown().await.is_ok() {
        let mut limited = (&mut tcp).take(64 * 1024);
        let _ =
            tokio::time::timeout(Duration::from_secs(2), limited.read_to_end(&mut answer)).await;
    }
    answer
}

/// `/healthz`, a post and a feed all still work, and an old viewer hears it.
async fn still_serves(server: &Server, viewer: &mut Ws, n: usize) {
    let res = http().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let posted = server
        .post("tcp-props", "after", &format!("still here {n}"))
        .await;
    match next_frame(viewer).await {
        chyron_protocol::ServerFrame::Message { message, .. } => {
            assert_eq!(message.id, posted["id"].as_str().unwrap());
        }
        other => panic!("expected the post, got {other:?}"),
    }
    let mut fresh = server.feed("/feed/tcp-props").await;
    let last = next_snapshot(&mut fresh).await.messages.pop().unwrap();
    assert_eq!(last.body, format!("still here {n}"));
    close(fresh).await;
}

#[test]
fn arbitrary_bytes_over_tcp_stop_no_service() {
    let panics = count_relay_panics();
    let rt = runtime();
    let server = rt.block_on(start(|_| {}));
    let viewer = RefCell::new(rt.block_on(server.feed("/feed/tcp-props")));
    rt.block_on(next_snapshot(&mut viewer.borrow_mut()));
    let (cases, answered) = (Cell::new(0), Cell::new(0));
    runner(200)
        .run(&stranger_bytes(), |bytes| {
            let answer = rt.block_on(send_raw(&server, &bytes));
            cases.set(cases.get() + 1);
            answered.set(answered.get() + usize::from(!answer.is_empty()));
            // Any HTTP/1 answer is a refusal or a success, never a 5xx.
            if let Some(status) = answer.strip_prefix(b"HTTP/1.1 ") {
                prop_assert!(
                    !status.starts_with(b"5"),
                    "{}",
                    String::from_utf8_lossy(&answer)
                );
            }
            if cases.get() % 50 == 0 {
                rt.block_on(still_serves(&server, &mut viewer.borrow_mut(), cases.get()));
            }
            Ok(())
        })
        .unwrap();
    let (cases, answered, mut viewer) = (cases.get(), answered.get(), viewer.into_inner());
    rt.block_on(still_serves(&server, &mut viewer, cases + 1));
    assert!(answered > 0, "the relay answered none of {cases} requests");
    eprintln!("{cases} connections of stranger bytes, {answered} answered");
    assert_eq!(panics.load(Ordering::SeqCst), 0, "the relay panicked");
    rt.block_on(async {
        close(viewer).await;
        server.stop().await;
    });
}
