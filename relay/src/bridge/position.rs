//! Where the sync loop keeps its position (the `since` token), saved only
//! after the events of that sync are committed: the relay's SQLite for a
//! single relay, Redis in clustered mode, so a node that takes the bridge
//! over resumes where the last holder stopped.

use crate::bridge::session::SessionError;
use crate::cluster::Cluster;
use crate::hub::Hub;
use crate::store;
use matrix_sdk::ruma::UserId;

/// The sync position's home.
pub enum Position<'a> {
    /// This relay's SQLite, under a key naming the homeserver and the bot.
    Local {
        /// The relay's hub (its store).
        hub: &'a Hub,
        /// The setting's key.
        key: String,
    },
    /// Redis, shared by every node that may run the bridge.
    Shared {
        /// The cluster's Redis.
        cluster: &'a Cluster,
        /// The bot, which names the key (one bridge per bot).
        bot: String,
    },
}

impl<'a> Position<'a> {
    /// The position of the bridge of `me` on `homeserver`.
    pub fn new(hub: &'a Hub, homeserver: &str, me: &UserId) -> Position<'a> {
        match hub.cluster() {
            Some(cluster) => Position::Shared {
                cluster,
                bot: me.to_string(),
            },
            None => Position::Local {
                hub,
                key: format!("matrix.sync_token {homeserver} {me}"),
            },
        }
    }

    /// The saved token, if any.
    pub async fn load(&self) -> Result<Option<String>, SessionError> {
        match self {
            Position::Local { hub, key } => {
                let key = key.clone();
                Ok(hub
                    .store()
                    .call(move |c| store::get_setting(c, &key))
                    .await?)
            }
            Position::Shared { cluster, bot } => Ok(cluster.sync_position(bot).await?),
        }
    }

    /// Saves `next` (every event before it is committed).
    pub async fn save(&self, next: &str) -> Result<(), SessionError> {
        match self {
            Position::Local { hub, key } => {
                let (key, next) = (key.clone(), next.to_string());
                hub.store()
                    .call(move |c| store::set_setting(c, &key, &next))
                    .await?;
            }
            Position::Shared { cluster, bot } => cluster.set_sync_position(bot, next).await?,
        }
        Ok(())
    }
}
