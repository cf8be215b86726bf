//! The cluster's view of itself: each node writes a short report of its
//! figures to Redis every few seconds (`chyron:node:{id}`, expiring after
//! [`REPORT_TTL`], its id in the set `chyron:nodes`), and any node's
//! `/metrics` sums the reports of the nodes alive, so one scrape shows the
//! whole cluster beside that node's own figures.

use super::{timed, Cluster, ClusterError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a report stands: a node silent this long is counted gone.
pub const REPORT_TTL: Duration = Duration::from_secs(15);

const NODES: &str = "chyron:nodes";

/// One node's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Feed websockets open on it.
    pub viewers: i64,
    /// Channels it holds in memory.
    pub channels_loaded: i64,
    /// TCP connections open on it.
    pub connections: i64,
    /// Frames it has sent to viewers since it started.
    pub frames_sent: u64,
}

fn node_key(id: &str) -> String {
    format!("chyron:node:{id}")
}

impl Cluster {
    /// Writes node `id`'s report.
    pub async fn report(&self, id: &str, report: &NodeReport) -> Result<(), ClusterError> {
        let text =
            serde_json::to_string(report).map_err(|e| ClusterError::Corrupt(e.to_string()))?;
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(node_key(id))
            .arg(text)
            .arg("PX")
            .arg(REPORT_TTL.as_millis() as u64)
            .ignore()
            .cmd("SADD")
            .arg(NODES)
            .arg(id)
            .ignore();
        timed(pipe.query_async::<()>(&mut conn)).await
    }

    /// Withdraws node `id`'s report (it is stopping).
    pub async fn withdraw(&self, id: &str) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(node_key(id)).ignore();
        pipe.cmd("SREM").arg(NODES).arg(id).ignore();
        timed(pipe.query_async::<()>(&mut conn)).await
    }

    /// The reports of the nodes alive, by id (and forgets the ids of nodes
    /// whose report expired).
    pub async fn nodes(&self) -> Result<Vec<(String, NodeReport)>, ClusterError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(NODES);
        let ids: Vec<String> = timed(cmd.query_async(&mut conn)).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for id in &ids {
            cmd.arg(node_key(id));
        }
        let texts: Vec<Option<String>> = timed(cmd.query_async(&mut conn)).await?;
        let mut alive = Vec::new();
        let mut gone = Vec::new();
        for (id, text) in ids.into_iter().zip(texts) {
            match text.map(|t| serde_json::from_str::<NodeReport>(&t)) {
                Some(Ok(report)) => alive.push((id, report)),
                Some(Err(e)) => return Err(ClusterError::Corrupt(format!("node report: {e}"))),
                None => gone.push(id),
            }
        }
        if !gone.is_empty() {
            let mut cmd = redis::cmd("SREM");
            cmd.arg(NODES).arg(&gone);
            let _: i64 = timed(cmd.query_async(&mut conn)).await?;
        }
        alive.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(alive)
    }
}
