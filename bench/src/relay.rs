//! The server under test in its own process, so its memory and CPU can be
//! read from /proc apart from the benchmark's: the real `chyron-relay`
//! binary, or the Node.js `ws` baseline (`bench/ws-baseline/server.mjs`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running relay (or baseline server), stopped (by its PID) when dropped.
pub struct Relay {
    /// The child process; `kill_on_drop` ends it with the benchmark.
    child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub url: String,
    /// The server's data directory, removed on drop.
    data: PathBuf,
}

/// How a relay is started besides its binary and token.
#[derive(Default)]
pub struct Options {
    /// Raise the per-address feed cap and the per-token rate limit out of the
    /// way: the fan-out benchmark's viewers all come from 127.0.0.1.
    pub loosen_limits: bool,
    /// The open-files soft limit the relay starts with (as a service manager
    /// would give it), so the relay's own handling of it is what is measured;
    /// `None` inherits the benchmark's.
    pub nofile_soft: Option<u64>,
    /// More command-line arguments.
    pub extra: Vec<String>,
    /// Drop the relay's log (under attack it logs every refused accept).
    pub quiet: bool,
    /// Write the relay's log to this file instead of the benchmark's stderr.
    pub log_file: Option<PathBuf>,
    /// Kill the relay if the benchmark dies first (killed, timed out), so no
    /// relay outlives a run.
    pub die_with_parent: bool,
}

/// The servers the benchmarks can measure under the same client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Server {
    /// `chyron-relay`.
    Relay,
    /// The plain Node.js `ws` broadcast server (`bench/ws-baseline`).
    Node,
}

/// Relays started by this process, so each gets its own data directory.
static STARTED: AtomicU32 = AtomicU32::new(0);

impl Relay {
    /// Starts `bin` on a free loopback port with limits raised for load.
    pub async fn start(bin: &str, token: &str, extra: &[String]) -> std::io::Result<Relay> {
        let options = Options {
            loosen_limits: true,
            extra: extra.to_vec(),
            ..Options::default()
        };
        Relay::start_with(bin, token, options).await
    }

    /// Starts `bin` on a free loopback port, in a fresh data directory.
    pub async fn start_with(bin: &str, token: &str, options: Options) -> std::io::Result<Relay> {
        let data = data_dir()?;
        let mut command = Command::new(bin);
        command
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(&data);
        if options.loosen_limits {
            command
                .args(["--max-connections-per-ip", "100000"])
                .args(["--rate-limit-per-second", "100000"])
                .args(["--rate-limit-burst", "100000"]);
        }
        if let Some(soft) = options.nofile_soft {
            // SAFETY: between fork and exec only async-signal-safe calls
            // (getrlimit, setrlimit) run, on no shared state.
            unsafe {
                command.pre_exec(move || {
                    let mut lim = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                        lim.rlim_cur = soft.min(lim.rlim_max);
                        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
                    }
                    Ok(())
                });
            }
        }
        if options.die_with_parent {
            die_with_parent(&mut command);
        }
        command.args(&options.extra).env("RUST_LOG", "warn");
        let log = match (&options.log_file, options.quiet) {
            (Some(path), _) => Stdio::from(std::fs::File::create(path)?),
            (None, true) => Stdio::null(),
            (None, false) => Stdio::inherit(),
        };
        Relay::spawn(command, token, data, log).await
    }

    /// Starts the Node.js `ws` baseline, `node script --listen 127.0.0.1:0`:
    /// the same API token, feed path and frames as far as the fan-out
    /// benchmark needs.
    pub async fn start_node(node: &str, script: &str, token: &str) -> std::io::Result<Relay> {
        let data = data_dir()?;
        let mut command = Command::new(node);
        command.arg(script).args(["--listen", "127.0.0.1:0"]);
        Relay::spawn(command, token, data, Stdio::inherit()).await
    }

    /// Runs `command` with the API token until it prints `listening on URL`;
    /// its log (stderr) goes to `log`.
    async fn spawn(
        mut command: Command,
        token: &str,
        data: PathBuf,
        log: Stdio,
    ) -> std::io::Result<Relay> {
        let mut child = command
            .env("CHYRON_API_TOKEN", token)
            .stdout(Stdio::piped())
            .stderr(log)
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
            "server exited before printing its address",
        ))
    }

    /// The relay's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the relay process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Open file descriptors of the relay process (sockets included).
    pub fn open_fds(&self) -> u64 {
        self.child.id().map_or(0, open_fds)
    }

    /// The relay's open-files soft limit, as /proc/PID/limits shows it.
    pub fn nofile_soft(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line["Max open files".len()..]
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// Resident memory of the relay process, in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        self.child.id().map_or(0, rss_kib)
    }

    /// CPU time the relay process used so far (user + system).
    pub fn cpu(&self) -> std::time::Duration {
        self.child.id().map_or(std::time::Duration::ZERO, cpu_time)
    }
}

/// Makes the process `command` starts receive SIGKILL when the thread that
/// starts it (the benchmark's main thread) ends, however it ends.
pub fn die_with_parent(command: &mut Command) {
    // SAFETY: between fork and exec only prctl, async-signal-safe, runs.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// A fresh data directory for the next server this process starts.
fn data_dir() -> std::io::Result<PathBuf> {
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    let data = std::env::temp_dir().join(format!("chyron-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    Ok(data)
}

/// CPU time (user + system) of process `pid` so far; zero once it is gone.
/// `std::process::id()` gives the benchmark's own.
pub fn cpu_time(pid: u32) -> std::time::Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11) // state .. cmajflt: utime is field 14, i.e. the 12th after `)`
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    // SAFETY: sysconf reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    std::time::Duration::from_secs_f64(fields.iter().sum::<u64>() as f64 / hz)
}

/// Resident memory of process `pid`, in KiB (VmRSS; 0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors of process `pid` (0 once it is gone).
pub fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
