//! Attacks on plain HTTP: slow, half-sent requests that hold connections
//! open, and floods of anonymous requests that make the relay look things up
//! (webhooks with a wrong secret, unknown media). Each stops by itself at the
//! attack's deadline and closes every connection it opened.

use super::Attack;
use chyron_bench::net::{attacker_addr, connect_from};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Up to `sockets` connections (opened `concurrency` at a time) that each
/// send a request line and one header, then one more byte a second, never
/// finishing the head. Counts how many the relay closed or answered.
pub async fn slow_requests(a: Arc<Attack>, sockets: usize, concurrency: usize) -> Value {
    let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let (next, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (a, held, next, failed) = (a.clone(), held.clone(), next.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= sockets || Instant::now() >= a.until {
                    break;
                }
                let head = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Slow: ", a.host);
                let opened = match connect_from(attacker_addr(i % a.addresses), a.relay, None).await
                {
                    Ok(mut s) => {
                        match timeout(Duration::from_secs(1), s.write_all(head.as_bytes())).await {
                            Ok(Ok(())) => Some(s),
                            _ => None,
                        }
                    }
                    Err(_) => None,
                };
                match opened {
                    Some(s) => held.lock().expect("held").push(s),
                    None => _ = failed.fetch_add(1, Ordering::Relaxed),
                }
            }
        }));
    }
    // Meanwhile, and until the deadline: one byte a second on each.
    let (mut closed, mut answered, mut most_held) = (0, 0, 0);
    while Instant::now() < a.until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut held = held.lock().expect("held");
        held.retain(|s| {
            let mut buf = [0u8; 64];
            match s.try_read(&mut buf) {
                Ok(0) => {
                    closed += 1;
                    return false;
                }
                Ok(_) => {
                    answered += 1;
                    return false;
                }
                Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => {
                    closed += 1;
                    return false;
                }
                Err(_) => {}
            }
            match s.try_write(b"a") {
                Ok(_) => true,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
                Err(_) => {
                    closed += 1;
                    false
                }
            }
        });
        most_held = most_held.max(held.len());
    }
    for t in tasks {
        let _ = t.await;
    }
    let attempted = next.load(Ordering::Relaxed).min(sockets);
    let failed = failed.load(Ordering::Relaxed);
    held.lock().expect("held").clear();
    json!({
        "attempted": attempted,
        "opened": attempted - failed,
        "failed": failed,
        "most_held_open": most_held,
        "closed_by_relay": closed,
        "answered_by_relay": answered,
    })
}

/// What an HTTP flood sends.
#[derive(Clone)]
pub enum Flood {
    /// `POST /hooks/{id}/{wrong secret}` for a webhook that exists.
    Hooks {
        /// The real webhook's id.
        id: String,
    },
    /// `GET` of unknown attachment thumbnails and avatars.
    Media,
}

/// `concurrency` loops (spread over the attacker addresses, keep-alive)
/// sending `flood` requests until the deadline; counts answers by status.
pub async fn http_flood(a: Arc<Attack>, flood: Flood, concurrency: usize) -> Value {
    let statuses: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let http = reqwest::Client::builder()
            .local_address(attacker_addr(w % a.addresses))
            .timeout(Duration::from_secs(2))
            .build()
            .expect("http client");
        let (a, flood, statuses, next) = (a.clone(), flood.clone(), statuses.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < a.until {
                let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                let made_up = format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let base = format!("http://{}", a.host);
                let request = match &flood {
                    Flood::Hooks { id } => http
                        .post(format!(
                            "{base}/hooks/{id}/{made_up}{made_up}{made_up}{made_up}"
                        ))
                        .json(&json!({"body": "spam"})),
                    Flood::Media if i.is_multiple_of(2) => {
                        http.get(format!("{base}/media/{}/{made_up}/thumbnail", a.channel))
                    }
                    Flood::Media => {
                        http.get(format!("{base}/media/{}/avatars/{made_up}", a.channel))
                    }
                };
                let key = match request.send().await {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(e) if e.is_timeout() => "timeout".to_string(),
                    Err(_) => "error".to_string(),
                };
                *statuses.lock().expect("statuses").entry(key).or_default() += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let statuses = statuses.lock().expect("statuses").clone();
    let total: usize = statuses.values().sum();
    json!({
        "requests": total,
        "per_s": (total as f64 / start.elapsed().as_secs_f64()).round(),
        "statuses": statuses,
    })
}
