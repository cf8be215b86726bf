//! Where moderation's records are kept: the relay's SQLite when it runs
//! alone ([`crate::store::moderation`]), Redis in clustered mode
//! ([`crate::cluster::moderation`]), so a timeout made through one node
//! refuses posts at every node, and roles, karma, the log and the
//! sessions' key are the same everywhere. Each node's in-memory
//! [`super::sanctions::Sanctions`] follows Redis by [`follow`].

use super::Moderation;
use crate::cluster::moderation::{sanction_field, AppointmentRecord, SanctionRecord};
use crate::cluster::{Cluster, ClusterError};
use crate::error::ApiError;
use crate::store::moderation::{self as db, Appointment, Kind, LogLine, Sanction};
use crate::store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often a node re-reads the sanctions in clustered mode: a sanction
/// put or lifted through another node refuses (or stops refusing) here
/// within this plus one Redis round trip.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// Moderation's records, in one place or the other.
pub enum Records {
    /// The relay alone: its SQLite.
    Sqlite(Store),
    /// Clustered mode: the shared Redis.
    Redis(Arc<Cluster>),
}

/// Why a record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// SQLite failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis failed (unreachable, or data it should not hold).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl RecordsError {
    /// As the API answers it: `503` with `Retry-After` while Redis is
    /// unreachable (nothing changed), else `500`.
    pub fn api(self, what: &str) -> ApiError {
        match self {
            RecordsError::Store(e) => ApiError::internal(what, e),
            RecordsError::Cluster(e) => crate::records::cluster_err(e),
        }
    }
}

type Result<T> = std::result::Result<T, RecordsError>;

fn kind_of(name: &str) -> Kind {
    match name {
        "ban" => Kind::Ban,
        _ => Kind::Timeout,
    }
}

fn record(s: &Sanction, actor: &str, now: i64) -> SanctionRecord {
    SanctionRecord {
        until: s.until,
        reason: s.reason.clone(),
        actor: actor.to_string(),
        since: now,
    }
}

fn field(s: &Sanction) -> String {
    sanction_field(s.kind.name(), &s.channel, &s.user_id)
}

impl Records {
    /// Every sanction in force, oldest first.
    pub async fn sanctions(&self) -> Result<Vec<Sanction>> {
        match self {
            Records::Sqlite(store) => Ok(store.call(db::sanctions).await?),
            Records::Redis(cluster) => {
                let mut all = cluster.mod_sanctions().await?;
                all.sort_by_key(|(.., r)| r.since);
                Ok(all
                    .into_iter()
                    .map(|(kind, channel, user_id, r)| Sanction {
                        channel,
                        user_id,
                        kind: kind_of(&kind),
                        until: r.until,
                        reason: r.reason,
                    })
                    .collect())
            }
        }
    }

    /// Records a sanction (a ban: timeouts go with their karma through
    /// [`Records::put_timeout`]), replacing one of the same kind.
    pub async fn put_sanction(&self, s: &Sanction, actor: &str, now: i64) -> Result<()> {
        match self {
            Records::Sqlite(store) => {
                let (s, actor) = (s.clone(), actor.to_string());
                store
                    .call(move |c| db::put_sanction(c, &s, &actor, now))
                    .await?;
            }
            Records::Redis(cluster) => {
                cluster
                    .mod_put_sanction(&field(s), &record(s, actor, now))
                    .await?
            }
        }
        Ok(())
    }

    /// Records a timeout and, unless it extends one lasting past `now`,
    /// `karma` (points, last) for `owner`, in one step; whether it extended.
    pub async fn put_timeout(
        &self,
        s: &Sanction,
        actor: &str,
        now: i64,
        owner: &str,
        karma: (i64, i64),
    ) -> Result<bool> {
        match self {
            Records::Sqlite(store) => {
                let (s, actor, owner) = (s.clone(), actor.to_string(), owner.to_string());
                Ok(store
                    .call(move |conn| {
                        let tx = conn.transaction()?;
                        let extended = db::timeout_until(&tx, &s.channel, &s.user_id)?
                            .is_some_and(|until| until > now);
                        db::put_sanction(&tx, &s, &actor, now)?;
                        if !extended {
                            db::set_karma(&tx, &owner, &s.user_id, karma.0, karma.1)?;
                        }
                        tx.commit()?;
                        Ok(extended)
                    })
                    .await?)
            }
            Records::Redis(cluster) => Ok(cluster
                .mod_time_out(
                    &field(s),
                    &record(s, actor, now),
                    now,
                    owner,
                    &s.user_id,
                    karma,
                )
                .await?),
        }
    }

    /// Lifts a sanction; with `until`, only a timeout still ending then (its
    /// end reached: of several nodes, one lifts it). Whether this lifted it.
    pub async fn lift(
        &self,
        channel: &str,
        user_id: &str,
        kind: Kind,
        until: Option<i64>,
    ) -> Result<bool> {
        match self {
            Records::Sqlite(store) => {
                let (c, u) = (channel.to_string(), user_id.to_string());
                Ok(store
                    .call(move |conn| db::lift(conn, &c, &u, kind, until))
                    .await?)
            }
            Records::Redis(cluster) => Ok(cluster
                .mod_lift(&sanction_field(kind.name(), channel, user_id), until)
                .await?),
        }
    }

    /// The owners the API added to `channel`.
    pub async fn owners(&self, channel: &str) -> Result<Vec<String>> {
        match self {
            Records::Sqlite(store) => {
                let name = channel.to_string();
                Ok(store.call(move |c| db::owners(c, &name)).await?)
            }
            Records::Redis(cluster) => Ok(cluster.mod_owners(channel).await?),
        }
    }

    /// Adds (`on`) or removes an owner; whether anything changed.
    pub async fn set_owner(
        &self,
        channel: &str,
        user_id: &str,
        on: bool,
        now: i64,
    ) -> Result<bool> {
        match self {
            Records::Sqlite(store) => {
                let (c, u) = (channel.to_string(), user_id.to_string());
                Ok(store
                    .call(move |conn| db::set_owner(conn, &c, &u, on, now))
                    .await?)
            }
            Records::Redis(cluster) => Ok(cluster.mod_set_owner(channel, user_id, on, now).await?),
        }
    }

    /// The appointments in `scopes`, scope by scope, each by when made.
    pub async fn appointments(&self, scopes: Vec<String>) -> Result<Vec<Appointment>> {
        match self {
            Records::Sqlite(store) => Ok(store.call(move |c| db::appointments(c, &scopes)).await?),
            Records::Redis(cluster) => {
                let mut all = Vec::new();
                for scope in scopes {
                    let mut found = cluster.mod_appointments(&scope).await?;
                    found.sort_by(|(a, ra), (b, rb)| (ra.added, a).cmp(&(rb.added, b)));
                    all.extend(found.into_iter().map(|(user_id, r)| Appointment {
                        scope: scope.clone(),
                        user_id,
                        from: r.from,
                        until: r.until,
                        appointed_by: r.appointed_by,
                    }));
                }
                Ok(all)
            }
        }
    }

    /// Records an appointment (replacing the same scope's for that person).
    pub async fn appoint(&self, a: &Appointment, now: i64) -> Result<()> {
        match self {
            Records::Sqlite(store) => {
                let a = a.clone();
                Ok(store.call(move |c| db::appoint(c, &a, now)).await?)
            }
            Records::Redis(cluster) => {
                let r = AppointmentRecord {
                    from: a.from,
                    until: a.until,
                    appointed_by: a.appointed_by.clone(),
                    added: now,
                };
                Ok(cluster.mod_appoint(&a.scope, &a.user_id, &r).await?)
            }
        }
    }

    /// Ends `user_id`'s appointments in `scopes`; how many there were.
    pub async fn dismiss(&self, scopes: Vec<String>, user_id: &str) -> Result<usize> {
        match self {
            Records::Sqlite(store) => {
                let u = user_id.to_string();
                Ok(store
                    .call(move |c| {
                        let mut n = 0;
                        for scope in &scopes {
                            n += usize::from(db::dismiss(c, scope, &u)?);
                        }
                        Ok(n)
                    })
                    .await?)
            }
            Records::Redis(cluster) => {
                let mut n = 0;
                for scope in &scopes {
                    n += usize::from(cluster.mod_dismiss(scope, user_id).await?);
                }
                Ok(n)
            }
        }
    }

    /// A person's karma with one owner: (points, when the last was added).
    pub async fn karma(&self, owner: &str, user_id: &str) -> Result<Option<(i64, i64)>> {
        match self {
            Records::Sqlite(store) => {
                let (o, u) = (owner.to_string(), user_id.to_string());
                Ok(store.call(move |c| db::karma(c, &o, &u)).await?)
            }
            Records::Redis(cluster) => Ok(cluster.mod_karma(owner, user_id).await?),
        }
    }

    /// Appends a line to `channel`'s log (its `id` is given here).
    pub async fn log(&self, channel: &str, line: LogLine) -> Result<i64> {
        match self {
            Records::Sqlite(store) => {
                let channel = channel.to_string();
                Ok(store.call(move |c| db::log(c, &channel, &line)).await?)
            }
            Records::Redis(cluster) => {
                let json = serde_json::to_string(&line)
                    .map_err(|e| ClusterError::Corrupt(e.to_string()))?;
                Ok(cluster.mod_log(channel, &json).await?)
            }
        }
    }

    /// The newest `limit` log lines of `channel` before id `before`.
    pub async fn log_page(&self, channel: &str, before: i64, limit: usize) -> Result<Vec<LogLine>> {
        match self {
            Records::Sqlite(store) => {
                let c = channel.to_string();
                Ok(store
                    .call(move |conn| db::log_page(conn, &c, before, limit))
                    .await?)
            }
            Records::Redis(cluster) => {
                let rows = cluster.mod_log_page(channel, before, limit).await?;
                rows.into_iter()
                    .map(|(id, json)| {
                        let mut line: LogLine = serde_json::from_str(&json)
                            .map_err(|e| ClusterError::Corrupt(format!("log line: {e}")))?;
                        line.id = id;
                        Ok(line)
                    })
                    .collect()
            }
        }
    }

    /// The sessions' key in hex: `fresh` if none was stored yet, else the
    /// one stored (by this relay before a restart, or by another node).
    pub async fn session_key(&self, fresh: String) -> Result<Option<String>> {
        match self {
            Records::Sqlite(store) => Ok(store
                .call(move |c| {
                    c.execute(
                        "INSERT OR IGNORE INTO settings (key, value) VALUES ('session_key', ?1)",
                        [&fresh],
                    )?;
                    crate::store::get_setting(c, "session_key")
                })
                .await?),
            Records::Redis(cluster) => Ok(Some(cluster.mod_session_key(&fresh).await?)),
        }
    }
}

/// Clustered mode: re-reads the sanctions in force every [`FOLLOW_EVERY`]
/// until `stop` turns `true`, so this node's memory (which screens every
/// post) learns what other nodes put or lifted. Redis unreachable: the
/// last known sanctions keep screening.
pub async fn follow(m: Arc<Moderation>, mut stop: watch::Receiver<bool>) {
    let mut failing = false;
    loop {
        match m.refresh().await {
            Ok(()) if failing => {
                tracing::info!("moderation: sanctions followed from redis again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!(
                    "moderation: sanctions not followed ({e}); the last known screen posts"
                );
                failing = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
    }
}
