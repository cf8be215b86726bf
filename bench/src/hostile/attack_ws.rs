//! Attacks on the feed's websocket: a ping flood from sockets that never
//! read, churn of made-up channel names, and snapshot amplification (many
//! `?limit=200` sockets that never read). Each stops by itself at the attack's
//! deadline, and closes every socket it opened when it returns.

use super::Attack;
use chyron_bench::net::{attacker_addr, client_frame, connect_from, ws_upgrade, Upgrade, PING};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout};

/// Receive buffer of sockets that never read: small, so what they are sent
/// piles up in the relay rather than in this process's kernel buffers.
const TINY_RCVBUF: u32 = 4096;

/// Counts of how websocket upgrades went.
#[derive(Default)]
struct Upgrades {
    /// Sockets that became websockets.
    opened: AtomicUsize,
    /// Upgrades answered with another status (the relay refusing).
    refused: AtomicUsize,
    /// Connects or upgrades that failed or timed out.
    failed: AtomicUsize,
}

impl Upgrades {
    /// Connects from attacker address `n` and upgrades `path`; the socket if
    /// it is a websocket now.
    async fn open(
        &self,
        a: &Attack,
        n: usize,
        path: &str,
        rcvbuf: Option<u32>,
    ) -> Option<TcpStream> {
        let src = attacker_addr(n % a.addresses);
        let result = match connect_from(src, a.relay, rcvbuf).await {
            Ok(mut s) => ws_upgrade(&mut s, &a.host, path).await.map(|u| (s, u)),
            Err(e) => Err(e),
        };
        match result {
            Ok((s, Upgrade::Opened)) => {
                self.opened.fetch_add(1, Ordering::Relaxed);
                Some(s)
            }
            Ok((_, Upgrade::Refused(_))) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn json(&self) -> Value {
        json!({
            "opened": self.opened.load(Ordering::Relaxed),
            "refused": self.refused.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
        })
    }
}

/// `sockets` websockets each send up to `pings` pings (125-byte payloads) as
/// fast as the relay takes them and never read a pong; then hold the socket
/// until the deadline, writing one ping a second to see whether it is closed.
pub async fn ping_flood(a: Arc<Attack>, sockets: usize, pings: usize) -> Value {
    let upgrades = Arc::new(Upgrades::default());
    let sent = Arc::new(AtomicUsize::new(0));
    let (closed, stalled) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut tasks = Vec::new();
    for n in 0..sockets {
        let (a, upgrades, sent) = (a.clone(), upgrades.clone(), sent.clone());
        let (closed, stalled) = (closed.clone(), stalled.clone());
        tasks.push(tokio::spawn(async move {
            let path = format!("/feed/{}?limit=1", a.channel);
            let Some(mut s) = upgrades.open(&a, n, &path, Some(TINY_RCVBUF)).await else {
                return;
            };
            let one = client_frame(PING, &[b'p'; 125]);
            let chunk = one.repeat(64);
            let mut mine = 0;
            let (mut open, mut writable) = (true, true);
            while mine < pings && Instant::now() < a.until {
                match timeout(Duration::from_secs(1), s.write_all(&chunk)).await {
                    Ok(Ok(())) => mine += 64,
                    Ok(Err(_)) => open = false,
                    // The relay stopped reading: a partial frame may be out,
                    // so write nothing more but keep the socket.
                    Err(_) => writable = false,
                }
                if !open || !writable {
                    break;
                }
            }
            sent.fetch_add(mine, Ordering::Relaxed);
            if !writable {
                stalled.fetch_add(1, Ordering::Relaxed);
            }
            // Hold it, one ping a second to see whether the relay closed it.
            while open && writable && Instant::now() < a.until {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match timeout(Duration::from_secs(1), s.write_all(&one)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => open = false,
                    Err(_) => writable = false,
                }
            }
            sleep_until(a.until.into()).await;
            if !open {
                closed.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut out = upgrades.json();
    out["pings_sent"] = json!(sent.load(Ordering::Relaxed));
    out["stalled_by_relay"] = json!(stalled.load(Ordering::Relaxed));
    out["closed_by_relay"] = json!(closed.load(Ordering::Relaxed));
    out
}

/// Up to `total` feed sockets, `concurrency` at a time, each on a channel
/// name never used before: open (the upgrade's answer read), then closed.
pub async fn churn(a: Arc<Attack>, total: usize, concurrency: usize) -> Value {
    let upgrades = Arc::new(Upgrades::default());
    let next = Arc::new(AtomicUsize::new(0));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let nonce = format!("{:x}", now.map_or(0, |d| d.as_micros()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (a, upgrades, next, nonce) = (a.clone(), upgrades.clone(), next.clone(), nonce.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || Instant::now() >= a.until {
                    break;
                }
                let path = format!("/feed/made-up-{nonce}-{i}?limit=1");
                drop(upgrades.open(&a, i, &path, None).await);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut out = upgrades.json();
    let attempted = next.load(Ordering::Relaxed).min(total);
    out["attempted"] = json!(attempted);
    out["per_s"] = json!((attempted as f64 / start.elapsed().as_secs_f64()).round());
    out
}

/// `sockets` feed sockets asking for a 200-message snapshot of the attacked
/// channel (200 long messages in it), opened `concurrency` at a time, that
/// never read past the upgrade; held until the deadline.
pub async fn amplification(a: Arc<Attack>, sockets: usize, concurrency: usize) -> Value {
    let upgrades = Arc::new(Upgrades::default());
    let next = Arc::new(AtomicUsize::new(0));
    let held = Arc::new(tokio::sync::Mutex::new(Vec::with_capacity(sockets)));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (a, upgrades, next, held) = (a.clone(), upgrades.clone(), next.clone(), held.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= sockets || Instant::now() >= a.until {
                    break;
                }
                let path = format!("/feed/{}?limit=200", a.channel);
                if let Some(s) = upgrades.open(&a, i, &path, Some(TINY_RCVBUF)).await {
                    held.lock().await.push(s);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    sleep_until(a.until.into()).await;
    drop(held);
    upgrades.json()
}
