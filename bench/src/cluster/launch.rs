//! The viewer processes: started with their share of the viewers and their
//! node's feed URL, waited on until each says `ready`, then read for their
//! one result line.

use crate::clients::ClientReport;
use chyron_bench::relay;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::Instant;

/// Sockets one viewer process may hold (the hard limit here is 20,000).
pub const MAX_SOCKETS_PER_PROCESS: usize = 15_000;

/// A viewer process: its node, viewers, and its stdout's lines.
pub struct Client {
    /// The process; killed if the benchmark drops it.
    pub child: Child,
    /// The node its viewers connect to.
    pub node: usize,
    /// How many viewers it opens.
    pub viewers: usize,
    /// Its stdout: `ready`, then its [`ClientReport`] as one JSON line.
    lines: Lines<BufReader<ChildStdout>>,
    /// Prefix of the files it writes its latencies to.
    pub latencies: String,
}

/// What every viewer process is told besides its node and share.
pub struct Plan<'a> {
    /// Feed URL of each node (`ws://…/feed/CHANNEL`, no query).
    pub feeds: &'a [String],
    /// The node that will be killed: its processes' viewers are given the
    /// next node to fail over to.
    pub kill_node: Option<usize>,
    /// Viewers in all, split over the processes.
    pub viewers: usize,
    /// Viewer processes.
    pub processes: usize,
    /// Benchmark messages each viewer waits for.
    pub messages: usize,
    /// The node every message is posted through, if not in turn.
    pub post_node: Option<usize>,
    /// Seconds a viewer waits for its next frame once messages flow.
    pub quiet: u64,
    /// Seconds from its start after which a viewer process stops.
    pub deadline: u64,
}

/// Starts the viewer processes, process `c` on node `c % nodes`.
pub fn spawn(plan: &Plan<'_>, tmp: &Path) -> std::io::Result<Vec<Client>> {
    let nodes = plan.feeds.len();
    let exe = std::env::current_exe()?;
    let mut clients = Vec::with_capacity(plan.processes);
    for c in 0..plan.processes {
        let node = c % nodes;
        let viewers =
            plan.viewers / plan.processes + usize::from(c < plan.viewers % plan.processes);
        let latencies = tmp.join(format!("lat-{c}")).to_string_lossy().into_owned();
        let mut command = Command::new(&exe);
        command
            .arg("viewers")
            .args(["--url", &format!("{}?limit=1", plan.feeds[node])])
            .args(["--latencies", &latencies])
            .args(["--count", &viewers.to_string()])
            .args(["--messages", &plan.messages.to_string()])
            .args(["--node", &node.to_string(), "--nodes", &nodes.to_string()])
            .args(plan.post_node.map(|n| format!("--post-node={n}")))
            .args(
                (plan.kill_node == Some(node))
                    .then(|| format!("--fallback={}", plan.feeds[(node + 1) % nodes])),
            )
            .args(["--quiet", &plan.quiet.to_string()])
            .args(["--deadline", &plan.deadline.to_string()])
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        relay::die_with_parent(&mut command);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = BufReader::new(stdout).lines();
        clients.push(Client {
            child,
            node,
            viewers,
            lines,
            latencies,
        });
    }
    Ok(clients)
}

/// Waits until every process said `ready` (all its viewers have their
/// snapshot), or fails at `by`.
pub async fn wait_ready(clients: &mut [Client], by: Instant) -> Result<(), String> {
    for c in clients {
        match tokio::time::timeout_at(by, c.lines.next_line()).await {
            Ok(Ok(Some(line))) if line == "ready" => {}
            other => return Err(format!("a viewer process did not get ready: {other:?}")),
        }
    }
    Ok(())
}

/// Each process's result line, read until `by` (an empty report for one
/// that gave none).
pub async fn results(
    clients: &mut [Client],
    by: Instant,
) -> Result<Vec<ClientReport>, serde_json::Error> {
    let mut reports = Vec::with_capacity(clients.len());
    for c in clients {
        let line = tokio::time::timeout_at(by, c.lines.next_line()).await;
        let report: ClientReport = match line {
            Ok(Ok(Some(line))) => serde_json::from_str(&line)?,
            other => {
                eprintln!("[cluster] a viewer process gave no result: {other:?}");
                ClientReport::default()
            }
        };
        reports.push(report);
    }
    Ok(reports)
}
