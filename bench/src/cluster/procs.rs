//! What the benchmark reads of the processes it runs and of the machine:
//! RSS peaks, load averages, relay log lines.

use chyron_bench::relay::rss_kib;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Keeps the highest RSS of each process in `peaks`, sampled every 250 ms.
pub async fn sample_rss(pids: Vec<u32>, peaks: Arc<Vec<AtomicU64>>) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    loop {
        every.tick().await;
        for (pid, peak) in pids.iter().zip(peaks.iter()) {
            peak.fetch_max(rss_kib(*pid), Ordering::Relaxed);
        }
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect()
}

/// A log line without its terminal colours.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ … letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
