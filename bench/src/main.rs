//! Fan-out benchmark: N websocket viewers on loopback, messages posted
//! through the HTTP API at a fixed rate; prints and saves deliveries/s,
//! post → frame latency percentiles, resident memory per viewer and CPU.
//! The same client measures the relay (`--server relay`) or the Node.js
//! `ws` baseline (`--server node`, `bench/ws-baseline/server.mjs`).
//!
//! `cargo run --release -p chyron-bench -- --viewers 1000 --rate 50 --seconds 10`

use chyron_bench::relay::{self, Relay, Server};
use chyron_bench::viewers::{percentile_ms, watch, PostTimes};
use clap::Parser;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

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
    /// Which server to measure.
    #[arg(long, value_enum, default_value_t = Server::Relay)]
    server: Server,
    /// The relay binary.
    #[arg(long, default_value = "target/release/chyron-relay")]
    relay: String,
    /// The baseline's script (its `node_modules` installed with `npm ci`).
    #[arg(long, default_value = "bench/ws-baseline/server.mjs")]
    node_script: String,
    /// The Node.js binary.
    #[arg(long, default_value = "node")]
    node: String,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench/out/fanout.json")]
    out: String,
}

#[derive(Serialize)]
struct Report {
    server: Server,
    viewers: usize,
    messages: usize,
    rate_per_s: u32,
    deliveries: u64,
    expected_deliveries: u64,
    lost: u64,
    deliveries_per_s: f64,
    latency_ms_p50: f64,
    latency_ms_p99: f64,
    latency_ms_max: f64,
    lagged_resyncs: u64,
    rss_kib_idle: u64,
    rss_kib_connected: u64,
    rss_kib_peak: u64,
    rss_kib_per_viewer: f64,
    /// Server CPU from the first post to the last delivery, % of one core.
    cpu_server_pct: f64,
    /// The benchmark's own CPU over the same time, % of one core.
    cpu_client_pct: f64,
    connect_seconds: f64,
}

const TOKEN: &str = "bench-token";
/// Each viewer's websocket read buffer: a few frames.
const CLIENT_READ_BUFFER_BYTES: usize = 4 * 1024;
const CHANNEL: &str = "bench";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let server = match args.server {
        Server::Relay => Relay::start(&args.relay, TOKEN, &[]).await?,
        Server::Node => Relay::start_node(&args.node, &args.node_script, TOKEN).await?,
    };
    let report = run(&args, &server).await?;
    chyron_bench::save_report(&args.out, &report)?;
    Ok(())
}

async fn run(args: &Args, server: &Relay) -> Result<Report, Box<dyn std::error::Error>> {
    let http = reqwest::Client::new();
    let post_url = format!("{}/api/v1/channels/{CHANNEL}/messages", server.url);
    post(&http, &post_url, "warm-up").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = server.rss_kib();

    let messages = (args.rate * args.seconds) as usize;
    let start = Instant::now();
    let sent: PostTimes = Arc::new((0..messages).map(|_| AtomicU64::new(0)).collect());
    let ws_url = format!(
        "{}/feed/{CHANNEL}?limit=1",
        server.url.replacen("http", "ws", 1)
    );
    // tungstenite zero-fills its whole read buffer (128 KiB by default)
    // before every read: that was half the client's CPU, taken from the
    // server under test on two cores.
    let client = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER_BYTES);
    let connect_start = Instant::now();
    let mut viewers = Vec::with_capacity(args.viewers);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.viewers);
    for _ in 0..args.viewers {
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(&ws_url, Some(client), true).await?;
        let (sent, ready) = (sent.clone(), ready_tx.clone());
        let quiet = Duration::from_secs(30);
        viewers.push(tokio::spawn(watch(ws, sent, start, ready, quiet)));
    }
    for _ in 0..args.viewers {
        ready_rx.recv().await;
    }
    let connect_seconds = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = server.rss_kib();

    let pid = server.pid().unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(rss_connected));
    let sampler = tokio::spawn(sample_rss(pid, peak.clone()));
    let (cpu_server, cpu_client) = (server.cpu(), relay::cpu_time(std::process::id()));
    let posting = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for (i, at) in sent.iter().enumerate() {
        tick.tick().await;
        at.store(start.elapsed().as_micros() as u64, Ordering::SeqCst);
        let (http, url) = (http.clone(), post_url.clone());
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
    let busy = posting.elapsed().as_secs_f64();
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / busy;
    let cpu_server_pct = pct(server.cpu().saturating_sub(cpu_server));
    let cpu_client_pct = pct(relay::cpu_time(std::process::id()).saturating_sub(cpu_client));
    sampler.abort();
    let wall = start.elapsed().max(post_end);
    all.sort_unstable();
    let expected = (messages * args.viewers) as u64;
    Ok(Report {
        server: args.server,
        viewers: args.viewers,
        messages,
        rate_per_s: args.rate,
        deliveries: all.len() as u64,
        expected_deliveries: expected,
        lost: expected.saturating_sub(all.len() as u64),
        deliveries_per_s: all.len() as f64 / wall.as_secs_f64(),
        latency_ms_p50: percentile_ms(&all, 0.50),
        latency_ms_p99: percentile_ms(&all, 0.99),
        latency_ms_max: percentile_ms(&all, 1.0),
        lagged_resyncs: lagged,
        rss_kib_idle: rss_idle,
        rss_kib_connected: rss_connected,
        rss_kib_peak: peak.load(Ordering::Relaxed),
        rss_kib_per_viewer: rss_connected.saturating_sub(rss_idle) as f64 / args.viewers as f64,
        cpu_server_pct,
        cpu_client_pct,
        connect_seconds,
    })
}

/// Keeps the highest RSS of process `pid` in `peak`, sampled every 100 ms.
async fn sample_rss(pid: u32, peak: Arc<AtomicU64>) {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    loop {
        every.tick().await;
        peak.fetch_max(relay::rss_kib(pid), Ordering::Relaxed);
    }
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
