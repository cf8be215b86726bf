//! Who was seen in a channel (`seen`): everyone who posted there, and every
//! signed-in chatter who said they were there ([`crate::info`]'s presence),
//! one row per person with when they were first and last seen.
//!
//! A post records its sender in the transaction that stores the post
//! ([`super::apply`], [`record`]: `posted_ts` too), so every node of a
//! cluster, which applies every event, holds the same rows for posts. A
//! presence is recorded by [`record_present`] (in a cluster, each node
//! copies the cluster's presence sightings from Redis before it reads).
//! Rows not seen for [`FORGET_AFTER_MS`] are forgotten by [`forget_before`].

use super::StoreError;
use rusqlite::{params, Connection};

/// How long a row is kept after its person was last seen: 30 days.
pub const FORGET_AFTER_MS: i64 = 30 * 24 * 3600 * 1000;

/// One person seen in a channel (a presence to record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The sender id (a Matrix user id, or an API or webhook sender name).
    pub user_id: String,
    /// When they were first seen (ms since the Unix epoch).
    pub first_ts: i64,
    /// When they were last seen (ms since the Unix epoch).
    pub last_ts: i64,
}

/// One person seen in a channel, as moderators list them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeenRow {
    /// The sender id (a Matrix user id, or an API or webhook sender name).
    pub user_id: String,
    /// When they were last seen (ms since the Unix epoch).
    pub last_seen: i64,
    /// Whether they posted in the window asked about (not only present).
    pub posted: bool,
}

/// Records that `user_id` (named `name`) posted in `channel` at `ts`: a new
/// row, or the name, the last time and the last post's time of the
/// existing one.
pub fn record(
    conn: &Connection,
    channel: &str,
    user_id: &str,
    name: &str,
    ts: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO seen (channel, user_id, name, first_ts, last_ts, posted_ts)
            VALUES (?1, ?2, ?3, ?4, ?4, ?4)
         ON CONFLICT (channel, user_id) DO UPDATE SET name = excluded.name,
            first_ts = min(first_ts, excluded.first_ts),
            last_ts = max(last_ts, excluded.last_ts),
            posted_ts = max(coalesce(posted_ts, 0), excluded.posted_ts)",
    )?
    .execute(params![channel, user_id, name, ts])?;
    Ok(())
}

/// Records that `user_id` was present in `channel` from `first_ts` to
/// `last_ts` (a presence names nobody: a new row's name is the user id).
pub fn record_present(
    conn: &Connection,
    channel: &str,
    user_id: &str,
    first_ts: i64,
    last_ts: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO seen (channel, user_id, name, first_ts, last_ts) VALUES (?1, ?2, ?2, ?3, ?4)
         ON CONFLICT (channel, user_id) DO UPDATE SET
            first_ts = min(first_ts, excluded.first_ts),
            last_ts = max(last_ts, excluded.last_ts)",
    )?
    .execute(params![channel, user_id, first_ts, last_ts])?;
    Ok(())
}

/// Records each `(channel, presence)` in one transaction.
pub fn record_all(conn: &mut Connection, rows: &[(String, Seen)]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    for (channel, s) in rows {
        record_present(&tx, channel, &s.user_id, s.first_ts, s.last_ts)?;
    }
    tx.commit()?;
    Ok(())
}

/// How many people were seen in `channel` since `since`, leaving out `hidden`.
pub fn count(
    conn: &mut Connection,
    channel: &str,
    since: i64,
    hidden: &[String],
) -> Result<u64, StoreError> {
    let sql = "SELECT count(*) FROM seen WHERE channel = ?1 AND last_ts >= ?2";
    let all: i64 = conn
        .prepare_cached(sql)?
        .query_row(params![channel, since], |r| r.get(0))?;
    let mut one = conn.prepare_cached(&format!("{sql} AND user_id = ?3"))?;
    let mut left_out = 0;
    for user_id in hidden {
        left_out += one.query_row(params![channel, since, user_id], |r| r.get::<_, i64>(0))?;
    }
    Ok((all - left_out).max(0) as u64)
}

/// The `limit` people seen in `channel` since `since` most lately, newest
/// first, leaving out `hidden`.
pub fn list(
    conn: &mut Connection,
    channel: &str,
    since: i64,
    limit: usize,
    hidden: &[String],
) -> Result<Vec<SeenRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, last_ts, posted_ts IS NOT NULL AND posted_ts >= ?2 FROM seen
         WHERE channel = ?1 AND last_ts >= ?2 ORDER BY last_ts DESC, user_id LIMIT ?3",
    )?;
    let fetch = (limit + hidden.len()) as i64;
    let rows = stmt.query_map(params![channel, since, fetch], |r| {
        Ok(SeenRow {
            user_id: r.get(0)?,
            last_seen: r.get(1)?,
            posted: r.get(2)?,
        })
    })?;
    let mut seen = Vec::new();
    for row in rows {
        let row = row?;
        if !hidden.contains(&row.user_id) && seen.len() < limit {
            seen.push(row);
        }
    }
    Ok(seen)
}

/// Forgets everyone last seen before `ts`; returns how many rows went.
pub fn forget_before(conn: &mut Connection, ts: i64) -> Result<usize, StoreError> {
    Ok(conn.execute("DELETE FROM seen WHERE last_ts < ?1", [ts])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn seen(user_id: &str, first_ts: i64, last_ts: i64) -> (String, Seen) {
        let user_id = user_id.to_string();
        let s = Seen {
            user_id,
            first_ts,
            last_ts,
        };
        ("demo".to_string(), s)
    }

    fn row(user_id: &str, last_seen: i64, posted: bool) -> SeenRow {
        let user_id = user_id.to_string();
        SeenRow {
            user_id,
            last_seen,
            posted,
        }
    }

    #[tokio::test]
    async fn people_are_counted_once_newest_first_and_forgotten_when_old() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rows = vec![
            seen("@ann:hs", 100, 100),
            seen("@bob:hs", 200, 220),
            seen("@root:hs", 250, 250),
            seen("@ann:hs", 50, 400),
            seen("@cy:hs", 500, 500),
        ];
        let other = ("other".to_string(), seen("@cy:hs", 100, 900).1);
        let (counted, listed, lately, gone, left) = store
            .call(move |c| {
                record(c, "demo", "@bob:hs", "Bob", 300)?;
                record(c, "demo", "@cy:hs", "Cy", 150)?;
                record_all(c, &rows)?;
                record_all(c, &[other])?;
                let hidden = ["@root:hs".to_string()];
                let counted = (
                    count(c, "demo", 0, &[])?,
                    count(c, "demo", 0, &hidden)?,
                    count(c, "demo", 301, &[])?,
                );
                let listed = list(c, "demo", 0, 3, &hidden)?;
                let lately = list(c, "demo", 200, 10, &hidden)?;
                let gone = forget_before(c, 300)?;
                Ok((counted, listed, lately, gone, count(c, "demo", 0, &[])?))
            })
            .await
            .unwrap();
        assert_eq!(counted, (4, 3, 2));
        let (ann, bob) = (row("@ann:hs", 400, false), row("@bob:hs", 300, true));
        assert_eq!(listed, [row("@cy:hs", 500, true), ann.clone(), bob.clone()]);
        assert_eq!(
            lately,
            [row("@cy:hs", 500, false), ann, bob],
            "Cy posted before the window, then was only present"
        );
        assert_eq!((gone, left), (1, 3), "Root (last seen 250) forgotten");
    }
}
