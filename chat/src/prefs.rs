//! What the chat remembers for a viewer: whom they muted, how far they read
//! each channel, which rules they accepted. A guest keeps it in the browser
//! (localStorage); an account keeps it in its Matrix account data (event
//! type [`ACCOUNT_DATA_TYPE`]), so every device agrees. Plain data; the
//! storage and the homeserver are the browser side's business.

use crate::timeline::ReadMark;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The account data event type holding [`Prefs`] (namespaced, as the
/// Matrix spec asks of custom types).
pub const ACCOUNT_DATA_TYPE: &str = "org.chyron.chat";

/// Most people one viewer may mute, so a stored list stays small.
pub const MAX_MUTES: usize = 1000;

/// A viewer's chat preferences.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    /// Matrix user ids (feed `sender_id`s) whose public lines are hidden
    /// from this viewer, in chat and in captions.
    #[serde(default)]
    pub mutes: BTreeSet<String>,
    /// Per channel, how far the viewer read.
    #[serde(default)]
    pub read: BTreeMap<String, ReadMark>,
    /// Per channel, the version of the rules the viewer accepted.
    #[serde(default)]
    pub rules: BTreeMap<String, String>,
}

impl Prefs {
    /// Reads stored JSON; anything unreadable counts as no preferences
    /// (a stored value is never a reason not to start).
    pub fn parse(json: &str) -> Prefs {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Mutes a sender; false if the list is full.
    pub fn mute(&mut self, sender_id: &str) -> bool {
        if self.mutes.len() >= MAX_MUTES && !self.mutes.contains(sender_id) {
            return false;
        }
        self.mutes.insert(sender_id.to_owned());
        true
    }

    /// Unmutes a sender.
    pub fn unmute(&mut self, sender_id: &str) {
        self.mutes.remove(sender_id);
    }

    /// Whether the viewer accepted this version of a channel's rules.
    pub fn accepted(&self, channel: &str, version: &str) -> bool {
        self.rules.get(channel).is_some_and(|v| v == version)
    }

    /// Moves a guest's preferences into an account's (on upgrade or sign-in
    /// after browsing as a guest): mutes add up, rules accepted by either
    /// count, and the further read position wins.
    pub fn merge(&mut self, guest: Prefs) {
        for id in guest.mutes {
            if !self.mute(&id) {
                break;
            }
        }
        for (channel, version) in guest.rules {
            self.rules.entry(channel).or_insert(version);
        }
        for (channel, mark) in guest.read {
            match self.read.get(&channel) {
                Some(mine) if mine.epoch == mark.epoch && mine.seq >= mark.seq => {}
                _ => {
                    self.read.insert(channel, mark);
                }
            }
        }
    }

    /// The mutes as the overlay reads them: one sender id per line.
    pub fn mutes_text(&self) -> String {
        self.mutes
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(epoch: &str, seq: u64) -> ReadMark {
        ReadMark {
            epoch: epoch.into(),
            seq,
            last_id: None,
        }
    }

    #[test]
    fn stored_form_round_trips_and_bad_values_start_empty() {
        let mut prefs = Prefs::default();
        prefs.mute("@troll:hs");
        prefs.read.insert("demo".into(), mark("e1", 7));
        prefs.rules.insert("demo".into(), "abc".into());
        let json = prefs.to_json();
        assert_eq!(
            json,
            r#"{"mutes":["@troll:hs"],"read":{"demo":{"epoch":"e1","seq":7}},"rules":{"demo":"abc"}}"#
        );
        assert_eq!(Prefs::parse(&json), prefs);
        for bad in [
            "",
            "null",
            "[1]",
            r#"{"mutes": 3}"#,
            "{",
            r#"{"read":{"x":{"seq":-1}}}"#,
        ] {
            assert_eq!(Prefs::parse(bad), Prefs::default(), "{bad}");
        }
        // Fields a newer version adds are ignored, missing ones default.
        assert_eq!(Prefs::parse(r#"{"later": true}"#), Prefs::default());
    }

    #[test]
    fn mutes_are_bounded_and_listed_one_per_line() {
        let mut prefs = Prefs::default();
        for i in 0..MAX_MUTES {
            assert!(prefs.mute(&format!("@u{i}:hs")));
        }
        assert!(!prefs.mute("@one-more:hs"));
        assert!(prefs.mute("@u1:hs"), "muting someone muted again is fine");
        prefs.unmute("@u1:hs");
        assert!(prefs.mute("@one-more:hs"));
        let mut small = Prefs::default();
        small.mute("@b:hs");
        small.mute("@a:hs");
        assert_eq!(small.mutes_text(), "@a:hs\n@b:hs");
    }

    #[test]
    fn a_guests_prefs_merge_into_an_account() {
        let mut account = Prefs::default();
        account.mute("@a:hs");
        account.read.insert("demo".into(), mark("e1", 10));
        account.read.insert("dj".into(), mark("e1", 3));
        account.rules.insert("demo".into(), "v2".into());
        let mut guest = Prefs::default();
        guest.mute("@b:hs");
        guest.read.insert("demo".into(), mark("e1", 4));
        guest.read.insert("dj".into(), mark("e1", 9));
        guest.read.insert("new".into(), mark("e2", 1));
        guest.rules.insert("demo".into(), "v1".into());
        guest.rules.insert("dj".into(), "v1".into());
        account.merge(guest);
        assert_eq!(account.mutes.len(), 2);
        assert_eq!(account.read["demo"].seq, 10, "the further position wins");
        assert_eq!(account.read["dj"].seq, 9);
        assert_eq!(account.read["new"], mark("e2", 1));
        assert_eq!(account.rules["demo"], "v2");
        assert!(account.accepted("dj", "v1"));
        assert!(!account.accepted("demo", "v1"));
    }
}
