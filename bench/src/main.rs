//! Relay fan-out benchmark: N websocket viewers on loopback, messages posted
//! through the HTTP API at a fixed rate; prints and saves deliveries/s,
//! post → frame latency percentiles and resident memory per viewer.
//!
//! `cargo run --release -p chyron-bench -- --viewers 1000 --rate 50 --seconds 10`

use chyron_bench::relay;
use chyron_protocol::ServerFrame;
use clap::Parser;
use futures_util::StreamExt;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[derive(Parser)]
struct Args {
    /// Websocket viewers to connect.
    #[arg(long, default_value_t = 1000)]
    viewers: usize,
    /// Messages posted per second.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Seconds to post for.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// The relay binary.
    #[arg(long, default_value = "target/release/chyron-relay")]
    relay: String,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench/out/fanout.json")]
    out: String,
}

#[derive(Serialize)]
struct Report {
    viewers: usize,
    messages: usize,
    rate_per_s: u32,
    deliveries: u64,
    expected_deliveries: u64,
    deliveries_per_s: f64,
    latency_ms_p50: f64,
    latency_ms_p99: f64,
    latency_ms_max: f64,
    lagged_resyncs: u64,
    rss_kib_idle: u64,
    rss_kib_connected: u64,
    rss_kib_per_viewer: f64,
    connect_seconds: f64,
}

const TOKEN: &str = "bench-token";
const CHANNEL: &str = "bench";

/// What one viewer saw: latencies of the bench's messages, in microseconds.
#[derive(Default)]
struct Seen {
    latencies_us: Vec<u32>,
    lagged: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let relay = relay::Relay::start(&args.relay, TOKEN, &[]).await?;
    let http = reqwest::Client::new();
    let post_url = format!("{}/api/v1/channels/{CHANNEL}/messages", relay.url);
    post(&http, &post_url, "warm-up").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = relay.rss_kib();

    let messages = (args.rate * args.seconds) as usize;
    let start = Instant::now();
    // Post times, in µs since `start`, indexed by message number.
    let sent: Arc<Vec<std::sync::atomic::AtomicU64>> = Arc::new(
        (0..messages)
            .map(|_| std::sync::atomic::AtomicU64::new(0))
            .collect(),
    );

    let ws_url = format!(
        "{}/feed/{CHANNEL}?limit=1",
        relay.url.replacen("http", "ws", 1)
    );
    let connect_start = Instant::now();
    let mut viewers = Vec::with_capacity(args.viewers);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.viewers);
    for _ in 0..args.viewers {
        let (ws, _) = tokio_tungstenite::connect_async(&ws_url).await?;
        let sent = sent.clone();
        let ready = ready_tx.clone();
        viewers.push(tokio::spawn(watch(ws, sent, start, messages, ready)));
    }
    for _ in 0..args.viewers {
        ready_rx.recv().await;
    }
    let connect_seconds = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = relay.rss_kib();

    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for i in 0..messages {
        tick.tick().await;
        sent[i].store(
            start.elapsed().as_micros() as u64,
            std::sync::atomic::Ordering::SeqCst,
        );
        let http = http.clone();
        let url = post_url.clone();
        tokio::spawn(async move { post(&http, &url, &format!("bench {i}")).await });
    }
    let post_end = start.elapsed();

    let mut all = Vec::new();
    let mut lagged = 0;
    for v in viewers {
        let seen = v.await?;
        lagged += seen.lagged;
        all.extend(seen.latencies_us);
    }
    let wall = start.elapsed().max(post_end);
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        f64::from(all[i]) / 1000.0
    };
    let report = Report {
        viewers: args.viewers,
        messages,
        rate_per_s: args.rate,
        deliveries: all.len() as u64,
        expected_deliveries: (messages * args.viewers) as u64,
        deliveries_per_s: all.len() as f64 / wall.as_secs_f64(),
        latency_ms_p50: pct(0.50),
        latency_ms_p99: pct(0.99),
        latency_ms_max: pct(1.0),
        lagged_resyncs: lagged,
        rss_kib_idle: rss_idle,
        rss_kib_connected: rss_connected,
        rss_kib_per_viewer: rss_connected.saturating_sub(rss_idle) as f64 / args.viewers as f64,
        connect_seconds,
    };
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(dir) = std::path::Path::new(&args.out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, json)?;
    Ok(())
}

async fn post(http: &reqwest::Client, url: &str, body: &str) -> Result<(), reqwest::Error> {
    http.post(url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"sender": "bench", "body": body}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// The message number in a `message` frame posted by this benchmark.
fn bench_index(frame: &str) -> Option<usize> {
    if !frame.starts_with(r#"{"type":"message""#) {
        return None;
    }
    let rest = &frame[frame.find(r#""body":"bench "#)? + r#""body":"bench "#.len()..];
    rest[..rest.find('"')?].parse().ok()
}

/// Reads one viewer's feed until it saw every bench message (or 30 s of quiet).
async fn watch<S>(
    mut ws: S,
    sent: Arc<Vec<std::sync::atomic::AtomicU64>>,
    start: Instant,
    messages: usize,
    ready: tokio::sync::mpsc::Sender<()>,
) -> Seen
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    let mut seen = Seen::default();
    let mut ready = Some(ready);
    let mut got = 0;
    while got < messages {
        let frame = match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            _ => break,
        };
        let now = start.elapsed().as_micros() as u64;
        // The client must stay cheap beside the relay on two cores: message
        // frames are recognised by their body's marker, not fully parsed.
        if let Some(i) = bench_index(&frame) {
            let at = sent[i].load(std::sync::atomic::Ordering::SeqCst);
            seen.latencies_us
                .push(now.saturating_sub(at).min(u64::from(u32::MAX)) as u32);
            got += 1;
            if i + 1 == messages {
                break; // the last one: anything missing was lost to a resync
            }
        } else if let Ok(ServerFrame::Snapshot(s)) = serde_json::from_str::<ServerFrame>(&frame) {
            if let Some(r) = ready.take() {
                let _ = r.send(()).await;
            }
            if s.reason == chyron_protocol::SnapshotReason::Lagged {
                seen.lagged += 1;
            }
        }
    }
    seen
}
