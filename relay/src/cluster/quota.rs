//! Rate limits that hold across the cluster: one GCRA cell counter per key
//! in Redis (`chyron:quota:{key}`, the theoretical arrival time in
//! microseconds of Redis's own clock), taken by one script, so a client
//! spreading its requests over every node behind the load balancer gets one
//! quota, not one per node.

use super::{timed, Cluster, ClusterError};
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// Takes one cell of KEYS[1]'s quota: one cell every ARGV[1] µs, at most
/// ARGV[2] at once. Returns 0 if taken, else the µs until one would be.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local every = tonumber(ARGV[1])
local window = every * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next = tat + every
if next - now > window then return next - now - window end
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1)
return 0
";

/// [`TAKE`], hashed once.
static TAKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TAKE));

impl Cluster {
    /// Takes one cell of `key`'s cluster-wide quota (one every `every`, at
    /// most `burst` at once): `None` if taken, else how long until one
    /// would be.
    pub async fn take(
        &self,
        key: &str,
        every: Duration,
        burst: u32,
    ) -> Result<Option<Duration>, ClusterError> {
        let mut conn = self.conn.clone();
        let script = &*TAKE_SCRIPT;
        let mut call = script.key(format!("chyron:quota:{key}"));
        call.arg(every.as_micros().max(1) as u64).arg(burst.max(1));
        let wait: u64 = timed(call.invoke_async(&mut conn)).await?;
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }
}
