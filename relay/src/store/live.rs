//! The DJs marked live per channel ([`crate::live`]), so a relay restarted
//! mid-show still tells the chat who is live.

use super::StoreError;
use chyron_protocol::LiveDj;
use rusqlite::{params, Connection};

/// Every live DJ as `(channel, dj)`, each channel's longest live first.
pub fn load_live(conn: &mut Connection) -> Result<Vec<(String, LiveDj)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel, user_id, name, since FROM live_djs ORDER BY channel, since, user_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            LiveDj {
                user_id: r.get(1)?,
                name: r.get(2)?,
                since: r.get(3)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records `dj` as live on `channel`, replacing the record of the same user.
pub fn set_live(conn: &mut Connection, channel: &str, dj: &LiveDj) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO live_djs (channel, user_id, name, since) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (channel, user_id) DO UPDATE SET name = excluded.name, since = excluded.since",
        params![channel, dj.user_id, dj.name, dj.since],
    )?;
    Ok(())
}

/// Forgets that `user_id` is live on `channel`; false if they were not.
pub fn unset_live(conn: &mut Connection, channel: &str, user_id: &str) -> Result<bool, StoreError> {
    let n = conn.execute(
        "DELETE FROM live_djs WHERE channel = ?1 AND user_id = ?2",
        params![channel, user_id],
    )?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn live_djs_are_kept_replaced_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let dj = |id: &str, since| LiveDj {
            user_id: id.into(),
            name: None,
            since,
        };
        let got = store
            .call(move |c| {
                set_live(c, "demo", &dj("@b:hs", 2))?;
                set_live(c, "demo", &dj("@a:hs", 1))?;
                set_live(c, "dj", &dj("@a:hs", 3))?;
                let renamed = LiveDj {
                    name: Some("A".into()),
                    ..dj("@a:hs", 1)
                };
                set_live(c, "demo", &renamed)?;
                assert!(unset_live(c, "dj", "@a:hs")?);
                assert!(!unset_live(c, "dj", "@a:hs")?);
                load_live(c)
            })
            .await
            .unwrap();
        let ids: Vec<_> = got
            .iter()
            .map(|(c, d)| (c.as_str(), d.user_id.as_str()))
            .collect();
        assert_eq!(ids, [("demo", "@a:hs"), ("demo", "@b:hs")]);
        assert_eq!(got[0].1.name.as_deref(), Some("A"));
        drop(store);
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(again.call(load_live).await.unwrap(), got);
    }
}
