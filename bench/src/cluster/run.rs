//! One benchmark run: the servers, the viewer processes, the posts at a
//! fixed rate, then every process's result, measured into [`Measured`].

use crate::figures::Measured;
use crate::kill::Kill;
use crate::launch::{self, Plan, MAX_SOCKETS_PER_PROCESS};
use crate::procs::{loadavg, sample_rss};
use crate::servers::{self, post};
use crate::RunArgs;
use chyron_bench::relay::{cpu_time, Relay};
use chyron_bench::seqcheck::{bench_body, mono_us};
use serde_json::Value;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub async fn run(args: &RunArgs) -> Result<Value, Box<dyn std::error::Error>> {
    let nodes = args.nodes.max(1);
    let loadavg_start = loadavg();
    let tmp = std::env::temp_dir().join(format!("chyron-bench-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let (mut relays, logs) = servers::start(args, nodes, &tmp).await?;
    let redis_pid = args
        .redis_pidfile
        .as_deref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| s.trim().parse::<u32>().ok());
    // A channel of its own per run: runs may share one Redis.
    let channel = format!("bench-{}-{}", std::process::id(), mono_us() % 1_000_000);
    let http = reqwest::Client::new();
    let post_urls: Vec<String> = relays
        .iter()
        .map(|r| format!("{}/api/v1/channels/{channel}/messages", r.url))
        .collect();
    // Every node loads the channel (and subscribes to it in Redis) first.
    for url in &post_urls {
        post(&http, url, "warm-up").await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle: Vec<u64> = relays.iter().map(Relay::rss_kib).collect();

    let messages = (args.rate * args.seconds) as usize;
    let needed = args.viewers.div_ceil(MAX_SOCKETS_PER_PROCESS);
    let processes = args.clients.max(nodes).max(needed);
    let connect_start = Instant::now();
    let deadline = args.connect_timeout + u64::from(args.seconds) + args.quiet + 60;
    let feeds: Vec<String> = relays
        .iter()
        .map(|r| format!("{}/feed/{channel}", r.url.replacen("http", "ws", 1)))
        .collect();
    let plan = Plan {
        feeds: &feeds,
        kill_node: args.kill_node,
        viewers: args.viewers,
        processes,
        messages,
        post_node: args.post_node,
        quiet: args.quiet,
        deadline,
    };
    let mut clients = launch::spawn(&plan, &tmp)?;
    let ready_by = connect_start + Duration::from_secs(args.connect_timeout);
    launch::wait_ready(&mut clients, ready_by).await?;
    let connect_seconds = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected: Vec<u64> = relays.iter().map(Relay::rss_kib).collect();

    // Peaks of each relay and of Redis, sampled every 250 ms.
    let mut watched: Vec<u32> = relays.iter().filter_map(Relay::pid).collect();
    watched.extend(redis_pid);
    let peaks: Arc<Vec<AtomicU64>> = Arc::new(watched.iter().map(|_| AtomicU64::new(0)).collect());
    let sampler = tokio::spawn(sample_rss(watched.clone(), peaks.clone()));
    let client_pids: Vec<u32> = clients.iter().filter_map(|c| c.child.id()).collect();
    let cpu_at = |pids: &[u32]| pids.iter().map(|p| cpu_time(*p)).collect::<Vec<_>>();
    let (relay_pids, me) = (&watched[..relays.len()], std::process::id());
    let (cpu0_relays, cpu0_clients) = (cpu_at(relay_pids), cpu_at(&client_pids));
    let (cpu0_redis, cpu0_me) = (redis_pid.map(cpu_time), cpu_time(me));
    let posting = Instant::now();

    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let kill_at = args.kill_node.map(|_| {
        let after = args.kill_after.unwrap_or(args.seconds / 2);
        (args.rate * after) as usize
    });
    let mut kill: Option<Kill> = None;
    let (mut posts, mut answers) = (Vec::with_capacity(messages), Vec::with_capacity(messages));
    for i in 0..messages {
        tick.tick().await;
        if let (Some(victim), true) = (args.kill_node, kill_at == Some(i)) {
            // No post is in flight to the node as it dies: each one it got
            // it answered, and the rest go to the others.
            for p in posts.drain(..) {
                answers.push(p.await?);
            }
            kill = Some(Kill::now(victim, &relays, relay_pids));
        }
        let at = mono_us();
        let mut through = args.post_node.unwrap_or(i % nodes).min(nodes - 1);
        if kill.as_ref().is_some_and(|k| k.node == through) {
            through = (through + 1) % nodes;
        }
        let (http, url) = (http.clone(), post_urls[through].clone());
        posts.push(tokio::spawn(async move {
            let ok = post(&http, &url, &bench_body(i, at)).await;
            (ok, mono_us().saturating_sub(at))
        }));
    }
    let post_seconds = posting.elapsed().as_secs_f64();
    for p in posts {
        answers.push(p.await?);
    }
    let (mut post_errors, mut call_us, mut post_seqs) = (Vec::new(), Vec::new(), Vec::new());
    for answer in answers {
        match answer {
            (Ok(seq), us) => {
                call_us.push(us.min(u64::from(u32::MAX)) as u32);
                post_seqs.push(seq);
            }
            (Err(e), _) => post_errors.push(e),
        }
    }

    // A viewer stops once it has every message, `quiet` s after its last
    // frame, or at its deadline: a process that falls behind may take long.
    let results_by = connect_start + Duration::from_secs(deadline + 10);
    let reports = launch::results(&mut clients, results_by).await?;
    let window = posting.elapsed().as_secs_f64();
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / window;
    // A killed node's CPU is what it used until it died.
    let cpu_relays: Vec<f64> = cpu_at(relay_pids)
        .iter()
        .enumerate()
        .map(|(n, now)| {
            kill.as_ref()
                .and_then(|k| k.cpu.get(n))
                .map_or(*now, |at| *at.max(now))
        })
        .zip(&cpu0_relays)
        .map(|(b, a)| pct(b.saturating_sub(*a)))
        .collect();
    let cpu_redis =
        redis_pid.map(|p| pct(cpu_time(p).saturating_sub(cpu0_redis.unwrap_or_default())));
    let cpu_me = pct(cpu_time(me).saturating_sub(cpu0_me));
    sampler.abort();
    let relay_logs: Vec<String> = logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap_or_default())
        .collect();
    let measured = Measured {
        nodes,
        channel,
        messages,
        processes,
        rss_idle,
        rss_connected,
        peaks: peaks
            .iter()
            .map(|p| p.load(std::sync::atomic::Ordering::Relaxed))
            .collect(),
        alive: relays.iter_mut().map(Relay::alive).collect(),
        cpu_relays,
        redis_pid,
        cpu_redis,
        cpu_me,
        cpu0_clients,
        relay_logs,
        post_errors,
        call_us,
        post_seqs,
        post_seconds,
        connect_seconds,
        window,
        loadavg_start,
        kill: kill.map(|k| (k.node, k.at_us)),
    };
    let report = measured.report(args, &clients, &reports);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(report)
}
