//! The failover run's kill: one relay node ended with SIGKILL, by the PID
//! the benchmark started it under, and when.

use chyron_bench::relay::{cpu_time, Relay};
use chyron_bench::seqcheck::mono_us;
use std::time::Duration;

/// A node killed under load.
pub struct Kill {
    /// The node's number.
    pub node: usize,
    /// When it was killed, µs on [`mono_us`]'s clock (the viewers' too).
    pub at_us: u64,
    /// Every node's CPU time just before: a dead node's CPU stops there.
    pub cpu: Vec<Duration>,
}

impl Kill {
    /// Kills node `node` of `relays` (PIDs `pids`) now.
    pub fn now(node: usize, relays: &[Relay], pids: &[u32]) -> Kill {
        let cpu = pids.iter().map(|p| cpu_time(*p)).collect();
        let at_us = mono_us();
        if let Some(pid) = relays[node].pid() {
            // SAFETY: kill(2) on a child this process started and has not
            // reaped, so the PID is still that child's.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        eprintln!("[cluster] killed node {node} (SIGKILL)");
        Kill { node, at_us, cpu }
    }
}
