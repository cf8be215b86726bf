//! What the bridge's bot remembers of its moderation work, in clustered
//! mode: one hash per bot, `chyron:bridge:{bot}:memory`, key → value (a
//! silenced user's level before, each owner's moderators' room and whether
//! it is marked; see `bridge::memory`). Shared, so the node that takes the
//! bridge over uses the same rooms and restores the same levels.

use super::{Cluster, ClusterError};

/// The hash of what the bridge run as `bot` remembers.
fn memory_key(bot: &str) -> String {
    format!("chyron:bridge:{{{bot}}}:memory")
}

impl Cluster {
    /// The value remembered at `key`, if any.
    pub async fn memory_get(&self, bot: &str, key: &str) -> Result<Option<String>, ClusterError> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(memory_key(bot)).arg(key);
        self.query(cmd).await
    }

    /// Remembers `value` at `key`: replacing what was there, or, with
    /// `keep_first`, only if nothing was.
    pub async fn memory_set(
        &self,
        bot: &str,
        key: &str,
        value: &str,
        keep_first: bool,
    ) -> Result<(), ClusterError> {
        let mut cmd = redis::cmd(if keep_first { "HSETNX" } else { "HSET" });
        cmd.arg(memory_key(bot)).arg(key).arg(value);
        self.query::<i64>(cmd).await.map(drop)
    }

    /// Forgets `key`.
    pub async fn memory_forget(&self, bot: &str, key: &str) -> Result<(), ClusterError> {
        let mut cmd = redis::cmd("HDEL");
        cmd.arg(memory_key(bot)).arg(key);
        self.query::<i64>(cmd).await.map(drop)
    }

    /// Everything remembered whose key starts with `prefix`: (key, value).
    pub async fn memory_with_prefix(
        &self,
        bot: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, ClusterError> {
        let (mut cursor, mut all) = (0u64, Vec::new());
        loop {
            let mut cmd = redis::cmd("HSCAN");
            cmd.arg(memory_key(bot))
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", glob_escape(prefix)))
                .arg("COUNT")
                .arg(500);
            let (next, page): (u64, Vec<(String, String)>) = self.query(cmd).await?;
            all.extend(page);
            if next == 0 {
                return Ok(all);
            }
            cursor = next;
        }
    }
}

/// `s` with Redis glob's special characters escaped.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
