//! The live marks themselves: committed to SQLite with a copy in memory when
//! the relay runs alone; in Redis in clustered mode, so a mark made through
//! one node is listed by every node's directory ([`crate::cluster::records`]).

use super::MAX_LIVE_PER_CHANNEL;
use crate::cluster::{Cluster, ClusterError};
use crate::event::now_ms;
use crate::store::live::{load_live, set_live, unset_live};
use crate::store::{Store, StoreError};
use chyron_protocol::LiveDj;
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::OnceCell;

/// Channel → its live DJs, longest live first.
pub type LiveMap = HashMap<String, Vec<LiveDj>>;

/// The live DJs of every channel: the store's records and a copy in memory.
pub struct LiveDjs {
    /// Where marks are committed; its one connection also serializes changes,
    /// so the cap check, the write and the copy agree.
    store: Store,
    /// The copy in memory, read from the store on first use (so building
    /// the state touches no disk).
    copy: OnceCell<Arc<RwLock<LiveMap>>>,
    /// In clustered mode, where the marks are instead of `store`: every
    /// node reads and changes the same ones.
    cluster: Option<Arc<Cluster>>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The channel has [`MAX_LIVE_PER_CHANNEL`] live DJs already.
    #[error("the channel already has {MAX_LIVE_PER_CHANNEL} live DJs")]
    Full,
    /// SQLite failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The cluster's Redis failed (clustered mode).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl LiveDjs {
    /// Live DJs kept in `store`, or in `cluster`'s Redis when there is
    /// one; nothing is read until first used.
    pub fn new(store: Store, cluster: Option<Arc<Cluster>>) -> LiveDjs {
        LiveDjs {
            store,
            copy: OnceCell::new(),
            cluster,
        }
    }

    async fn loaded(&self) -> Result<Arc<RwLock<LiveMap>>, StoreError> {
        let copy = self
            .copy
            .get_or_try_init(|| async {
                let mut map = LiveMap::new();
                for (channel, dj) in self.store.call(load_live).await? {
                    map.entry(channel).or_default().push(dj);
                }
                Ok::<_, StoreError>(Arc::new(RwLock::new(map)))
            })
            .await?;
        Ok(copy.clone())
    }

    /// Every channel's live DJs.
    pub async fn all(&self) -> Result<LiveMap, LiveError> {
        if let Some(cluster) = &self.cluster {
            let mut map = LiveMap::new();
            for (channel, dj) in cluster.live().await? {
                map.entry(channel).or_default().push(dj);
            }
            for list in map.values_mut() {
                sort(list);
            }
            return Ok(map);
        }
        let copy = self.loaded().await?;
        let map = copy.read().unwrap_or_else(|e| e.into_inner());
        Ok(map.clone())
    }

    /// `channel`'s live DJs, longest live first.
    pub async fn list(&self, channel: &str) -> Result<Vec<LiveDj>, LiveError> {
        Ok(self.all().await?.remove(channel).unwrap_or_default())
    }

    /// Marks `user_id` live on `channel` as `name`; a DJ live already keeps
    /// their `since`. Returns the channel's live DJs after the change.
    pub async fn start(
        &self,
        channel: &str,
        user_id: &str,
        name: Option<String>,
    ) -> Result<Vec<LiveDj>, LiveError> {
        if let Some(cluster) = &self.cluster {
            let dj = LiveDj {
                user_id: user_id.to_string(),
                name,
                since: now_ms(),
            };
            if !cluster
                .mark_live(channel, &dj, MAX_LIVE_PER_CHANNEL)
                .await?
            {
                return Err(LiveError::Full);
            }
            return self.list(channel).await;
        }
        let user_id = user_id.to_string();
        self.change(channel, move |conn, channel, current| {
            let old = current.iter().find(|d| d.user_id == user_id);
            if old.is_none() && current.len() >= MAX_LIVE_PER_CHANNEL {
                return Ok(None);
            }
            let dj = LiveDj {
                since: old.map_or_else(now_ms, |d| d.since),
                user_id,
                name,
            };
            if old != Some(&dj) {
                set_live(conn, channel, &dj)?;
            }
            let mut next: Vec<LiveDj> = without(current, &dj.user_id);
            next.push(dj);
            sort(&mut next);
            Ok(Some(next))
        })
        .await
    }

    /// Marks `user_id` no longer live on `channel` (nothing if they were
    /// not). Returns the channel's live DJs after the change.
    pub async fn stop(&self, channel: &str, user_id: &str) -> Result<Vec<LiveDj>, LiveError> {
        if let Some(cluster) = &self.cluster {
            cluster.unmark_live(channel, user_id).await?;
            return self.list(channel).await;
        }
        let user_id = user_id.to_string();
        self.change(channel, move |conn, channel, current| {
            if current.iter().any(|d| d.user_id == user_id) {
                unset_live(conn, channel, &user_id)?;
            }
            Ok(Some(without(current, &user_id)))
        })
        .await
    }

    /// Runs `f` (given the channel's live DJs, it writes the store and
    /// returns the new list, or `None` when the channel is full) on the
    /// store's thread, then updates the copy there too: a request cancelled
    /// meanwhile cannot leave the copy behind the store.
    async fn change<F>(&self, channel: &str, f: F) -> Result<Vec<LiveDj>, LiveError>
    where
        F: FnOnce(&mut Connection, &str, &[LiveDj]) -> Result<Option<Vec<LiveDj>>, StoreError>
            + Send
            + 'static,
    {
        let copy = self.loaded().await?;
        let channel = channel.to_string();
        let next = self
            .store
            .call(move |conn| {
                let current = {
                    let map = copy.read().unwrap_or_else(|e| e.into_inner());
                    map.get(&channel).cloned().unwrap_or_default()
                };
                let Some(next) = f(conn, &channel, &current)? else {
                    return Ok(None);
                };
                let mut map = copy.write().unwrap_or_else(|e| e.into_inner());
                if next.is_empty() {
                    map.remove(&channel);
                } else {
                    map.insert(channel, next.clone());
                }
                Ok(Some(next))
            })
            .await?;
        next.ok_or(LiveError::Full)
    }
}

fn without(list: &[LiveDj], user_id: &str) -> Vec<LiveDj> {
    list.iter()
        .filter(|d| d.user_id != user_id)
        .cloned()
        .collect()
}

/// Longest live first; ties by user id, so every node lists them alike.
fn sort(list: &mut [LiveDj]) {
    list.sort_by(|a, b| (a.since, &a.user_id).cmp(&(b.since, &b.user_id)));
}
