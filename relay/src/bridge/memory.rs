//! What the bot remembers of its moderation work between tasks: a silenced
//! user's level before the timeout (`silenced:{room}:{user}`), each owner's
//! moderators' room (`modroom:{owner}`) and that it is marked
//! (`modroom-marked:{owner}`). The relay's SQLite `settings` when it runs
//! alone; Redis in clustered mode (`cluster::bridge_memory`), so a node
//! that takes the bridge over keeps the owners' rooms (rather than making
//! new ones) and gives a silenced user back their own level.

use crate::cluster::Cluster;
use crate::moderation::records::RecordsError;
use crate::store::{self, Store};
use std::sync::Arc;

/// Where the bot's memory is kept. Cheap to clone.
#[derive(Clone)]
pub enum Memory {
    /// This relay's SQLite `settings`.
    Local(Store),
    /// Redis, shared by the nodes that may run the bridge of `bot`.
    Shared {
        /// The cluster's Redis.
        cluster: Arc<Cluster>,
        /// The bot, which names the hash (one bridge per bot).
        bot: String,
    },
}

type Result<T> = std::result::Result<T, RecordsError>;

impl Memory {
    /// The memory of the bridge run as `bot`: in `cluster`'s Redis when
    /// there is one, else in `store`.
    pub fn new(store: &Store, cluster: Option<&Arc<Cluster>>, bot: &str) -> Memory {
        match cluster {
            Some(cluster) => Memory::Shared {
                cluster: cluster.clone(),
                bot: bot.to_string(),
            },
            None => Memory::Local(store.clone()),
        }
    }

    /// The value at `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        match self {
            Memory::Local(store) => {
                let key = key.to_string();
                Ok(store.call(move |c| store::get_setting(c, &key)).await?)
            }
            Memory::Shared { cluster, bot } => Ok(cluster.memory_get(bot, key).await?),
        }
    }

    /// Sets `key` to `value`.
    pub async fn set(&self, key: &str, value: &str) -> Result<()> {
        self.put(key, value, false).await
    }

    /// Sets `key` to `value` unless it has one (silencing twice keeps the
    /// level from before the first).
    pub async fn keep_first(&self, key: &str, value: &str) -> Result<()> {
        self.put(key, value, true).await
    }

    async fn put(&self, key: &str, value: &str, keep_first: bool) -> Result<()> {
        match self {
            Memory::Local(store) => {
                let (key, value) = (key.to_string(), value.to_string());
                store
                    .call(move |c| {
                        if !keep_first {
                            return store::set_setting(c, &key, &value);
                        }
                        let sql =
                            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
                        Ok(c.execute(sql, [key, value]).map(drop)?)
                    })
                    .await?;
            }
            Memory::Shared { cluster, bot } => {
                cluster.memory_set(bot, key, value, keep_first).await?
            }
        }
        Ok(())
    }

    /// Forgets `key`.
    pub async fn forget(&self, key: &str) -> Result<()> {
        match self {
            Memory::Local(store) => {
                let key = key.to_string();
                store
                    .call(move |c| Ok(c.execute("DELETE FROM settings WHERE key = ?1", [key])?))
                    .await?;
            }
            Memory::Shared { cluster, bot } => cluster.memory_forget(bot, key).await?,
        }
        Ok(())
    }

    /// Every key starting with `prefix`, without it, and its value.
    pub async fn with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let all = match self {
            Memory::Local(store) => {
                let like = format!("{}%", like_escape(prefix));
                store
                    .call(move |c| {
                        let sql = "SELECT key, value FROM settings WHERE key LIKE ?1 ESCAPE '\\'";
                        let mut stmt = c.prepare_cached(sql)?;
                        let rows = stmt.query_map([like], |r| Ok((r.get(0)?, r.get(1)?)))?;
                        Ok(rows.collect::<rusqlite::Result<Vec<(String, String)>>>()?)
                    })
                    .await?
            }
            Memory::Shared { cluster, bot } => cluster.memory_with_prefix(bot, prefix).await?,
        };
        Ok(all
            .into_iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v)))
            .collect())
    }
}

/// `s` with SQL LIKE's special characters escaped by `\`.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_memory_sets_keeps_the_first_lists_and_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let memory = Memory::new(&Store::open(dir.path()).unwrap(), None, "@bot:hs");
        assert_eq!(memory.get("silenced:!r:@a").await.unwrap(), None);
        memory.keep_first("silenced:!r:@a", "10").await.unwrap();
        memory.keep_first("silenced:!r:@a", "-1").await.unwrap();
        assert_eq!(
            memory.get("silenced:!r:@a").await.unwrap().as_deref(),
            Some("10")
        );
        memory.set("modroom:@dj:hs", "!one").await.unwrap();
        memory.set("modroom:@dj:hs", "!two").await.unwrap();
        memory.set("modroom_x", "not a modroom key").await.unwrap();
        memory.set("modroom-marked:@dj:hs", "!two").await.unwrap();
        assert_eq!(
            memory.with_prefix("modroom:").await.unwrap(),
            vec![("@dj:hs".to_string(), "!two".to_string())]
        );
        memory.forget("silenced:!r:@a").await.unwrap();
        assert_eq!(memory.get("silenced:!r:@a").await.unwrap(), None);
    }
}
