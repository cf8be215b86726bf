//! A throwaway server that a project script starts and stops:
//! `scripts/NAME.sh start|stop DIR` (files in a temporary directory, stopped
//! by its PID). Without the server installed the tests fail, saying how to
//! install it; they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A server started by `scripts/{name}.sh`; stopped when dropped.
pub struct Service {
    /// Its directory: socket, PID file, log, data.
    pub dir: tempfile::TempDir,
    /// The script's name (`redis`, `postgres`).
    name: &'static str,
    /// Environment for the script (e.g. persistence settings).
    env: Vec<(&'static str, String)>,
}

impl Service {
    /// Starts one with `scripts/{name}.sh start`; it and what the script
    /// printed (the server's URL).
    pub fn start(name: &'static str, env: Vec<(&'static str, String)>) -> (Service, String) {
        let dir = tempfile::Builder::new().prefix(name).tempdir().unwrap();
        let service = Service { dir, name, env };
        let url = service.run("start");
        (service, url)
    }

    fn script(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scripts/{}.sh", self.name))
    }

    /// Runs `scripts/{name}.sh CMD DIR`; what it printed (asserts success).
    pub fn run(&self, cmd: &str) -> String {
        let out = Command::new("bash")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg(self.script())
            .arg(cmd)
            .arg(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("run scripts/{}.sh: {e}", self.name));
        assert!(
            out.status.success(),
            "scripts/{}.sh {cmd} failed: {}\nThese tests need a real server \
             (scripts/setup.sh installs it from Debian's packages).",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(self.script())
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}
