//! Cluster benchmark: websocket viewers split across relay nodes sharing one
//! Redis (`--nodes 2 --redis URL`), or all on one relay without Redis
//! (`--nodes 1`, today's mode), under the same client. Messages are posted
//! through the HTTP API at a fixed rate, alternating between the nodes, so
//! every node numbers events through Redis. The viewers run in separate
//! processes (`chyron-bench-cluster viewers …`, at most ~15,000 sockets
//! each); each checks its frames' seqs for gaps and duplicates and times
//! post → frame. Records deliveries, latency percentiles (all, and by
//! whether the message was posted through the viewer's node or another),
//! RSS per viewer per node, and CPU of every process; prints and saves JSON.
//!
//! `--server node` puts the same viewers and posts on the plain Node.js `ws`
//! broadcast server instead (`bench/ws-baseline`, as chyron-bench-fanout
//! runs it). `--kill-node N` kills node N (`kill -9`, by the PID the
//! benchmark started it under) partway through the posts: its viewers
//! reconnect to the next node resuming from their (epoch, seq), as the
//! widget does, and the report says how long each took to be back and
//! whether any missed an event or got a fresh snapshot instead.
//!
//! `chyron-bench-cluster --nodes 2 --redis redis+unix:///tmp/r/redis.sock --viewers 10000 --rate 20 --seconds 60`

// The report's `json!` is long.
#![recursion_limit = "256"]

mod clients;
mod failover;
mod figures;
mod kill;
mod launch;
mod procs;
mod run;
mod servers;
mod watch;

use chyron_bench::net::raise_nofile;
use chyron_bench::relay::Server;
use clap::{Parser, Subcommand};
use clients::ViewerArgs;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    viewers: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Sub {
    /// One viewer process (started by the benchmark itself).
    Viewers(ViewerArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Which server: relay nodes, or the Node.js `ws` baseline (one process).
    #[arg(long, value_enum, default_value_t = Server::Relay)]
    server: Server,
    /// The baseline's script (its `node_modules` installed with `npm ci`).
    #[arg(long, default_value = "bench/ws-baseline/server.mjs")]
    node_script: String,
    /// The Node.js binary.
    #[arg(long, default_value = "node")]
    node: String,
    /// Kill this node with SIGKILL partway through the posts (failover run).
    #[arg(long)]
    kill_node: Option<usize>,
    /// Seconds of posting before the kill (default: half of `--seconds`).
    #[arg(long)]
    kill_after: Option<u32>,
    /// Relay nodes; more than one needs `--redis`.
    #[arg(long, default_value_t = 2)]
    nodes: usize,
    /// The Redis the nodes share (as `scripts/redis.sh start` prints it).
    #[arg(long)]
    redis: Option<String>,
    /// Redis's PID file, to read its CPU and memory.
    #[arg(long)]
    redis_pidfile: Option<String>,
    /// Websocket viewers in all, split evenly across the nodes.
    #[arg(long, default_value_t = 10_000)]
    viewers: usize,
    /// Viewer processes (at least one per node, at most ~15,000 sockets each).
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// Messages posted per second (through node 0, 1, 0, … in turn).
    #[arg(long, default_value_t = 20)]
    rate: u32,
    /// Post every message through this node instead of through each in turn
    /// (so the others get them only through Redis).
    #[arg(long)]
    post_node: Option<usize>,
    /// Seconds to post for.
    #[arg(long, default_value_t = 60)]
    seconds: u32,
    /// Seconds a viewer waits for its next frame once messages flow.
    #[arg(long, default_value_t = 15)]
    quiet: u64,
    /// Seconds the viewers may take to connect.
    #[arg(long, default_value_t = 240)]
    connect_timeout: u64,
    /// The relay binary.
    #[arg(long, default_value = "target/release/chyron-relay")]
    relay: String,
    /// A name for this run in the report.
    #[arg(long, default_value = "")]
    label: String,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench/out/cluster.json")]
    out: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if let Some(Sub::Viewers(args)) = cli.viewers {
        return clients::run(args).await;
    }
    let args = cli.run;
    if args.nodes > 1 && args.redis.is_none() {
        return Err("more than one node needs --redis".into());
    }
    if args.server == Server::Node && (args.nodes != 1 || args.redis.is_some()) {
        return Err("the Node.js baseline is one process: --nodes 1, no --redis".into());
    }
    if args
        .kill_node
        .is_some_and(|k| k >= args.nodes || args.nodes < 2)
    {
        return Err("--kill-node needs another node to fail over to".into());
    }
    raise_nofile();
    let report = run::run(&args).await?;
    chyron_bench::save_report(&args.out, &report)?;
    Ok(())
}
