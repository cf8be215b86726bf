//! Arbitrary bytes over raw TCP to a real relay on port 0 (200 connections):
//! they neither panic the relay nor stop it serving others: `/healthz`, a
//! post through the Chat API, a new feed and a viewer connected before the
//! attack keep working throughout.

mod common;
mod prop_support;

use common::*;
use prop_support::{count_relay_panics, runner, runtime};
use proptest::collection::vec;
use proptest::prelude::*;
use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    runner(200, file!())
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
