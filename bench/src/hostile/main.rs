//! The relay under hostile clients: for a baseline and for each attack, a
//! fresh release relay (default limits, open-files soft limit as a service
//! manager would give it), one normal user on 127.0.0.1 (a viewer, a poster
//! at a steady rate, `/healthz` checks, new viewers joining), and the attack
//! from other loopback addresses, bounded in count and time. Records relay
//! RSS and open files before, at peak and after, and the normal user's
//! latencies; prints and saves JSON.
//!
//! `cargo run --release -p chyron-bench --bin chyron-bench-hostile -- --seconds 10`

mod attack_http;
mod attack_ws;
mod probes;

use attack_http::Flood;
use chyron_bench::{net, relay};
use clap::Parser;
use serde::Serialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Seconds each attack (and the baseline) runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds after an attack's sockets are closed before RSS is read again.
    #[arg(long, default_value_t = 3)]
    settle: u64,
    /// Messages per second the normal user posts.
    #[arg(long, default_value_t = 10)]
    rate: u32,
    /// Loopback addresses the attacker uses (127.0.0.2, …).
    #[arg(long, default_value_t = 8)]
    addresses: usize,
    /// Ping flood: sockets, and pings each.
    #[arg(long, default_value_t = 4)]
    ping_sockets: usize,
    #[arg(long, default_value_t = 200_000)]
    pings: usize,
    /// Channel churn: sockets opened and closed on new names, and at once.
    #[arg(long, default_value_t = 5000)]
    churn: usize,
    #[arg(long, default_value_t = 32)]
    churn_concurrency: usize,
    /// Slow requests: connections held half-sent (the attacker stays well
    /// under its 20,000 open files).
    #[arg(long, default_value_t = 6000)]
    slow: usize,
    /// Snapshot amplification: `?limit=200` sockets that never read.
    #[arg(long, default_value_t = 1000)]
    amplification: usize,
    /// Webhook and media floods: requests in flight.
    #[arg(long, default_value_t = 64)]
    flood_concurrency: usize,
    /// The relay's open-files soft limit at start.
    #[arg(long, default_value_t = 1024)]
    relay_nofile: u64,
    /// Only these phases (comma separated; baseline always runs).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The relay binary.
    #[arg(long, default_value = "target/release/chyron-relay")]
    relay: String,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench/out/hostile.json")]
    out: String,
    /// Which relay this is, for the report (e.g. a commit).
    #[arg(long)]
    label: Option<String>,
}

/// What every attack needs to know.
pub struct Attack {
    /// The relay's address.
    relay: SocketAddr,
    /// `127.0.0.1:PORT`, for Host headers and URLs.
    host: String,
    /// The channel the normal user is on.
    channel: String,
    /// How many attacker addresses to spread over.
    addresses: usize,
    /// When the attack stops.
    until: Instant,
}

/// One phase's figures.
#[derive(Serialize)]
struct Phase {
    /// `baseline` or the attack's name.
    name: String,
    /// What the attack did, in words.
    attack: String,
    /// Relay RSS (KiB) with the normal viewer connected, before the attack.
    rss_kib_before: u64,
    /// Highest relay RSS sampled (every 100 ms) during the attack and the
    /// probes' drain.
    rss_kib_peak: u64,
    /// Relay RSS after the attack's sockets closed and `settle` seconds.
    rss_kib_after: u64,
    /// Relay open files at the same three moments.
    fds_before: u64,
    fds_peak: u64,
    fds_after: u64,
    /// The relay's open-files soft limit after it started.
    relay_nofile_soft: Option<u64>,
    /// Whether the relay process was still running at the end.
    relay_alive: bool,
    /// What the normal user saw during the attack.
    #[serde(flatten)]
    probes: probes::Probes,
    /// The attack's own counts (opened, refused, statuses, …).
    counts: Value,
}

const TOKEN: &str = "bench-token";
const CHANNEL: &str = "bench";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let nofile = net::raise_nofile();
    let phases = [
        "baseline",
        "ping-flood",
        "channel-churn",
        "slow-requests",
        "snapshot-amplification",
        "webhook-flood",
        "media-flood",
    ];
    let mut report = Vec::new();
    for name in phases {
        if name != "baseline" && !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        eprintln!("[hostile] {name}");
        let phase = run_phase(&args, name).await?;
        eprintln!(
            "[hostile] {name}: RSS {} → {} → {} KiB, healthz p99 {} ms ({} failed), caption p99 {} ms ({} lost)",
            phase.rss_kib_before, phase.rss_kib_peak, phase.rss_kib_after,
            phase.probes.healthz.p99_ms, phase.probes.healthz.failed,
            phase.probes.caption.p99_ms, phase.probes.caption.failed,
        );
        report.push(phase);
    }
    let json = serde_json::to_string_pretty(&json!({
        "label": args.label,
        "seconds": args.seconds,
        "settle_seconds": args.settle,
        "rate_per_s": args.rate,
        "attacker_addresses": args.addresses,
        "bench_nofile": nofile,
        "relay_nofile_at_start": args.relay_nofile,
        "phases": report,
    }))?;
    println!("{json}");
    if let Some(dir) = std::path::Path::new(&args.out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, json)?;
    Ok(())
}

/// Starts a relay, prepares it for `name`, runs the attack beside the probes.
async fn run_phase(args: &Args, name: &str) -> Result<Phase, Box<dyn std::error::Error>> {
    let options = relay::Options {
        nofile_soft: Some(args.relay_nofile),
        // The poster's token may post fast (the set-up posts 200 messages);
        // every limit an attacker meets stays at its default.
        extra: [
            "--rate-limit-per-second",
            "1000",
            "--rate-limit-burst",
            "1000",
        ]
        .map(String::from)
        .to_vec(),
        quiet: true,
        ..relay::Options::default()
    };
    let mut relay = relay::Relay::start_with(&args.relay, TOKEN, options).await?;
    let host = relay.url.trim_start_matches("http://").to_string();
    let target = probes::Target {
        url: relay.url.clone(),
        channel: CHANNEL.into(),
        token: TOKEN.into(),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let hook_id = prepare(&http, &target, name).await?;
    let viewer = probes::open_viewer(&target).await?;
    let poster = probes::open_poster(&target).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_before, fds_before) = (relay.rss_kib(), relay.open_fds());
    let relay_nofile_soft = relay.nofile_soft();

    let until = Instant::now() + Duration::from_secs(args.seconds);
    let attack = Arc::new(Attack {
        relay: host.parse()?,
        host: host.clone(),
        channel: CHANNEL.into(),
        addresses: args.addresses.max(1),
        until,
    });
    let drain = Duration::from_secs(3);
    let probes = tokio::spawn(probes::run(
        target,
        (viewer, poster),
        args.rate,
        until,
        drain,
    ));
    let peak = Arc::new(std::sync::Mutex::new((rss_before, fds_before)));
    let sampler = {
        let (pid, peak) = (relay.pid(), peak.clone());
        tokio::spawn(async move {
            while let Some(pid) = pid {
                let (rss, fds) = (relay::rss_kib(pid), relay::open_fds(pid));
                {
                    let mut p = peak.lock().expect("peak");
                    *p = (p.0.max(rss), p.1.max(fds));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let (what, counts) = run_attack(args, name, attack, hook_id).await;
    let probes = probes.await?;
    sampler.abort();
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let (rss_peak, fds_peak) = *peak.lock().expect("peak");
    Ok(Phase {
        name: name.into(),
        attack: what,
        rss_kib_before: rss_before,
        rss_kib_peak: rss_peak,
        rss_kib_after: relay.rss_kib(),
        fds_before,
        fds_peak,
        fds_after: relay.open_fds(),
        relay_nofile_soft,
        relay_alive: relay.alive(),
        probes,
        counts,
    })
}

/// Set-up an attack needs: 200 long messages for amplification, a real
/// webhook (whose secret the flood does not know) for the webhook flood.
async fn prepare(
    http: &reqwest::Client,
    target: &probes::Target,
    name: &str,
) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let api = format!("{}/api/v1/channels/{}", target.url, target.channel);
    let post = |body: String| {
        http.post(format!("{api}/messages"))
            .bearer_auth(&target.token)
            .json(&json!({"sender": "setup", "body": body}))
            .send()
    };
    post("warm-up".into()).await?.error_for_status()?;
    match name {
        "snapshot-amplification" => {
            for i in 0..200 {
                let long = format!("long message {i} ").repeat(200);
                let body: String = long
                    .chars()
                    .take(chyron_protocol::limits::MAX_BODY_CHARS)
                    .collect();
                post(body).await?.error_for_status()?;
            }
            Ok(None)
        }
        "webhook-flood" => {
            let made: Value = http
                .post(format!("{api}/webhooks"))
                .bearer_auth(&target.token)
                .json(&json!({"name": "real hook"}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok(made["id"].as_str().map(String::from))
        }
        _ => Ok(None),
    }
}

/// Runs `name`'s attack until its deadline: a description and its counts.
async fn run_attack(
    args: &Args,
    name: &str,
    a: Arc<Attack>,
    hook: Option<String>,
) -> (String, Value) {
    let n = args.addresses.max(1);
    match name {
        "ping-flood" => (
            format!("{} sockets × up to {} pings (125 B), never reading", args.ping_sockets, args.pings),
            attack_ws::ping_flood(a, args.ping_sockets, args.pings).await,
        ),
        "channel-churn" => (
            format!("up to {} feed sockets on new names, {} at a time, from {n} addresses", args.churn, args.churn_concurrency),
            attack_ws::churn(a, args.churn, args.churn_concurrency).await,
        ),
        "slow-requests" => (
            format!("up to {} half-sent requests, a byte a second, from {n} addresses", args.slow),
            attack_http::slow_requests(a, args.slow, 256).await,
        ),
        "snapshot-amplification" => (
            format!("up to {} `?limit=200` sockets (200 × 2,000-char messages), never reading, from {n} addresses", args.amplification),
            attack_ws::amplification(a, args.amplification, 32).await,
        ),
        "webhook-flood" => (
            format!("{} requests in flight: POST /hooks/{{id}}/{{wrong secret}}, from {n} addresses", args.flood_concurrency),
            attack_http::http_flood(a, Flood::Hooks { id: hook.unwrap_or_default() }, args.flood_concurrency).await,
        ),
        "media-flood" => (
            format!("{} requests in flight: GET unknown /media/… thumbnails and avatars, from {n} addresses", args.flood_concurrency),
            attack_http::http_flood(a, Flood::Media, args.flood_concurrency).await,
        ),
        _ => {
            tokio::time::sleep_until(a.until.into()).await;
            ("no attack".into(), json!({}))
        }
    }
}
