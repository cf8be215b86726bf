//! A throwaway redis-server for the cluster tests, started and stopped by
//! `scripts/redis.sh` (unix socket in a temporary directory, no
//! persistence, stopped by its PID). Without redis-server the tests fail,
//! saying how to install it; they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running redis-server; stopped when dropped.
pub struct Redis {
    /// Its directory: socket, PID file, log.
    dir: tempfile::TempDir,
    /// The relay's `--redis` URL for it.
    pub url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/redis.sh")
}

fn run(cmd: &str, dir: &Path) -> String {
    let out = Command::new("bash")
        .arg(script())
        .arg(cmd)
        .arg(dir)
        .output()
        .expect("run scripts/redis.sh");
    assert!(
        out.status.success(),
        "scripts/redis.sh {cmd} failed: {}\nThe cluster tests need a real redis-server \
         (Debian package redis-server; scripts/setup.sh installs it).",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Redis {
    /// Starts one.
    pub fn start() -> Redis {
        let dir = tempfile::Builder::new().prefix("redis").tempdir().unwrap();
        let url = run("start", dir.path());
        Redis { dir, url }
    }

    /// Stops it (by its PID); its data is gone.
    pub fn stop(&self) {
        run("stop", self.dir.path());
    }

    /// Starts it again, empty, at the same URL.
    pub fn restart(&self) {
        assert_eq!(run("start", self.dir.path()), self.url);
    }

    /// A connection of its own, for looking at and breaking Redis's state.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}
