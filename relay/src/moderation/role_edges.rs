//! When event appointments start and end, kept as data: each appointment
//! for one event leaves an edge at its `until` (and at its `from` when that
//! is still ahead), in SQLite or, in clustered mode, in Redis
//! ([`crate::cluster::role_edges`]). [`super::role_clock`] acts on each
//! edge once it is due, also after a restart; claiming an edge takes it off
//! the record, so of several nodes one acts on it.

use super::records::{Records, RecordsError};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// One moment an event appointment changes someone's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// `true`: the appointment starts (promote); `false`: it ends.
    pub start: bool,
    /// The channel the appointment is for.
    pub channel: String,
    /// Who was appointed.
    pub user_id: String,
    /// The appointment's start, ms: with `until`, tells this appointment
    /// from a later one of the same person (which leaves its own edges).
    pub from: i64,
    /// The appointment's end, ms.
    pub until: i64,
}

impl Edge {
    /// When it falls due, ms.
    pub fn at(&self) -> i64 {
        if self.start {
            self.from
        } else {
            self.until
        }
    }

    fn key(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

type Result<T> = std::result::Result<T, RecordsError>;

/// Records `edge`.
pub async fn add(records: &Records, edge: &Edge) -> Result<()> {
    let (key, at) = (edge.key(), edge.at());
    match records {
        Records::Sqlite(store) => Ok(store
            .call(move |c| {
                c.execute(
                    "INSERT OR REPLACE INTO mod_role_edges (edge, at) VALUES (?1, ?2)",
                    params![key, at],
                )?;
                Ok(())
            })
            .await?),
        Records::Redis(cluster) => Ok(cluster.mod_add_edge(&key, at).await?),
    }
}

/// Up to `limit` edges due at `now`, earliest first (unreadable ones are
/// claimed and dropped with a warning, so they never block the rest).
pub async fn due(records: &Records, now: i64, limit: usize) -> Result<Vec<Edge>> {
    let keys = match records {
        Records::Sqlite(store) => {
            store
                .call(move |c| {
                    let mut stmt = c.prepare_cached(
                        "SELECT edge FROM mod_role_edges WHERE at <= ?1 ORDER BY at LIMIT ?2",
                    )?;
                    let rows = stmt.query_map(params![now, limit as i64], |r| r.get(0))?;
                    Ok(rows.collect::<std::result::Result<Vec<String>, _>>()?)
                })
                .await?
        }
        Records::Redis(cluster) => cluster.mod_due_edges(now, limit).await?,
    };
    let mut edges = Vec::new();
    for key in keys {
        match serde_json::from_str(&key) {
            Ok(edge) => edges.push(edge),
            Err(e) => {
                tracing::warn!(key, "dropping an unreadable role edge: {e}");
                claim_key(records, key).await?;
            }
        }
    }
    Ok(edges)
}

/// Takes `edge` off the record; whether this call did.
pub async fn claim(records: &Records, edge: &Edge) -> Result<bool> {
    claim_key(records, edge.key()).await
}

async fn claim_key(records: &Records, key: String) -> Result<bool> {
    match records {
        Records::Sqlite(store) => Ok(store
            .call(move |c| {
                let n = c.execute("DELETE FROM mod_role_edges WHERE edge = ?1", [&key])?;
                Ok(n > 0)
            })
            .await?),
        Records::Redis(cluster) => Ok(cluster.mod_claim_edge(&key).await?),
    }
}

/// When the earliest edge falls due.
pub async fn next(records: &Records) -> Result<Option<i64>> {
    match records {
        Records::Sqlite(store) => Ok(store
            .call(|c| {
                let at: Option<i64> =
                    c.query_row("SELECT MIN(at) FROM mod_role_edges", [], |r| r.get(0))?;
                Ok(at)
            })
            .await?),
        Records::Redis(cluster) => Ok(cluster.mod_next_edge().await?),
    }
}
