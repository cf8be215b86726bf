//! Hostile clients against a real relay on loopback: each test performs the
//! attack, then asserts a bounded, counted quantity and that service goes on
//! (`/healthz` answers, a normal viewer at another address gets captions).
//! Every attack is bounded in count and time.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A masked client ping frame with a 125-byte payload (the largest).
fn ping_frame() -> Vec<u8> {
    let mut f = vec![0x89, 0x80 | 125, 1, 2, 3, 4];
    f.extend((0..125u8).map(|i| i ^ [1, 2, 3, 4][usize::from(i) % 4]));
    f
}

/// A socket that floods pings and never reads is closed by the relay after a
/// few, so the pongs it would owe never pile up in memory.
#[tokio::test]
async fn ping_flood_on_a_socket_that_never_reads_is_closed() {
    let server = start(|_| {}).await;
    let mut tcp = tcp_from(&server, [127, 0, 0, 1], Some(4096)).await;
    raw_upgrade(&mut tcp, "/feed/flood").await;
    let batch: Vec<u8> = (0..100).flat_map(|_| ping_frame()).collect();
    let (mut sent, mut closed) = (0, false);
    let deadline = Instant::now() + Duration::from_secs(15);
    // 200 000 pings (26 MB) at most: a relay that answers them all owes as
    // many pongs to a peer that reads nothing. Kernel buffers take the first
    // megabytes whatever the relay does, so write until the relay closes.
    while sent < 200_000 && Instant::now() < deadline {
        let write = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(&batch)).await;
        match write {
            Ok(Ok(())) => sent += 100,
            // Reset or broken pipe: the relay closed the connection.
            Ok(Err(_)) => {
                closed = true;
                break;
            }
            // Blocked: the relay is not reading now; keep trying.
            Err(_) => {}
        }
    }
    assert!(
        closed,
        "the relay kept the flooding socket ({sent} pings sent)"
    );
    assert!(sent < 200_000);
    eprintln!("ping flood: closed after {sent} pings written");
    assert_eq!(
        metric(&server, "chyron_refused_total", "reason=\"ping_flood\"").await,
        Some(1.0)
    );
    assert_eq!(metric(&server, "chyron_viewers", "").await, Some(0.0));
    healthy_within(&server, Duration::from_secs(2)).await;
    normal_viewer_gets_captions(&server, "flood").await;
}

/// Feeds of thousands of made-up channel names from one address: after the
/// per-address burst the relay refuses loads (429), so the channels in
/// memory stay bounded whatever the rate, while other addresses and channels
/// already loaded are served.
#[tokio::test]
async fn churn_of_made_up_channel_names_is_bounded() {
    let server = start(|c| {
        c.limits.channel_load_burst = 20;
        c.limits.channel_loads_per_minute = 1;
    })
    .await;
    let c = http();
    let mut refused = 0;
    for i in 0..2000 {
        // An HTTP GET with upgrade headers is enough to load a channel.
        let res = c
            .get(server.url(&format!("/feed/made-up-{i}")))
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            101 => {}
            429 => {
                assert!(res.headers().contains_key("retry-after"));
                assert_eq!(error_code(res, 429).await.0, "rate_limited");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(refused, 2000 - 20);
    let loaded = metric(&server, "chyron_channels_loaded", "").await.unwrap();
    assert!(loaded <= 21.0, "{loaded} channels loaded");
    assert_eq!(
        metric(
            &server,
            "chyron_rejected_connections_total",
            "channel_loads"
        )
        .await,
        Some(1980.0)
    );
    // A channel already in memory costs no load: the same address may watch it.
    let mut ws = server.feed("/feed/made-up-3").await;
    next_snapshot(&mut ws).await;
    healthy_within(&server, Duration::from_secs(2)).await;
    normal_viewer_gets_captions(&server, "demo").await;
}

/// Thousands of half-sent requests: those over the connection cap get a 503
/// JSON error at once, the rest are closed by the header timeout, and
/// `/healthz` answers again within a bound.
#[tokio::test]
async fn half_sent_requests_are_capped_and_timed_out() {
    let _ = chyron_relay::serve::raise_fd_limit();
    let server = start(|c| {
        c.limits.max_connections = 1000;
        c.limits.header_read_timeout_secs = 3;
    })
    .await;
    let mut held = Vec::new();
    for i in 0..1500 {
        let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        // Headers never finished; one in three sends nothing at all.
        if i % 3 != 0 {
            let _ = tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
        }
        held.push(tcp);
    }
    // Those over the cap were answered at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refused = 0;
    for tcp in held.iter_mut() {
        let mut buf = [0u8; 512];
        if let Ok(n) = tcp.try_read(&mut buf) {
            let answer = String::from_utf8_lossy(&buf[..n]);
            if answer.starts_with("HTTP/1.1 503") {
                assert!(answer.contains("\"code\":\"unavailable\""), "{answer}");
                refused += 1;
            }
        }
    }
    assert!(refused >= 490, "{refused} of 1500 refused");
    eprintln!("half-sent: {refused} of 1500 refused at once");
    // The header timeout (3 s) frees the slots: /healthz within a bound.
    let started = Instant::now();
    loop {
        let res = http().get(server.url("/healthz")).send().await;
        if res.as_ref().is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{res:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("half-sent: /healthz answered after {:?}", started.elapsed());
    let counted = metric(&server, "chyron_refused_total", "connection_cap").await;
    assert!(counted.unwrap_or(0.0) >= 490.0, "{counted:?}");
    // Every half-sent connection was closed by the relay.
    for tcp in held.iter_mut() {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(3), tcp.read_to_end(&mut rest));
        assert!(read.await.is_ok(), "a half-sent request is still open");
    }
    drop(held);
    let open = metric(&server, "chyron_connections", "").await.unwrap();
    assert!(open <= 5.0, "{open} connections open");
    // A keep-alive connection that goes quiet after a request is closed too;
    // a feed that stays quiet longer is not.
    let mut viewer = server.feed("/feed/quiet").await;
    next_snapshot(&mut viewer).await;
    let mut kept = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(6), kept.read_to_end(&mut answer));
    assert!(
        read.await.is_ok(),
        "an idle keep-alive connection stayed open"
    );
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    server.post("quiet", "Ann", "after a quiet while").await;
    assert!(matches!(
        next_frame(&mut viewer).await,
        chyron_protocol::ServerFrame::Message { seq: 1, .. }
    ));
    normal_viewer_gets_captions(&server, "demo").await;
}

/// Many sockets that never read, each asking for the largest snapshot: the
/// bytes one address can make the relay hold are bounded (the rest are
/// closed with 1013), appends go on, and another address is served.
#[tokio::test]
async fn big_snapshots_to_sockets_that_never_read_are_bounded() {
    const BUDGET: u32 = 2 * 1024 * 1024;
    let server = start(|c| {
        c.limits.max_unsent_bytes_per_ip = BUDGET;
        c.limits.rate_limit_burst = 1000;
        c.limits.rate_limit_per_second = 1000;
    })
    .await;
    let body = "é".repeat(2000);
    for _ in 0..200 {
        server.post("big", "Ann", &body).await;
    }
    let mut held = Vec::new();
    for _ in 0..30 {
        let mut tcp = tcp_from(&server, [127, 0, 0, 1], Some(4096)).await;
        raw_upgrade(&mut tcp, "/feed/big?limit=200").await;
        held.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let unsent = metric(&server, "chyron_unsent_bytes", "").await.unwrap();
    eprintln!("snapshots: {unsent} bytes unsent to 30 sockets that never read");
    // One snapshot is ~850 KB: the budget plus at most one frame.
    assert!(
        unsent <= f64::from(BUDGET) + 1_000_000.0,
        "{unsent} bytes unsent"
    );
    let closed = metric(&server, "chyron_refused_total", "unsent_bytes").await;
    eprintln!("{}", metrics_text(&server).await);
    assert!(closed.unwrap_or(0.0) >= 20.0, "{closed:?} feeds closed");
    // Appends are not held up by the snapshots.
    let started = Instant::now();
    server.post("big", "Bob", "not blocked").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    healthy_within(&server, Duration::from_secs(2)).await;
    normal_viewer_gets_captions(&server, "big").await;
    drop(held);
}

/// A flood of wrong-secret webhook posts and made-up media paths gets 429
/// after the per-address burst, before any database work, and a normal API
/// post is not slowed.
#[tokio::test]
async fn anonymous_floods_are_limited_per_address() {
    let server = start(|c| {
        c.limits.anonymous_rate_limit_burst = 10;
        c.limits.anonymous_rate_limit_per_second = 1;
    })
    .await;
    let c = http();
    let mut statuses = Vec::new();
    for i in 0..200 {
        let url = if i % 2 == 0 {
            server.url(&format!("/hooks/wh{i:016x}/wrong-secret"))
        } else {
            server.url(&format!("/media/demo/avatars/{i:016x}"))
        };
        let req = if i % 2 == 0 {
            c.post(url).json(&json!({"text": "x"}))
        } else {
            c.get(url)
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        if status == 429 {
            let secs: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&secs));
            assert_eq!(error_code(res, 429).await.0, "rate_limited");
        }
        statuses.push(status);
    }
    // The burst, then 429s (a request a second comes back meanwhile).
    assert!(statuses[..10].iter().all(|s| *s == 404), "{statuses:?}");
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited >= 180, "{statuses:?}");
    assert_eq!(
        metric(&server, "chyron_refused_total", "anonymous_rate").await,
        Some(limited as f64)
    );
    let started = Instant::now();
    server.post("demo", "Ann", "normal").await;
    assert!(started.elapsed() < Duration::from_secs(1));
    // Another address has its own quota.
    let mut tcp = tcp_from(&server, [127, 0, 0, 2], None).await;
    tcp.write_all(
        b"POST /hooks/wh0/wrong HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 12\r\nConnection: close\r\n\r\n{\"text\":\"x\"}",
    )
    .await
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}

/// A request whose body never finishes is answered `408` with the JSON error
/// once `request_timeout_secs` have passed, and its connection is freed.
#[tokio::test]
async fn a_slow_body_times_out_with_408() {
    let server = start(|c| c.limits.request_timeout_secs = 1).await;
    let mut tcp = tcp_from(&server, [127, 0, 0, 1], None).await;
    let head = format!(
        "POST /api/v1/channels/demo/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"sender\":"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .expect("no answer to a slow body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3));
    healthy_within(&server, Duration::from_secs(2)).await;
}
