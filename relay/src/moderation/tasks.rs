//! The queue of moderation work for the Matrix side: what the relay decided
//! (a timeout, a ban, a moderator appointed, a log line) and the bridge's bot
//! must now do in the bridged rooms. Kept in SQLite (`mod_tasks`), so a task
//! queued before a restart is still done after it, in the order it was made;
//! in clustered mode in Redis (`cluster::tasks`), so a task queued through
//! any node is done by the node holding the bridge lease, and its outcome
//! read back by the node that queued it.
//!
//! The relay core [`enqueue`](Tasks::enqueue)s and may [`wait`](Tasks::wait)
//! a moment for the outcome to tell the moderator; the bridge's executor
//! (`bridge::moderate`) takes [`next`](Tasks::next) and
//! [`finish`](Tasks::finish)es it.

use super::records::RecordsError;
use crate::cluster::Cluster;
use crate::event::now_ms;
use crate::store::{Store, StoreError};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Finished tasks are forgotten this long after they were queued.
const KEEP_FINISHED_MS: i64 = 7 * 24 * 3600 * 1000;

/// In clustered mode, how often the executor looks for tasks other nodes
/// queued, and a waiter for an outcome another node recorded: Redis has no
/// wake-up across nodes here, and one `ZRANGE` four times a second is cheap.
pub const CLUSTER_POLL: Duration = Duration::from_millis(250);

/// How often a waiter looks for an outcome in Redis.
const CLUSTER_WAIT_POLL: Duration = Duration::from_millis(50);

/// One thing for the bot to do in Matrix (JSON in `mod_tasks.task`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MatrixTask {
    /// Lower the user's power level below the room's `events_default`, so
    /// the homeserver refuses their posts; their level before is remembered.
    Silence {
        /// The channel whose bridged room it is done in.
        channel: String,
        /// The Matrix user id.
        user_id: String,
    },
    /// Give the user back the power level remembered by `Silence`.
    Unsilence {
        /// The channel whose bridged room it is done in.
        channel: String,
        /// The Matrix user id.
        user_id: String,
    },
    /// Ban the user from the bridged room.
    Ban {
        /// The channel whose bridged room it is done in.
        channel: String,
        /// The Matrix user id.
        user_id: String,
        /// Shown to the room with the ban, if given.
        reason: Option<String>,
    },
    /// Lift a ban from the bridged room.
    Unban {
        /// The channel whose bridged room it is done in.
        channel: String,
        /// The Matrix user id.
        user_id: String,
    },
    /// Give a moderator power level 50 in the bridged room.
    Promote {
        /// The channel whose bridged room it is done in.
        channel: String,
        /// The Matrix user id.
        user_id: String,
    },
    /// Take back what `Promote` gave (to the room's `users_default`).
    Demote {
        /// The channel whose bridged room it is done in.
        channel: String,
        /// The Matrix user id.
        user_id: String,
    },
    /// Redact one event in the bridged room.
    Redact {
        /// The channel whose bridged room it is done in.
        channel: String,
        /// The Matrix event id.
        event_id: String,
        /// Shown with the redaction, if given.
        reason: Option<String>,
    },
    /// Post a line in the owner's private moderators' room (created on
    /// first use).
    ModLog {
        /// The owner (a Matrix user id) whose moderators' room it is.
        owner: String,
        /// The text posted, as a notice.
        line: String,
    },
    /// Invite someone to the owner's moderators' room, or remove them.
    ModRoom {
        /// The owner (a Matrix user id) whose moderators' room it is.
        owner: String,
        /// The Matrix user id invited or removed.
        user_id: String,
        /// `true`: invite; `false`: kick.
        member: bool,
    },
}

/// How a task ended (JSON in `mod_tasks.outcome`; NULL while unfinished).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Done in Matrix.
    Done,
    /// The homeserver refused, or the task cannot be done; the text says
    /// why, for the moderator.
    Failed(String),
    /// The channel has no bridged room: nothing to do in Matrix.
    NotBridged,
}

/// The queue's handle. Cheap to clone; clones share the wake-ups.
#[derive(Clone)]
pub struct Tasks {
    /// Shared by every clone.
    inner: Arc<Inner>,
}

struct Inner {
    /// Where the queue is kept.
    backend: Backend,
    /// Wakes the executor when a task is queued (a permit is kept if it is
    /// busy, so no wake-up is lost).
    queued: Notify,
    /// Counts finished tasks: waiters look at the table again on each change.
    finished: watch::Sender<u64>,
}

/// Where the queue is kept.
enum Backend {
    /// This relay's SQLite (`mod_tasks`): the relay runs alone.
    Sqlite(Store),
    /// Redis, shared by every node (`cluster::tasks`).
    Redis(Arc<Cluster>),
}

impl Tasks {
    /// A handle on the queue kept in `store`, or in `cluster`'s Redis in
    /// clustered mode.
    pub fn new(store: Store, cluster: Option<Arc<Cluster>>) -> Tasks {
        Tasks {
            inner: Arc::new(Inner {
                backend: match cluster {
                    Some(c) => Backend::Redis(c),
                    None => Backend::Sqlite(store),
                },
                queued: Notify::new(),
                finished: watch::Sender::new(0),
            }),
        }
    }

    /// Queues `task` (committed when this returns) and wakes the executor.
    pub async fn enqueue(&self, task: MatrixTask) -> Result<i64, RecordsError> {
        let json = serde_json::to_string(&task).map_err(|e| StoreError::Join(e.to_string()))?;
        let id = match &self.inner.backend {
            Backend::Redis(cluster) => cluster.task_enqueue(&json, now_ms()).await?,
            Backend::Sqlite(store) => {
                store
                    .call(move |c| {
                        c.execute(
                            "INSERT INTO mod_tasks (task, created) VALUES (?1, ?2)",
                            params![json, now_ms()],
                        )?;
                        Ok(c.last_insert_rowid())
                    })
                    .await?
            }
        };
        self.inner.queued.notify_one();
        Ok(id)
    }

    /// The outcome of task `id` once the executor finished it, or `None` if
    /// it has not within `within` (or there is no such task).
    pub async fn wait(&self, id: i64, within: Duration) -> Option<Outcome> {
        let deadline = tokio::time::Instant::now() + within;
        let mut finished = self.inner.finished.subscribe();
        loop {
            finished.borrow_and_update();
            if let Some(outcome) = self.outcome(id).await {
                return Some(outcome);
            }
            // Another node's executor tells nobody here: look again soon.
            let poll = match self.inner.backend {
                Backend::Redis(_) => CLUSTER_WAIT_POLL,
                Backend::Sqlite(_) => within,
            };
            let next = deadline.min(tokio::time::Instant::now() + poll);
            match tokio::time::timeout_at(next, finished.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return None,
                Err(_) if next >= deadline => return None,
                Err(_) => {}
            }
        }
    }

    /// The outcome of task `id`, if it is finished.
    pub async fn outcome(&self, id: i64) -> Option<Outcome> {
        let text = match &self.inner.backend {
            Backend::Redis(cluster) => cluster.task_outcome(id).await.map_err(RecordsError::from),
            Backend::Sqlite(store) => store
                .call(move |c| {
                    let sql = "SELECT outcome FROM mod_tasks WHERE id = ?1";
                    let row = c.query_row(sql, [id], |r| r.get::<_, Option<String>>(0));
                    Ok(row.optional()?.flatten())
                })
                .await
                .map_err(RecordsError::from),
        };
        let text = text
            .inspect_err(|e| tracing::warn!("moderation task {id}: {e}"))
            .ok()??;
        serde_json::from_str(&text).ok()
    }

    /// The oldest unfinished task, for the executor; `None` when there is
    /// none (then await [`queued`](Tasks::queued)). A task this version
    /// cannot read is finished as failed and skipped.
    pub async fn next(&self) -> Option<(i64, MatrixTask)> {
        loop {
            let row = match &self.inner.backend {
                Backend::Redis(cluster) => cluster.task_next().await.map_err(RecordsError::from),
                Backend::Sqlite(store) => store
                    .call(|c| {
                        let sql = "SELECT id, task FROM mod_tasks WHERE outcome IS NULL \
                                   ORDER BY id LIMIT 1";
                        let row = c.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)));
                        Ok(row.optional()?)
                    })
                    .await
                    .map_err(RecordsError::from),
            };
            let (id, json): (i64, String) = row
                .inspect_err(|e| tracing::warn!("moderation tasks: {e}"))
                .ok()??;
            match serde_json::from_str(&json) {
                Ok(task) => return Some((id, task)),
                Err(e) => {
                    let why = format!("unreadable task: {e}");
                    self.finish(id, Outcome::Failed(why)).await;
                }
            }
        }
    }

    /// Returns once a task was queued since the last call (at once if one
    /// was queued while nobody waited); in clustered mode also after
    /// [`CLUSTER_POLL`], since another node's enqueue wakes nobody here.
    pub async fn queued(&self) {
        match self.inner.backend {
            Backend::Redis(_) => {
                let _ = tokio::time::timeout(CLUSTER_POLL, self.inner.queued.notified()).await;
            }
            Backend::Sqlite(_) => self.inner.queued.notified().await,
        }
    }

    /// Records how task `id` ended and tells its waiters; finished tasks
    /// older than a week are forgotten.
    pub async fn finish(&self, id: i64, outcome: Outcome) {
        let Ok(json) = serde_json::to_string(&outcome) else {
            return;
        };
        let done = match &self.inner.backend {
            Backend::Redis(cluster) => cluster
                .task_finish(id, &json)
                .await
                .map_err(RecordsError::from),
            Backend::Sqlite(store) => store
                .call(move |c| {
                    c.execute(
                        "UPDATE mod_tasks SET outcome = ?2 WHERE id = ?1",
                        params![id, json],
                    )?;
                    c.execute(
                        "DELETE FROM mod_tasks WHERE outcome IS NOT NULL AND created < ?1",
                        [now_ms() - KEEP_FINISHED_MS],
                    )?;
                    Ok(())
                })
                .await
                .map_err(RecordsError::from),
        };
        if let Err(e) = done {
            tracing::warn!("moderation task {id}: outcome not recorded: {e}");
        }
        self.inner.finished.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
#[path = "tasks_tests.rs"]
mod tests;
