//! localStorage, when the browser allows it. Storage may be missing or throw
//! (privacy modes, sandboxed frames, a full quota): the chat then works for
//! this page view and says it will not remember ([`available`]).

use web_sys::Storage;

/// Keys, all under `chyron:chat:`.
pub mod keys {
    /// The signed-in session ([`crate::matrix::Saved`], JSON).
    pub const SESSION: &str = "chyron:chat:session";
    /// A guest's [`crate::prefs::Prefs`] (JSON); accounts keep theirs in
    /// account data and mirror the mutes here for the captions.
    pub const PREFS: &str = "chyron:chat:prefs";
    /// The muted sender ids, one per line: what the overlay's captions read.
    pub const MUTES: &str = "chyron:mutes";
    /// A guest's blocked user ids, one per line (accounts keep theirs in
    /// the account's ignore list).
    pub const BLOCKED: &str = "chyron:chat:blocked";
    /// The channel shown last.
    pub const CHANNEL: &str = "chyron:chat:channel";
}

fn storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Whether values written now will be there after a reload.
pub fn available() -> bool {
    let Some(s) = storage() else { return false };
    let probe = "chyron:chat:probe";
    let ok = s.set_item(probe, "1").is_ok() && s.get_item(probe).ok().flatten().is_some();
    let _ = s.remove_item(probe);
    ok
}

/// A stored value.
pub fn get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

/// Stores a value; failures are ignored (see [`available`]).
pub fn set(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

/// Removes a value.
pub fn remove(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// Deletes IndexedDB databases (a signed-out device's keys). The browser
/// deletes each once nothing has it open.
pub fn delete_databases(names: &[String]) {
    let Some(factory) = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()) else {
        return;
    };
    for name in names {
        let _ = factory.delete_database(name);
    }
}
