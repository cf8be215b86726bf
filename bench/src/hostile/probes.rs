//! What a normal user sees while an attack runs, all from 127.0.0.1: one
//! viewer's post → caption latency (messages posted through the Chat API at a
//! steady rate), `/healthz` latency on fresh connections (as a load balancer
//! checks it), and how long a new viewer waits for its snapshot.

use chyron_protocol::ServerFrame;
use futures_util::StreamExt;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A request or frame not answered within this counts as failed, at this value.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Latency percentiles over a probe's samples; failures count at the timeout.
#[derive(Serialize, Default, Clone)]
pub struct Latency {
    /// Samples taken (answered and failed).
    pub samples: usize,
    /// Samples not answered in time (or refused, or lost): counted in the
    /// percentiles as [`PROBE_TIMEOUT`] (or, for captions, as the wait).
    pub failed: usize,
    /// Median, in ms.
    pub p50_ms: f64,
    /// 99th percentile, in ms.
    pub p99_ms: f64,
    /// Worst, in ms.
    pub max_ms: f64,
}

impl Latency {
    /// Percentiles of `ms` (answered) plus `failed` samples at `fail_ms`.
    pub fn of(mut ms: Vec<f64>, failed: usize, fail_ms: f64) -> Latency {
        ms.extend(std::iter::repeat_n(fail_ms, failed));
        ms.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            if ms.is_empty() {
                return f64::NAN;
            }
            let v = ms[((ms.len() as f64 - 1.0) * p).round() as usize];
            (v * 100.0).round() / 100.0
        };
        Latency {
            samples: ms.len(),
            failed,
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
        }
    }
}

/// The normal user's figures for one phase.
#[derive(Serialize, Default, Clone)]
pub struct Probes {
    /// Post → frame at the connected viewer; `failed` = posted but never seen.
    pub caption: Latency,
    /// Posts the Chat API did not accept (errors or timeouts).
    pub posts_failed: usize,
    /// `GET /healthz` on a fresh connection each time.
    pub healthz: Latency,
    /// A new viewer: connect → snapshot frame.
    pub join: Latency,
}

/// Where the probes point.
#[derive(Clone)]
pub struct Target {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The channel the viewer watches and the poster posts to.
    pub channel: String,
    /// The Chat API token.
    pub token: String,
}

impl Target {
    fn feed(&self, limit: usize) -> String {
        let ws = self.url.replacen("http", "ws", 1);
        format!("{ws}/feed/{}?limit={limit}", self.channel)
    }
}

/// The connected viewer, opened before the attack starts.
pub type Viewer =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the normal viewer and waits for its snapshot.
pub async fn open_viewer(target: &Target) -> Result<Viewer, String> {
    let (mut ws, _) = timeout(
        PROBE_TIMEOUT,
        tokio_tungstenite::connect_async(target.feed(1)),
    )
    .await
    .map_err(|_| "viewer connect timed out".to_string())?
    .map_err(|e| format!("viewer connect: {e}"))?;
    loop {
        match timeout(PROBE_TIMEOUT, ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(t)))) if t.starts_with(r#"{"type":"snapshot""#) => {
                return Ok(ws)
            }
            Ok(Some(Ok(_))) => continue,
            _ => return Err("viewer got no snapshot".into()),
        }
    }
}

/// The poster's HTTP client, its keep-alive connection opened (as a bot
/// posting to a stream would hold one) before the attack starts.
pub async fn open_poster(target: &Target) -> Result<reqwest::Client, String> {
    let http = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{}/healthz", target.url);
    http.get(url)
        .send()
        .await
        .map_err(|e| format!("poster: {e}"))?;
    Ok(http)
}

/// Runs every probe until `until` (the viewer then waits up to `drain` more
/// for the last captions) and returns their figures.
pub async fn run(
    target: Target,
    (viewer, poster): (Viewer, reqwest::Client),
    rate: u32,
    until: Instant,
    drain: Duration,
) -> Probes {
    let healthz = tokio::spawn(healthz(target.clone(), until));
    let join = tokio::spawn(join(target.clone(), until));
    let (caption, posts_failed) = captions(&target, (viewer, poster), rate, until, drain).await;
    Probes {
        caption,
        posts_failed,
        healthz: healthz.await.unwrap_or_default(),
        join: join.await.unwrap_or_default(),
    }
}

/// Posts `rate` messages a second until `until`; the viewer records when each
/// arrives.
async fn captions(
    target: &Target,
    (viewer, http): (Viewer, reqwest::Client),
    rate: u32,
    until: Instant,
    drain: Duration,
) -> (Latency, usize) {
    let start = Instant::now();
    let count = (until.saturating_duration_since(start).as_secs_f64() * f64::from(rate)) as usize;
    // Post times in µs since `start` (0: not posted, or the post failed).
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..count).map(|_| AtomicU64::new(0)).collect());
    let watcher = tokio::spawn(watch(viewer, sent.clone(), start, until + drain));
    let url = format!("{}/api/v1/channels/{}/messages", target.url, target.channel);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let mut posts = Vec::with_capacity(count);
    for i in 0..count {
        tick.tick().await;
        let (http, url, token, sent) = (
            http.clone(),
            url.clone(),
            target.token.clone(),
            sent.clone(),
        );
        posts.push(tokio::spawn(async move {
            let at = start.elapsed().as_micros() as u64 + 1;
            sent[i].store(at, Ordering::SeqCst);
            let body = serde_json::json!({"sender": "probe", "body": format!("probe {i}")});
            let ok = matches!(
                http.post(&url).bearer_auth(&token).json(&body).send().await,
                Ok(r) if r.status().is_success()
            );
            if !ok {
                sent[i].store(0, Ordering::SeqCst);
            }
            ok
        }));
    }
    let mut posts_failed = 0;
    for p in posts {
        if !p.await.unwrap_or(false) {
            posts_failed += 1;
        }
    }
    let seen = watcher.await.unwrap_or_default();
    let posted = sent.iter().filter(|s| s.load(Ordering::SeqCst) > 0).count();
    let lost = posted.saturating_sub(seen.len());
    let wait_ms = (until + drain)
        .saturating_duration_since(start)
        .as_secs_f64()
        * 1000.0;
    (Latency::of(seen, lost, wait_ms), posts_failed)
}

/// The message number in a `message` frame the caption probe posted.
fn probe_index(frame: &str) -> Option<usize> {
    if !frame.starts_with(r#"{"type":"message""#) {
        return None;
    }
    let marker = r#""body":"probe "#;
    let rest = &frame[frame.find(marker)? + marker.len()..];
    rest[..rest.find('"')?].parse().ok()
}

/// Reads the viewer's feed until `deadline`: latencies in ms of the probe's
/// messages (each counted once, resyncs included).
async fn watch(
    mut ws: Viewer,
    sent: Arc<Vec<AtomicU64>>,
    start: Instant,
    deadline: Instant,
) -> Vec<f64> {
    let mut seen = vec![false; sent.len()];
    let mut ms = Vec::new();
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline.into(), ws.next()).await {
        let WsMessage::Text(text) = frame else {
            continue;
        };
        let now = start.elapsed().as_micros() as u64;
        let mut record = |i: usize| {
            let at = sent.get(i).map_or(0, |s| s.load(Ordering::SeqCst));
            if at > 0 && !seen[i] {
                seen[i] = true;
                ms.push(now.saturating_sub(at) as f64 / 1000.0);
            }
        };
        if let Some(i) = probe_index(&text) {
            record(i);
        } else if let Ok(ServerFrame::Snapshot(s)) = serde_json::from_str::<ServerFrame>(&text) {
            // A resync's snapshot carries messages this viewer missed live.
            for m in s.messages {
                if let Some(i) = m.body.strip_prefix("probe ").and_then(|n| n.parse().ok()) {
                    record(i);
                }
            }
        }
        if seen.iter().all(|s| *s) {
            break;
        }
    }
    ms
}

/// `GET /healthz` every 100 ms on a fresh connection until `until` (each
/// check on its own, so a stalled one does not delay the next).
async fn healthz(target: Target, until: Instant) -> Latency {
    let http = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .pool_max_idle_per_host(0)
        .build()
        .expect("http client");
    let url = format!("{}/healthz", target.url);
    every(Duration::from_millis(100), until, move || {
        let (http, url) = (http.clone(), url.clone());
        async move { matches!(http.get(&url).send().await, Ok(r) if r.status().is_success()) }
    })
    .await
}

/// A new viewer every 500 ms until `until`: connect → snapshot frame.
async fn join(target: Target, until: Instant) -> Latency {
    every(Duration::from_millis(500), until, move || {
        let target = target.clone();
        async move {
            match timeout(PROBE_TIMEOUT, open_viewer(&target)).await {
                Ok(Ok(mut ws)) => {
                    let _ = timeout(Duration::from_millis(200), ws.close(None)).await;
                    true
                }
                _ => false,
            }
        }
    })
    .await
}

/// Starts `check` every `period` until `until`, each in its own task, and
/// times them; a check that fails or outlasts [`PROBE_TIMEOUT`] is failed.
async fn every<F, Fut>(period: Duration, until: Instant, check: F) -> Latency
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let mut checks = Vec::new();
    let mut tick = tokio::time::interval(period);
    while Instant::now() < until {
        tick.tick().await;
        let run = check();
        checks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = timeout(PROBE_TIMEOUT, run).await.unwrap_or(false);
            ok.then(|| t.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let (mut ms, mut failed) = (Vec::new(), 0);
    for c in checks {
        match c.await {
            Ok(Some(v)) => ms.push(v),
            _ => failed += 1,
        }
    }
    Latency::of(ms, failed, PROBE_TIMEOUT.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_in_the_percentiles_at_the_timeout() {
        let l = Latency::of(vec![1.0; 98], 2, 2000.0);
        assert_eq!((l.samples, l.failed), (100, 2));
        assert_eq!(l.p50_ms, 1.0);
        assert_eq!(l.p99_ms, 2000.0);
        assert!(Latency::of(Vec::new(), 0, 2000.0).p50_ms.is_nan());
    }

    #[test]
    fn only_the_probes_own_messages_are_recognised() {
        let frame = r#"{"type":"message","message":{"id":"a","sender":"probe","sender_id":"probe","body":"probe 17","ts":1}}"#;
        assert_eq!(probe_index(frame), Some(17));
        assert_eq!(probe_index(&frame.replace("probe 17", "probe x")), None);
        assert_eq!(
            probe_index(&frame.replace(r#""type":"message""#, r#""type":"edit""#)),
            None
        );
    }
}
