//! Clustered mode's share of who is here: each node writes its feed
//! sockets per public channel to Redis ([`share_viewers`], every
//! [`SHARE_EVERY`], standing [`VIEWERS_STAND`]) and adds the other live
//! nodes' figures to its own ([`viewers`]); before counting who was seen,
//! it copies the cluster's presence sightings into its own `seen`
//! ([`pull_seen`]). Alone, both are this node's own.

use super::people::People;
use super::SEEN_WINDOW;
use crate::cluster::Cluster;
use crate::error::ApiError;
use crate::event::now_ms;
use crate::records::cluster_err;
use crate::store::seen;
use crate::AppState;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often a node writes its viewer figures.
pub const SHARE_EVERY: Duration = Duration::from_secs(1);

/// How long a node's figure stands without being rewritten: past it, the
/// node is taken for stopped.
pub const VIEWERS_STAND: Duration = Duration::from_secs(15);

/// Sightings copied from Redis per read at most (the next read copies on).
pub const PULL_AT_MOST: usize = 5_000;

/// Feed sockets of `channel` open: this node's, plus (clustered) every
/// other live node's.
pub async fn viewers(state: &AppState, channel: &str) -> Result<usize, ApiError> {
    let here = state.people.viewers(channel);
    let (Some(cluster), Some(node)) = (&state.cluster, state.people.node()) else {
        return Ok(here);
    };
    let elsewhere = cluster.viewers_elsewhere(channel, node, now_ms()).await;
    Ok(here + elsewhere.map_err(cluster_err)?)
}

/// Clustered: copies `channel`'s presence sightings recorded since the
/// last copy (by any node) into this node's `seen`.
pub async fn pull_seen(state: &AppState, channel: &str) -> Result<(), ApiError> {
    let Some(cluster) = &state.cluster else {
        return Ok(());
    };
    let window_start = now_ms() - SEEN_WINDOW.as_millis() as i64;
    let from = state
        .people
        .pulled(channel)
        .map_or(window_start, |p| p.max(window_start));
    let rows = cluster
        .sightings(channel, from, PULL_AT_MOST)
        .await
        .map_err(cluster_err)?;
    let Some(newest) = rows.iter().map(|(_, at)| *at).max() else {
        return Ok(());
    };
    let owned = channel.to_string();
    state
        .hub
        .store()
        .call(move |c| {
            let tx = c.transaction()?;
            for (user_id, at) in &rows {
                seen::record_present(&tx, &owned, user_id, *at, *at)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
        .map_err(|e| ApiError::internal("seen", e))?;
    // Sightings are scored by Redis as written, so later ones score at least
    // `newest`; ties are copied again next time (idempotent), never missed.
    state.people.set_pulled(channel, newest);
    Ok(())
}

/// Every [`SHARE_EVERY`] until `stop`: writes this node's feed sockets of
/// each of `public` channels to Redis as node `node` (a channel dropping to
/// zero deletes its field). Redis away: logged once, retried.
pub async fn share_viewers(
    people: Arc<People>,
    cluster: Arc<Cluster>,
    public: Vec<String>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(node) = people.node().map(str::to_string) else {
        return;
    };
    let public: HashSet<String> = public.into_iter().collect();
    let mut written: HashSet<String> = HashSet::new();
    let mut failing = false;
    let stand = VIEWERS_STAND.as_millis() as i64;
    loop {
        let now: Vec<(String, usize)> = people
            .all_viewers()
            .into_iter()
            .filter(|(c, _)| public.contains(c))
            .collect();
        let dropped: Vec<String> = written
            .iter()
            .filter(|c| !now.iter().any(|(n, _)| n == *c))
            .cloned()
            .collect();
        let mut result = Ok(());
        for (channel, n) in &now {
            let done = cluster.set_viewers(channel, &node, *n, now_ms() + stand, stand);
            result = result.and(done.await);
            written.insert(channel.clone());
        }
        for channel in dropped {
            result = result.and(cluster.set_viewers(&channel, &node, 0, 0, stand).await);
            written.remove(&channel);
        }
        match result {
            Err(e) if !failing => {
                tracing::warn!("who is here: viewer figures not shared ({e}); retrying");
                failing = true;
            }
            Ok(()) => failing = false,
            Err(_) => {}
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = tokio::time::sleep(SHARE_EVERY) => {}
        }
    }
    // Stopping: this node's figures go now rather than in VIEWERS_STAND.
    for channel in written {
        let _ = cluster.set_viewers(&channel, &node, 0, 0, stand).await;
    }
}
