//! Who was seen in a channel (`seen`): everyone who posted there, and every
//! signed-in chatter who said they were there ([`crate::info`]'s presence),
//! one row per person with when they were first and last seen.
//!
//! A post records its sender in the transaction that stores the post
//! ([`super::apply`]), so every node of a cluster, which applies every
//! event, holds the same rows for posts. Rows not seen for
//! [`FORGET_AFTER_MS`] are forgotten by [`forget_before`].

use super::StoreError;
use rusqlite::{params, Connection};

/// How long a row is kept after its person was last seen: 30 days.
pub const FORGET_AFTER_MS: i64 = 30 * 24 * 3600 * 1000;

/// One person seen in a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The sender id (a Matrix user id, or an API or webhook sender name).
    pub user_id: String,
    /// The name they were last seen under.
    pub name: String,
    /// When they were first seen (ms since the Unix epoch).
    pub first_ts: i64,
    /// When they were last seen (ms since the Unix epoch).
    pub last_ts: i64,
}

/// Records `user_id` (named `name`) seen in `channel` at `ts`: a new row, or
/// the name and the last time of the existing one.
pub fn record(
    conn: &Connection,
    channel: &str,
    user_id: &str,
    name: &str,
    ts: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO seen (channel, user_id, name, first_ts, last_ts) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (channel, user_id) DO UPDATE SET name = excluded.name,
            first_ts = min(first_ts, excluded.first_ts),
            last_ts = max(last_ts, excluded.last_ts)",
    )?
    .execute(params![channel, user_id, name, ts])?;
    Ok(())
}

/// Records each `(channel, seen)` in one transaction.
pub fn record_all(conn: &mut Connection, rows: &[(String, Seen)]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    for (channel, s) in rows {
        record(&tx, channel, &s.user_id, &s.name, s.first_ts)?;
        record(&tx, channel, &s.user_id, &s.name, s.last_ts)?;
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
) -> Result<Vec<Seen>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, name, first_ts, last_ts FROM seen
         WHERE channel = ?1 AND last_ts >= ?2 ORDER BY last_ts DESC LIMIT ?3",
    )?;
    let fetch = (limit + hidden.len()) as i64;
    let rows = stmt.query_map(params![channel, since, fetch], |r| {
        Ok(Seen {
            user_id: r.get(0)?,
            name: r.get(1)?,
            first_ts: r.get(2)?,
            last_ts: r.get(3)?,
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

    fn seen(user_id: &str, name: &str, first_ts: i64, last_ts: i64) -> (String, Seen) {
        let (user_id, name) = (user_id.to_string(), name.to_string());
        let s = Seen {
            user_id,
            name,
            first_ts,
            last_ts,
        };
        ("demo".to_string(), s)
    }

    #[tokio::test]
    async fn people_are_counted_once_newest_first_and_forgotten_when_old() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rows = vec![
            seen("@ann:hs", "Ann", 100, 100),
            seen("@bob:hs", "Bob", 200, 300),
            seen("@root:hs", "Root", 250, 250),
            seen("@ann:hs", "Ann B", 50, 400),
        ];
        let other = ("other".to_string(), seen("@cy:hs", "Cy", 100, 900).1);
        let (counted, listed, gone, left) = store
            .call(move |c| {
                record_all(c, &rows)?;
                record_all(c, &[other])?;
                let hidden = ["@root:hs".to_string()];
                let counted = (
                    count(c, "demo", 0, &[])?,
                    count(c, "demo", 0, &hidden)?,
                    count(c, "demo", 301, &[])?,
                );
                let listed = list(c, "demo", 0, 2, &hidden)?;
                let gone = forget_before(c, 300)?;
                Ok((counted, listed, gone, count(c, "demo", 0, &[])?))
            })
            .await
            .unwrap();
        assert_eq!(counted, (3, 2, 1));
        assert_eq!(
            listed,
            [
                Seen {
                    user_id: "@ann:hs".into(),
                    name: "Ann B".into(),
                    first_ts: 50,
                    last_ts: 400
                },
                Seen {
                    user_id: "@bob:hs".into(),
                    name: "Bob".into(),
                    first_ts: 200,
                    last_ts: 300
                },
            ]
        );
        assert_eq!((gone, left), (1, 2), "Root (last seen 250) forgotten");
    }
}
