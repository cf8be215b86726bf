//! `chyron-relay`: parse the configuration, bind, serve until Ctrl-C/SIGTERM.

use chyron_relay::config::{Cli, Config, EnvSecrets};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// The log filter without `RUST_LOG`: the relay at info; matrix-sdk only
/// warnings (at info it logs every sync).
const DEFAULT_LOG: &str = "info,matrix_sdk=warn,matrix_sdk_base=warn,matrix_sdk_common=warn";

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::resolve_with(cli, EnvSecrets::from_env()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chyron-relay: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| DEFAULT_LOG.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // The connection cap (`max_connections`) only protects the relay if the
    // process can hold that many sockets: raise the open-files soft limit.
    match chyron_relay::serve::raise_fd_limit() {
        Ok(n) => {
            tracing::info!(open_files = n, "open-files limit raised to the hard limit");
            if n < u64::from(config.limits.max_connections) + 64 {
                tracing::warn!(
                    open_files = n,
                    max_connections = config.limits.max_connections,
                    "max_connections is above the open-files limit: lower it or raise the hard limit"
                );
            }
        }
        Err(e) => tracing::warn!("cannot raise the open-files limit: {e}"),
    }
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("chyron-relay: cannot listen on {}: {e}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(config.listen);
    let mut out = std::io::stdout();
    let _ = writeln!(out, "chyron-relay listening on http://{addr}");
    let _ = out.flush();
    match chyron_relay::run(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chyron-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
