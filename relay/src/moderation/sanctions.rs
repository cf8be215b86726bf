//! The timeouts and bans in force, in memory: the hub asks on every post,
//! so this answers without touching SQLite. SQLite stays the record
//! (`store::moderation`); this is its copy, written after each commit.

use crate::hub::Refusal;
use crate::store::moderation::{Kind, Sanction};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One person's sanctions in one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// A timeout's end (ms) and reason.
    pub timeout: Option<(i64, Option<String>)>,
    /// A ban's reason (the ban itself is `Some`).
    pub ban: Option<Option<String>>,
}

/// Every sanction in force, by (channel, sender id).
#[derive(Debug, Default)]
pub struct Sanctions {
    /// The map; small (one entry per sanctioned person per channel).
    map: Mutex<HashMap<(String, String), Standing>>,
    /// Counts this node's own changes (bumped under the map's lock), so a
    /// re-read that started before one does not undo it.
    changes: AtomicU64,
}

impl Sanctions {
    /// Replaces everything with `all` (at start).
    pub fn replace(&self, all: Vec<Sanction>) {
        *self.lock() = Self::build(all);
    }

    /// The count of this node's own changes, taken before a re-read.
    pub fn version(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// Replaces everything with `all`, read from the records after
    /// [`Sanctions::version`] answered `seen`, unless this node changed a
    /// sanction since (the read may predate it; the next one will not).
    /// The bans new to this node (channel, user id) if anything changed.
    pub fn replace_if(&self, seen: u64, all: Vec<Sanction>) -> Option<Vec<(String, String)>> {
        let next = Self::build(all);
        let mut map = self.lock();
        if self.version() != seen || *map == next {
            return None;
        }
        let banned = next
            .iter()
            .filter(|(key, s)| s.ban.is_some() && map.get(*key).is_none_or(|o| o.ban.is_none()))
            .map(|(key, _)| key.clone())
            .collect();
        *map = next;
        Some(banned)
    }

    fn build(all: Vec<Sanction>) -> HashMap<(String, String), Standing> {
        let mut map = HashMap::new();
        for s in all {
            let entry: &mut Standing = map
                .entry((s.channel.clone(), s.user_id.clone()))
                .or_default();
            match s.kind {
                Kind::Timeout => entry.timeout = Some((s.until.unwrap_or(0), s.reason)),
                Kind::Ban => entry.ban = Some(s.reason),
            }
        }
        map
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Standing>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a sanction just committed.
    pub fn put(&self, s: &Sanction) {
        let mut map = self.lock();
        self.changes.fetch_add(1, Ordering::SeqCst);
        let entry = map
            .entry((s.channel.clone(), s.user_id.clone()))
            .or_default();
        match s.kind {
            Kind::Timeout => entry.timeout = Some((s.until.unwrap_or(0), s.reason.clone())),
            Kind::Ban => entry.ban = Some(s.reason.clone()),
        }
    }

    /// Forgets a sanction just lifted.
    pub fn remove(&self, channel: &str, user_id: &str, kind: Kind) {
        let mut map = self.lock();
        self.changes.fetch_add(1, Ordering::SeqCst);
        let key = (channel.to_string(), user_id.to_string());
        if let Some(entry) = map.get_mut(&key) {
            match kind {
                Kind::Timeout => entry.timeout = None,
                Kind::Ban => entry.ban = None,
            }
            if entry.timeout.is_none() && entry.ban.is_none() {
                map.remove(&key);
            }
        }
    }

    /// A person's standing in a channel (timeouts already over included
    /// until the expiry task lifts them).
    pub fn get(&self, channel: &str, user_id: &str) -> Standing {
        let key = (channel.to_string(), user_id.to_string());
        self.lock().get(&key).cloned().unwrap_or_default()
    }

    /// Why `user_id` may not post in `channel` at `now`, if they may not.
    /// A timeout past its end no longer refuses, even before it is lifted.
    pub fn refusal(&self, channel: &str, user_id: &str, now: i64) -> Option<Refusal> {
        let standing = self.get(channel, user_id);
        if let Some(reason) = standing.ban {
            return Some(Refusal {
                banned: true,
                until: None,
                reason,
            });
        }
        match standing.timeout {
            Some((until, reason)) if until > now => Some(Refusal {
                banned: false,
                until: Some(until),
                reason,
            }),
            _ => None,
        }
    }

    /// The earliest timeout end, for the expiry task.
    pub fn next_end(&self) -> Option<i64> {
        self.lock()
            .values()
            .filter_map(|s| s.timeout.as_ref().map(|(until, _)| *until))
            .min()
    }

    /// The timeouts that ended at `now` or before: (channel, user id).
    pub fn ended(&self, now: i64) -> Vec<(String, String)> {
        self.lock()
            .iter()
            .filter(|(_, s)| s.timeout.as_ref().is_some_and(|(until, _)| *until <= now))
            .map(|(key, _)| key.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sanction(kind: Kind, until: Option<i64>) -> Sanction {
        Sanction {
            channel: "live".into(),
            user_id: "@troll:hs".into(),
            kind,
            until,
            reason: Some("spam".into()),
        }
    }

    #[test]
    fn a_timeout_refuses_until_its_end_and_a_ban_until_lifted() {
        let s = Sanctions::default();
        assert_eq!(s.refusal("live", "@troll:hs", 0), None);
        s.put(&sanction(Kind::Timeout, Some(100)));
        let r = s.refusal("live", "@troll:hs", 99).unwrap();
        assert_eq!(
            (r.banned, r.until, r.reason.as_deref()),
            (false, Some(100), Some("spam"))
        );
        assert_eq!(s.refusal("live", "@troll:hs", 100), None, "over at its end");
        assert_eq!(s.refusal("other", "@troll:hs", 0), None, "one channel only");
        assert_eq!(s.next_end(), Some(100));
        assert_eq!(s.ended(99), vec![]);
        assert_eq!(s.ended(100), vec![("live".into(), "@troll:hs".into())]);
        s.put(&sanction(Kind::Ban, None));
        assert!(s.refusal("live", "@troll:hs", 1_000).unwrap().banned);
        s.remove("live", "@troll:hs", Kind::Timeout);
        assert_eq!(s.next_end(), None);
        assert!(s.refusal("live", "@troll:hs", 0).unwrap().banned);
        s.remove("live", "@troll:hs", Kind::Ban);
        assert_eq!(s.get("live", "@troll:hs"), Standing::default());
    }

    #[test]
    fn a_re_read_never_undoes_a_change_made_here_after_it_started() {
        let s = Sanctions::default();
        let seen = s.version();
        s.put(&sanction(Kind::Ban, None));
        // Read before the ban was stored: not applied.
        assert_eq!(s.replace_if(seen, vec![]), None);
        assert!(s.refusal("live", "@troll:hs", 0).is_some());
        // A read after it: applied (another node lifted the ban).
        let seen = s.version();
        assert_eq!(s.replace_if(seen, vec![]), Some(vec![]));
        assert_eq!(s.refusal("live", "@troll:hs", 0), None);
        assert_eq!(s.replace_if(seen, vec![]), None, "nothing new");
        let timeout = sanction(Kind::Timeout, Some(50));
        assert_eq!(s.replace_if(seen, vec![timeout.clone()]), Some(vec![]));
        assert_eq!(s.next_end(), Some(50));
        // Another node's ban is reported once, as new.
        let both = vec![timeout, sanction(Kind::Ban, None)];
        let new = s.replace_if(seen, both.clone());
        assert_eq!(new, Some(vec![("live".into(), "@troll:hs".into())]));
        assert_eq!(s.replace_if(seen, both), None);
    }
}
