//! Moderation benchmark: a release relay (`moderation_notices = true` for the
//! channel), N overlay viewers on its feed, M lines posted through the API by
//! different senders, then K moderation actions through the API token,
//! spaced apart: a delete (→ `delete` frame), a timeout (→ the relay's notice
//! line) and a ban (→ `clear` frame), in turn. Times each action from its
//! request's start to the frame at every viewer; prints and saves p50 / p99 /
//! max per kind and overall, deliveries made of those expected, and relay RSS
//! per viewer. Stops by itself within `--deadline` seconds and ends only the
//! relay it started (its child, by PID).
//!
//! `cargo run --release -p chyron-bench --bin chyron-bench-moderation -- --viewers 1000`
//! `… -- --smoke` (20 viewers, 6 actions, a few seconds; exits 1 unless
//! every frame reached every viewer)

mod figures;
mod plan;
mod watch;

use chyron_bench::relay::{Options, Relay};
use clap::Parser;
use figures::{figures, Answer, Figures};
use plan::{Action, Kind, Targets};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use watch::SentTimes;

#[derive(Parser)]
struct Args {
    /// Overlay viewers on the feed.
    #[arg(long, default_value_t = 1000)]
    viewers: usize,
    /// Lines posted before the actions (at least one per action).
    #[arg(long, default_value_t = 200)]
    lines: usize,
    /// Moderation actions (delete, timeout, ban in turn).
    #[arg(long, default_value_t = 100)]
    actions: usize,
    /// Milliseconds between action requests.
    #[arg(long, default_value_t = 100)]
    spacing_ms: u64,
    /// Seconds the viewers wait for missing frames after the last action.
    #[arg(long, default_value_t = 5)]
    drain: u64,
    /// The whole run ends (the relay stopped) after this many seconds.
    #[arg(long, default_value_t = 60)]
    deadline: u64,
    /// A few-second check: 20 viewers, 20 lines, 6 actions 20 ms apart;
    /// exits 1 unless every action reached every viewer.
    #[arg(long)]
    smoke: bool,
    /// The relay binary.
    #[arg(long, default_value = "target/release/chyron-relay")]
    relay: String,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench/out/moderation.json")]
    out: String,
}

/// What the run measured (bench/out/moderation.json).
#[derive(Serialize)]
struct Report {
    /// Overlay viewers connected.
    viewers: usize,
    /// Lines posted before the actions.
    lines: usize,
    /// Moderation actions performed.
    actions: usize,
    /// Milliseconds between action requests.
    spacing_ms: u64,
    /// Per kind (`delete`, `timeout`, `ban`) and `all`.
    figures: BTreeMap<String, Figures>,
    /// Every action answered 200 and its frame reached every viewer.
    all_delivered: bool,
    /// The goal: p99 over all (action, viewer) pairs ≤ 1 s.
    goal_p99_ms: f64,
    /// Whether it was met (with every frame delivered).
    p99_within_goal: bool,
    /// Action frames a viewer got twice (should be 0).
    repeats: u64,
    /// `lagged` snapshots: viewers the relay resynced (frames skipped).
    lagged_resyncs: u64,
    /// Relay VmRSS after the lines, before the viewers.
    rss_kib_idle: u64,
    /// … with the viewers connected.
    rss_kib_connected: u64,
    /// … after the actions.
    rss_kib_after: u64,
    /// (connected − idle) ÷ viewers.
    rss_kib_per_viewer: f64,
    /// Relay CPU from the first action to the last delivery, % of one core.
    cpu_server_pct: f64,
    /// Seconds until every viewer had its snapshot.
    connect_seconds: f64,
    /// The machine's cores (other work shares them).
    cores: usize,
    /// The 1-minute load average at the end.
    load_1min: f64,
}

const TOKEN: &str = "bench-token";
const CHANNEL: &str = "bench";
const GOAL_P99_MS: f64 = 1000.0;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = Args::parse();
    if args.smoke {
        (args.viewers, args.lines, args.actions, args.spacing_ms) = (20, 20, 6, 20);
    }
    if args.actions == 0 || args.lines < args.actions {
        return Err("need at least one action and a line per action".into());
    }
    chyron_bench::net::raise_nofile();
    let config = std::env::temp_dir().join(format!("chyron-bench-mod-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!("[channels.{CHANNEL}]\nmoderation_notices = true\n"),
    )?;
    let options = Options {
        loosen_limits: true,
        die_with_parent: true,
        extra: vec!["--config".into(), config.display().to_string()],
        ..Options::default()
    };
    let started = Relay::start_with(&args.relay, TOKEN, options).await;
    let _ = std::fs::remove_file(&config);
    let server = started?;
    let deadline = Duration::from_secs(args.deadline);
    let report = match tokio::time::timeout(deadline, run(&args, &server)).await {
        Ok(r) => r?,
        Err(_) => return Err(format!("not done within {} s", args.deadline).into()),
    };
    drop(server); // ends the relay (its child process) before the report
    chyron_bench::save_report(&args.out, &report)?;
    if args.smoke && !report.all_delivered {
        eprintln!("smoke: some action did not reach every viewer");
        std::process::exit(1);
    }
    Ok(())
}

async fn run(args: &Args, server: &Relay) -> Result<Report, Box<dyn std::error::Error>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let line_ids = post_lines(&http, &server.url, args).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = server.rss_kib();

    let actions = plan::plan(args.actions, &line_ids);
    let targets = Arc::new(Targets::new(&actions));
    let sent: SentTimes = Arc::new((0..actions.len()).map(|_| AtomicU64::new(0)).collect());
    let start = Instant::now();
    let ws_url = format!(
        "{}/feed/{CHANNEL}?limit=1",
        server.url.replacen("http", "ws", 1)
    );
    // A small read buffer, as in the fan-out benchmark: tungstenite zero-fills
    // it before each read, CPU taken from the relay on two cores.
    let client = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.viewers);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut viewers = Vec::with_capacity(args.viewers);
    for _ in 0..args.viewers {
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(&ws_url, Some(client), true).await?;
        let (t, s, r, stop) = (
            targets.clone(),
            sent.clone(),
            ready_tx.clone(),
            stop_rx.clone(),
        );
        viewers.push(tokio::spawn(watch::watch(ws, t, s, start, r, stop)));
    }
    for _ in 0..args.viewers {
        ready_rx.recv().await;
    }
    let connect_seconds = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = server.rss_kib();

    let cpu_before = server.cpu();
    let acting = Instant::now();
    let answers = act(&http, &server.url, &actions, &sent, start, args.spacing_ms).await;
    // Viewers stop when they saw every action; the slow ones after `drain`.
    let drain = Duration::from_secs(args.drain);
    tokio::spawn(async move {
        tokio::time::sleep(drain).await;
        let _ = stop_tx.send(true);
    });
    let (mut deliveries, mut repeats, mut lagged) = (Vec::new(), 0, 0);
    for v in viewers {
        let seen = v.await?;
        deliveries.extend(seen.deliveries);
        repeats += seen.repeats;
        lagged += seen.lagged;
    }
    let busy = acting.elapsed().as_secs_f64();
    let cpu_server_pct = 100.0 * server.cpu().saturating_sub(cpu_before).as_secs_f64() / busy;

    let mut by_kind = BTreeMap::new();
    for kind in Kind::ALL {
        let f = figures(Some(kind), &answers, &deliveries, args.viewers);
        by_kind.insert(format!("{kind:?}").to_lowercase(), f);
    }
    let all = figures(None, &answers, &deliveries, args.viewers);
    let (all_delivered, p99) = (
        all.deliveries == all.expected && all.refused == 0,
        all.p99_ms,
    );
    by_kind.insert("all".into(), all);
    Ok(Report {
        viewers: args.viewers,
        lines: args.lines,
        actions: args.actions,
        spacing_ms: args.spacing_ms,
        figures: by_kind,
        all_delivered,
        goal_p99_ms: GOAL_P99_MS,
        p99_within_goal: all_delivered && p99 <= GOAL_P99_MS,
        repeats,
        lagged_resyncs: lagged,
        rss_kib_idle: rss_idle,
        rss_kib_connected: rss_connected,
        rss_kib_after: server.rss_kib(),
        rss_kib_per_viewer: rss_connected.saturating_sub(rss_idle) as f64 / args.viewers as f64,
        cpu_server_pct,
        connect_seconds,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_1min: load_1min(),
    })
}

/// Posts the lines (line `i` by `chatter{i % actions}`), four at a time;
/// their ids in order.
async fn post_lines(
    http: &reqwest::Client,
    url: &str,
    args: &Args,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let post_url = format!("{url}/api/v1/channels/{CHANNEL}/messages");
    let mut ids = Vec::with_capacity(args.lines);
    for chunk in (0..args.lines).collect::<Vec<_>>().chunks(4) {
        let posts = chunk.iter().map(|&i| {
            let body = serde_json::json!({
                "sender": plan::sender(i, args.actions),
                "body": format!("line {i}"),
            });
            http.post(&post_url).bearer_auth(TOKEN).json(&body).send()
        });
        for answer in futures_util::future::join_all(posts).await {
            let v: serde_json::Value = answer?.error_for_status()?.json().await?;
            ids.push(v["id"].as_str().ok_or("a post without an id")?.to_string());
        }
    }
    Ok(ids)
}

/// Sends each action `spacing_ms` apart (each in its own task, so a slow
/// answer does not delay the next), recording its start in `sent` first.
async fn act(
    http: &reqwest::Client,
    url: &str,
    actions: &[Action],
    sent: &SentTimes,
    start: Instant,
    spacing_ms: u64,
) -> Vec<Answer> {
    let mut tick = tokio::time::interval(Duration::from_millis(spacing_ms.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(actions.len());
    for (k, action) in actions.iter().enumerate() {
        tick.tick().await;
        let (method, path, body) = action.request(CHANNEL);
        let mut req = http
            .request(method, format!("{url}{path}"))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let kind = action.kind;
        sent[k].store(start.elapsed().as_micros() as u64, Ordering::SeqCst);
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = match req.send().await {
                Ok(r) if r.status().is_success() => true,
                Ok(r) => {
                    eprintln!(
                        "{kind:?} answered {}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    );
                    false
                }
                Err(e) => {
                    eprintln!("{kind:?} failed: {e}");
                    false
                }
            };
            let us = t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
            Answer { kind, ok, us }
        }));
    }
    let mut answers = Vec::with_capacity(tasks.len());
    for (t, action) in tasks.into_iter().zip(actions) {
        answers.push(t.await.unwrap_or(Answer {
            kind: action.kind,
            ok: false,
            us: 0,
        }));
    }
    answers
}

/// The machine's 1-minute load average (0 if unreadable).
fn load_1min() -> f64 {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    s.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
