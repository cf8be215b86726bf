//! Clustered mode's record of when event appointments start and end
//! (`moderation::role_edges`): one sorted set, `chyron:mod:role-edges`,
//! the edge's JSON scored by when it falls due. A node claims a due edge
//! with `ZREM`, which only one node's call wins, so each edge is acted on
//! once in the cluster.

use super::{Cluster, ClusterError};

const EDGES: &str = "chyron:mod:role-edges";

impl Cluster {
    /// Records `edge` (JSON) due at `at`.
    pub async fn mod_add_edge(&self, edge: &str, at: i64) -> Result<(), ClusterError> {
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(EDGES).arg(at).arg(edge);
        self.query::<i64>(cmd).await.map(drop)
    }

    /// Up to `limit` edges due at or before `now`, earliest first.
    pub async fn mod_due_edges(&self, now: i64, limit: usize) -> Result<Vec<String>, ClusterError> {
        let mut cmd = redis::cmd("ZRANGEBYSCORE");
        cmd.arg(EDGES)
            .arg("-inf")
            .arg(now)
            .arg("LIMIT")
            .arg(0)
            .arg(limit);
        self.query(cmd).await
    }

    /// Takes `edge` off the record; whether this call did (one node wins).
    pub async fn mod_claim_edge(&self, edge: &str) -> Result<bool, ClusterError> {
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(EDGES).arg(edge);
        Ok(self.query::<i64>(cmd).await? > 0)
    }

    /// When the earliest edge falls due.
    pub async fn mod_next_edge(&self) -> Result<Option<i64>, ClusterError> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(EDGES).arg(0).arg(0).arg("WITHSCORES");
        let first: Vec<(String, i64)> = self.query(cmd).await?;
        Ok(first.first().map(|(_, at)| *at))
    }
}
