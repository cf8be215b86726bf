//! This relay as one node of a cluster: its id, and the task that reports
//! its figures to Redis for the cluster's view ([`crate::cluster::nodes`]).

use crate::cluster::nodes::REPORT_TTL;
use crate::cluster::Cluster;
use crate::metrics::Metrics;
use std::sync::Arc;
use tokio::sync::watch;

/// Reports `id`'s figures every third of [`REPORT_TTL`] until `stop` turns
/// `true`, then withdraws the report, so a node that stops cleanly leaves
/// the count at once (one that dies leaves it when its report expires).
pub async fn report(
    id: String,
    cluster: Arc<Cluster>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    metrics.node.get_or_create(&vec![("id", id.clone())]).set(1);
    loop {
        if let Err(e) = cluster.report(&id, &metrics.report()).await {
            tracing::warn!("reporting this node to the cluster: {e}");
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = tokio::time::sleep(REPORT_TTL / 3) => {}
        }
    }
    if let Err(e) = cluster.withdraw(&id).await {
        tracing::warn!("withdrawing this node from the cluster: {e}");
    }
}
