//! This database's own random id, made once when it is first asked for and
//! kept in `settings`: Matrix transaction ids carry it, so a wiped or new
//! database never reuses the ids of an earlier one (the bot's device stays
//! the same, and the homeserver would take a reused id for a retry and
//! drop the new post).

use super::{get_setting, StoreError};
use rusqlite::{params, Connection};

/// The settings key holding the id.
const KEY: &str = "database.id";

/// The database's id (16 random bytes in hex), made on first use.
pub fn database_id(conn: &mut Connection) -> Result<String, StoreError> {
    if let Some(id) = get_setting(conn, KEY)? {
        return Ok(id);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Io(std::io::Error::other(format!("random source: {e}"))))?;
    // Two callers racing: the first insert wins and both read it back.
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![KEY, hex::encode(bytes)],
    )?;
    Ok(get_setting(conn, KEY)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn each_database_has_its_own_stable_id() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let id = |dir: &std::path::Path| {
            let store = Store::open(dir).unwrap();
            let mut c = store.conn.lock().unwrap();
            database_id(&mut c).unwrap()
        };
        let first = id(a.path());
        assert_eq!(first.len(), 32);
        assert_eq!(id(a.path()), first, "reopening keeps the id");
        assert_ne!(id(b.path()), first, "another database has another id");
    }
}
