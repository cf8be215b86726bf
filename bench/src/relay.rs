//! The relay under test: the real `chyron-relay` binary in its own process, so
//! its memory can be read from /proc apart from the benchmark's.

use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running relay, stopped (by its PID) when dropped.
pub struct Relay {
    /// The child process; `kill_on_drop` ends it with the benchmark.
    child: Child,
    /// `http://127.0.0.1:PORT`, as the relay printed it.
    pub url: String,
    /// The relay's data directory, removed on drop.
    data: PathBuf,
}

impl Relay {
    /// Starts `bin` on a free loopback port with limits raised for load.
    pub async fn start(bin: &str, token: &str, extra: &[String]) -> std::io::Result<Relay> {
        let data = std::env::temp_dir().join(format!("chyron-bench-{}", std::process::id()));
        std::fs::create_dir_all(&data)?;
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .args(["--max-connections-per-ip", "100000"])
            .args([
                "--rate-limit-per-second",
                "100000",
                "--rate-limit-burst",
                "100000",
            ])
            .args(extra)
            .env("CHYRON_API_TOKEN", token)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.split("listening on ").nth(1) {
                let url = url.trim().to_string();
                // Keep draining stdout so the relay never blocks on it.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return Ok(Relay { child, url, data });
            }
        }
        Err(std::io::Error::other(
            "relay exited before printing its address",
        ))
    }

    /// Resident memory of the relay process, in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        let Some(pid) = self.child.id() else { return 0 };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
