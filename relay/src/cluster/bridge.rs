//! What the cluster's one Matrix link keeps in Redis, so any node can take
//! it over: the lease that says which node runs it, the sync position it
//! resumes from, and each bridged channel's outbox.
//!
//! - The lease is a key set with `SET NX PX ttl` to the holder's node id,
//!   renewed ([`RENEW`]) and released ([`RELEASE`]) only by that holder, so a
//!   node whose lease expired can never extend or delete its successor's.
//! - The sync position (`since`) is written only after the events of that
//!   sync were ordered; what a new holder fetches again is skipped by the
//!   origins the ordering script keeps (`chyron:{channel}:origins`).
//! - The outbox of channel `c` is the stream `chyron:{c}:outbox`, appended by
//!   the ordering script in the same step as the event, so a change made
//!   through any node is queued exactly once; the holder sends the oldest
//!   entry and deletes it once the homeserver has it.

use super::{key, timed, Cluster, ClusterError};
use redis::Script;
use std::sync::LazyLock;

/// Extends the lease if this node still holds it. KEYS: lease. ARGV: node
/// id, ttl in ms. Returns 1 if extended, 0 if someone else holds it or
/// nobody does.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Deletes the lease if this node holds it. KEYS: lease. ARGV: node id.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The key of the lease of the bridge run as `bot`.
fn lease_key(bot: &str) -> String {
    format!("chyron:bridge:{{{bot}}}:lease")
}

/// The key of the sync position of the bridge run as `bot`.
fn since_key(bot: &str) -> String {
    format!("chyron:bridge:{{{bot}}}:since")
}

/// The key of the link state per bridged channel, as the holder sees it.
fn states_key(bot: &str) -> String {
    format!("chyron:bridge:{{{bot}}}:states")
}

/// One queued change for a bridged room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The stream entry's id, to delete it once sent.
    pub id: String,
    /// The channel's epoch when the change was made.
    pub epoch: String,
    /// The event's seq in that epoch.
    pub seq: u64,
    /// What to send (JSON, written by the node that made the change).
    pub payload: String,
}

/// Posts sent to Matrix remembered per channel (message id → event id), so
/// a later holder can still edit or redact the newest of them; older ones
/// are forgotten, so the map stays bounded.
pub const SENT_KEPT: usize = 10_000;

/// Records message `ARGV[1]` as sent as event `ARGV[2]` in hash KEYS[1],
/// its order in list KEYS[2], and forgets the oldest past `ARGV[3]`.
const LINK_SENT: &str = r"
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[1])
end
while redis.call('LLEN', KEYS[2]) > tonumber(ARGV[3]) do
  redis.call('HDEL', KEYS[1], redis.call('LPOP', KEYS[2]))
end
return 1
";

/// [`RENEW`], hashed once.
static RENEW_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RENEW));

/// [`RELEASE`], hashed once.
static RELEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE));

/// [`LINK_SENT`], hashed once.
static LINK_SENT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(LINK_SENT));

impl Cluster {
    /// Takes the lease of the bridge run as `bot` for `node` if nobody holds
    /// it; true if this node holds it now.
    pub async fn lease_acquire(
        &self,
        bot: &str,
        node: &str,
        ttl_ms: u64,
    ) -> Result<bool, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(lease_key(bot))
            .arg(node)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms);
        let set: Option<String> = timed(cmd.query_async(&mut conn)).await?;
        Ok(set.is_some())
    }

    /// Extends `node`'s lease by `ttl_ms` from now; false if it no longer
    /// holds it.
    pub async fn lease_renew(
        &self,
        bot: &str,
        node: &str,
        ttl_ms: u64,
    ) -> Result<bool, ClusterError> {
        let mut conn = self.conn.clone();
        let script = &*RENEW_SCRIPT;
        let mut call = script.key(lease_key(bot));
        call.arg(node).arg(ttl_ms);
        let n: i64 = timed(call.invoke_async(&mut conn)).await?;
        Ok(n == 1)
    }

    /// Gives the lease up if `node` holds it, so another node takes over at
    /// once instead of after the ttl.
    pub async fn lease_release(&self, bot: &str, node: &str) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let script = &*RELEASE_SCRIPT;
        let mut call = script.key(lease_key(bot));
        call.arg(node);
        let _: i64 = timed(call.invoke_async(&mut conn)).await?;
        Ok(())
    }

    /// The node holding the lease of the bridge run as `bot`, if any.
    pub async fn lease_holder(&self, bot: &str) -> Result<Option<String>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("GET");
        cmd.arg(lease_key(bot));
        timed(cmd.query_async(&mut conn)).await
    }

    /// The shared sync position of the bridge run as `bot`.
    pub async fn sync_position(&self, bot: &str) -> Result<Option<String>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("GET");
        cmd.arg(since_key(bot));
        timed(cmd.query_async(&mut conn)).await
    }

    /// Saves the sync position (after that sync's events were ordered).
    pub async fn set_sync_position(&self, bot: &str, since: &str) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(since_key(bot)).arg(since);
        timed(cmd.query_async::<()>(&mut conn)).await
    }

    /// Publishes the link state of each bridged channel (`(channel, state)`),
    /// for the viewers of the nodes that do not run the link.
    pub async fn set_link_states(
        &self,
        bot: &str,
        states: &[(String, String)],
    ) -> Result<(), ClusterError> {
        if states.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HSET");
        cmd.arg(states_key(bot));
        for (channel, state) in states {
            cmd.arg(channel).arg(state);
        }
        timed(cmd.query_async::<i64>(&mut conn)).await.map(drop)
    }

    /// The link state of each bridged channel as the holder last published it.
    pub async fn link_states(&self, bot: &str) -> Result<Vec<(String, String)>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(states_key(bot));
        timed(cmd.query_async(&mut conn)).await
    }

    /// Records that the holder sent message `message_id` of `channel` as
    /// Matrix event `event_id` (`chyron:{channel}:sent`), so any later holder
    /// can edit or redact it.
    pub async fn link_sent(
        &self,
        channel: &str,
        message_id: &str,
        event_id: &str,
    ) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let script = &*LINK_SENT_SCRIPT;
        let mut call = script.key(key(channel, "sent"));
        call.key(key(channel, "sent-order"))
            .arg(message_id)
            .arg(event_id)
            .arg(SENT_KEPT);
        timed(call.invoke_async::<i64>(&mut conn)).await.map(drop)
    }

    /// The Matrix event a holder sent message `message_id` of `channel` as.
    pub async fn sent_event(
        &self,
        channel: &str,
        message_id: &str,
    ) -> Result<Option<String>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(key(channel, "sent")).arg(message_id);
        timed(cmd.query_async(&mut conn)).await
    }

    /// The oldest queued change of `channel`'s room, if any.
    pub async fn outbox_next(&self, channel: &str) -> Result<Option<Queued>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(key(channel, "outbox"))
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1);
        let rows: Vec<(String, Vec<String>)> = timed(cmd.query_async(&mut conn)).await?;
        let Some((id, fields)) = rows.into_iter().next() else {
            return Ok(None);
        };
        match fields.as_slice() {
            [f1, epoch, f2, seq, f3, payload] if f1 == "epoch" && f2 == "seq" && f3 == "o" => {
                let seq = seq
                    .parse()
                    .map_err(|_| ClusterError::Corrupt(format!("outbox entry {id}")))?;
                Ok(Some(Queued {
                    id,
                    epoch: epoch.clone(),
                    seq,
                    payload: payload.clone(),
                }))
            }
            _ => Err(ClusterError::Corrupt(format!("outbox entry {id}"))),
        }
    }

    /// Removes a sent (or refused) change of `channel`'s outbox.
    pub async fn outbox_done(&self, channel: &str, id: &str) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("XDEL");
        cmd.arg(key(channel, "outbox")).arg(id);
        timed(cmd.query_async::<i64>(&mut conn)).await.map(drop)
    }

    /// How many changes wait in `channel`'s outbox.
    pub async fn outbox_len(&self, channel: &str) -> Result<u64, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("XLEN");
        cmd.arg(key(channel, "outbox"));
        timed(cmd.query_async(&mut conn)).await
    }
}
