//! The servers under test: relay nodes in their own processes (sharing one
//! Redis, or one alone) or the Node.js `ws` baseline, and the Chat API calls
//! the poster makes to them.

use crate::RunArgs;
use chyron_bench::relay::{self, Relay, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The API token every server is started with.
pub const TOKEN: &str = "bench-token";

/// Starts what `args` measures: the relay nodes, or the Node.js baseline;
/// the servers and the relays' log files (none for the baseline, whose log
/// goes to the benchmark's stderr).
pub async fn start(
    args: &RunArgs,
    nodes: usize,
    tmp: &Path,
) -> std::io::Result<(Vec<Relay>, Vec<PathBuf>)> {
    match args.server {
        Server::Relay => start_relays(args, nodes, tmp).await,
        Server::Node => {
            let node = Relay::start_node(&args.node, &args.node_script, TOKEN).await?;
            Ok((vec![node], Vec::new()))
        }
    }
}

/// Starts `nodes` release relays, each logging to its own file in `tmp`;
/// the relays and their log files.
async fn start_relays(
    args: &RunArgs,
    nodes: usize,
    tmp: &Path,
) -> std::io::Result<(Vec<Relay>, Vec<PathBuf>)> {
    let logs: Vec<_> = (0..nodes)
        .map(|n| tmp.join(format!("relay-{n}.log")))
        .collect();
    let mut relays = Vec::with_capacity(nodes);
    for log in &logs {
        let mut extra = vec!["--max-connections".to_string(), "19000".to_string()];
        if let Some(url) = &args.redis {
            extra.extend(["--redis".to_string(), url.clone()]);
        }
        let options = relay::Options {
            loosen_limits: true,
            extra,
            die_with_parent: true,
            log_file: Some(log.clone()),
            ..relay::Options::default()
        };
        relays.push(Relay::start_with(&args.relay, TOKEN, options).await?);
    }
    Ok((relays, logs))
}

/// Posts one message; the seq the relay gave it.
pub async fn post(http: &reqwest::Client, url: &str, body: &str) -> Result<u64, String> {
    let response = http
        .post(url)
        .bearer_auth(TOKEN)
        .json(&json!({"sender": "bench", "body": body}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("{status}: {text}"));
    }
    let v: Value = response.json().await.map_err(|e| e.to_string())?;
    v["seq"].as_u64().ok_or_else(|| format!("no seq in {v}"))
}
