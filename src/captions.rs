//! What the captions show: the newest few chat lines, kept in step with the
//! feed's frames. Plain Rust, no browser: the view only renders [`Captions`].
//!
//! Times are milliseconds from any clock (the browser's `Date.now()`), passed
//! in so the rules are testable without waiting.

use chyron_protocol::{sender_color_slot, Message, ServerFrame, Snapshot};
use std::collections::VecDeque;

/// Message ids remembered after they stop being shown, so a resync snapshot
/// never brings back a line the viewer already saw. Far more than any
/// snapshot the widget asks for (at most 10 messages).
const SEEN_CAPACITY: usize = 256;

/// One caption line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The message id: edits and deletes find the line by it.
    pub id: String,
    /// Display name, shown before the body.
    pub sender: String,
    /// Stable identity: clears remove by it.
    pub sender_id: String,
    /// The text, current after edits; rendered as a text node only.
    pub body: String,
    /// Colour slot: `--chyron-sender-color-{slot}`.
    pub slot: u8,
    /// When the line appeared; it expires `fade` later.
    pub shown_at: f64,
}

impl Line {
    fn new(message: Message, now: f64) -> Line {
        Line {
            slot: sender_color_slot(&message.sender_id),
            id: message.id,
            sender: message.sender,
            sender_id: message.sender_id,
            body: message.body,
            shown_at: now,
        }
    }
}

/// The caption state of one widget.
#[derive(Debug, Clone, PartialEq)]
pub struct Captions {
    /// What is shown, oldest first.
    lines: Vec<Line>,
    /// The `lines` attribute: older lines give way beyond it.
    max_lines: usize,
    /// The `fade` attribute, in ms: how long a line stays.
    fade_ms: f64,
    /// The epoch the shown lines belong to; ids are only unique within one.
    epoch: Option<String>,
    /// Recently seen message ids, oldest first, bounded.
    seen: VecDeque<String>,
}

impl Captions {
    /// Empty captions showing at most `max_lines` (at least 1) lines, each for
    /// `fade_ms` milliseconds.
    pub fn new(max_lines: usize, fade_ms: f64) -> Captions {
        Captions {
            lines: Vec::new(),
            max_lines: max_lines.max(1),
            fade_ms,
            epoch: None,
            seen: VecDeque::new(),
        }
    }

    /// The lines to show, oldest first.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The shown line with this message id.
    pub fn get(&self, id: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.id == id)
    }

    /// Applies one frame; returns how many new lines appeared (for the
    /// screen-reader announcement). Frames other than snapshots and events
    /// change nothing, so unknown future frame types are harmless.
    pub fn apply(&mut self, frame: ServerFrame, now: f64) -> usize {
        match frame {
            ServerFrame::Snapshot(snapshot) => self.apply_snapshot(snapshot, now),
            ServerFrame::Message { message, .. } => usize::from(self.add(message, now)),
            ServerFrame::Edit { id, body, .. } => {
                if let Some(line) = self.lines.iter_mut().find(|l| l.id == id) {
                    line.body = body;
                }
                0
            }
            ServerFrame::Delete { id, .. } => {
                self.lines.retain(|l| l.id != id);
                0
            }
            ServerFrame::Clear { sender_id, .. } => {
                self.lines.retain(|l| l.sender_id != sender_id);
                0
            }
            ServerFrame::Error { .. } | ServerFrame::Unknown => 0,
        }
    }

    /// Removes lines older than the fade time; true if any went.
    pub fn expire(&mut self, now: f64) -> bool {
        let before = self.lines.len();
        let fade = self.fade_ms;
        self.lines.retain(|l| now - l.shown_at < fade);
        self.lines.len() != before
    }

    /// When the oldest line expires, if any is shown.
    pub fn next_expiry(&self) -> Option<f64> {
        self.lines
            .iter()
            .map(|l| l.shown_at + self.fade_ms)
            .reduce(f64::min)
    }

    fn has_seen(&self, id: &str) -> bool {
        self.seen.iter().any(|s| s == id)
    }

    fn remember(&mut self, id: &str) {
        if !self.has_seen(id) {
            if self.seen.len() == SEEN_CAPACITY {
                self.seen.pop_front();
            }
            self.seen.push_back(id.to_owned());
        }
    }

    /// Shows a new message unless it was already seen; drops the oldest lines
    /// beyond the limit.
    fn add(&mut self, message: Message, now: f64) -> bool {
        if self.has_seen(&message.id) {
            return false;
        }
        self.remember(&message.id);
        self.lines.push(Line::new(message, now));
        self.trim();
        true
    }

    fn trim(&mut self) {
        let excess = self.lines.len().saturating_sub(self.max_lines);
        self.lines.drain(..excess);
    }

    /// A snapshot of a new epoch starts over: its newest messages are shown.
    /// A snapshot of the same epoch (a resync after a lost resume or lag)
    /// merges, so nothing is shown twice: shown lines still in it stay (with
    /// its text), shown lines not in it go, and only unseen messages are added.
    fn apply_snapshot(&mut self, snapshot: Snapshot, now: f64) -> usize {
        if self.epoch.as_deref() != Some(snapshot.epoch.as_str()) {
            self.epoch = Some(snapshot.epoch);
            self.lines.clear();
            self.seen.clear();
        }
        let mut old = std::mem::take(&mut self.lines);
        let mut is_new = Vec::new();
        for message in snapshot.messages {
            if let Some(i) = old.iter().position(|l| l.id == message.id) {
                let mut line = old.swap_remove(i);
                line.body = message.body;
                self.lines.push(line);
                is_new.push(false);
            } else if !self.has_seen(&message.id) {
                self.remember(&message.id);
                self.lines.push(Line::new(message, now));
                is_new.push(true);
            }
        }
        let excess = self.lines.len().saturating_sub(self.max_lines);
        self.trim();
        // Only new lines that survived the limit count for the announcement.
        is_new[excess..].iter().filter(|n| **n).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chyron_protocol::{SnapshotReason, Source};

    fn msg(id: &str, sender_id: &str, body: &str) -> Message {
        Message {
            id: id.into(),
            sender: sender_id.to_uppercase(),
            sender_id: sender_id.into(),
            body: body.into(),
            ts: 0,
            edited: false,
            source: Source::Api,
        }
    }

    fn message(seq: u64, id: &str) -> ServerFrame {
        ServerFrame::Message {
            seq,
            message: msg(id, "alice", &format!("body {id}")),
        }
    }

    fn snapshot(epoch: &str, reason: SnapshotReason, ids: &[&str]) -> ServerFrame {
        ServerFrame::Snapshot(Snapshot {
            channel: "demo".into(),
            epoch: epoch.into(),
            seq: 100,
            reason,
            messages: ids
                .iter()
                .map(|id| msg(id, "bob", &format!("snap {id}")))
                .collect(),
        })
    }

    fn ids(c: &Captions) -> Vec<&str> {
        c.lines().iter().map(|l| l.id.as_str()).collect()
    }

    #[test]
    fn messages_add_and_drop_the_oldest_beyond_the_limit() {
        let mut c = Captions::new(3, 8000.0);
        for (i, id) in ["a", "b", "c", "d"].into_iter().enumerate() {
            assert_eq!(c.apply(message(i as u64 + 1, id), 0.0), 1);
        }
        assert_eq!(ids(&c), ["b", "c", "d"]);
        let line = c.get("d").unwrap();
        assert_eq!(line.slot, sender_color_slot("alice"));
        assert_eq!(
            (line.sender.as_str(), line.body.as_str()),
            ("ALICE", "body d")
        );
    }

    #[test]
    fn a_repeated_message_is_not_shown_twice() {
        let mut c = Captions::new(3, 8000.0);
        c.apply(message(1, "a"), 0.0);
        assert_eq!(c.apply(message(1, "a"), 0.0), 0);
        assert_eq!(ids(&c), ["a"]);
    }

    #[test]
    fn edit_changes_text_in_place_and_ignores_unshown() {
        let mut c = Captions::new(3, 8000.0);
        c.apply(message(1, "a"), 0.0);
        c.apply(message(2, "b"), 5.0);
        let edit = |id: &str| ServerFrame::Edit {
            seq: 3,
            id: id.into(),
            body: "fixed".into(),
        };
        c.apply(edit("a"), 6.0);
        c.apply(edit("zz"), 6.0);
        assert_eq!(ids(&c), ["a", "b"]);
        assert_eq!(c.get("a").unwrap().body, "fixed");
        assert_eq!(c.get("a").unwrap().shown_at, 0.0);
    }

    #[test]
    fn delete_and_clear_remove_at_once() {
        let mut c = Captions::new(5, 8000.0);
        c.apply(message(1, "a"), 0.0);
        c.apply(
            ServerFrame::Message {
                seq: 2,
                message: msg("s1", "spam", "buy"),
            },
            0.0,
        );
        c.apply(message(3, "b"), 0.0);
        c.apply(
            ServerFrame::Message {
                seq: 4,
                message: msg("s2", "spam", "now"),
            },
            0.0,
        );
        c.apply(
            ServerFrame::Delete {
                seq: 5,
                id: "a".into(),
            },
            0.0,
        );
        assert_eq!(ids(&c), ["s1", "b", "s2"]);
        c.apply(
            ServerFrame::Clear {
                seq: 6,
                sender_id: "spam".into(),
            },
            0.0,
        );
        assert_eq!(ids(&c), ["b"]);
    }

    #[test]
    fn lines_expire_after_the_fade_time() {
        let mut c = Captions::new(3, 8000.0);
        c.apply(message(1, "a"), 0.0);
        c.apply(message(2, "b"), 3000.0);
        assert_eq!(c.next_expiry(), Some(8000.0));
        assert!(!c.expire(7999.0));
        assert!(c.expire(8000.0));
        assert_eq!(ids(&c), ["b"]);
        assert!(c.expire(11000.0));
        assert_eq!(c.next_expiry(), None);
    }

    #[test]
    fn initial_snapshot_shows_the_last_lines() {
        let mut c = Captions::new(2, 8000.0);
        let added = c.apply(
            snapshot("e1", SnapshotReason::Initial, &["a", "b", "c"]),
            1.0,
        );
        assert_eq!(ids(&c), ["b", "c"]);
        assert_eq!(added, 2);
        assert_eq!(c.get("c").unwrap().body, "snap c");
    }

    #[test]
    fn reset_snapshot_merges_without_showing_anything_twice() {
        let mut c = Captions::new(3, 8000.0);
        c.apply(snapshot("e1", SnapshotReason::Initial, &[]), 0.0);
        for (i, id) in ["a", "b", "c", "d"].into_iter().enumerate() {
            c.apply(message(i as u64 + 1, id), 10.0);
        }
        // "a" was pushed out (seen), "b" deleted meanwhile, "c" edited, "e" and
        // "f" new.
        let added = c.apply(
            snapshot("e1", SnapshotReason::Lagged, &["a", "c", "d", "e", "f"]),
            50.0,
        );
        assert_eq!(ids(&c), ["d", "e", "f"]);
        assert_eq!(added, 2);
        assert_eq!(c.get("d").unwrap().shown_at, 10.0);
        assert_eq!(c.get("d").unwrap().body, "snap d");
        assert_eq!(c.get("e").unwrap().shown_at, 50.0);
        // Same again: nothing new.
        let again = snapshot("e1", SnapshotReason::ResumeUnavailable, &["d", "e", "f"]);
        assert_eq!(c.apply(again, 60.0), 0);
        assert_eq!(ids(&c), ["d", "e", "f"]);
    }

    #[test]
    fn expired_lines_do_not_come_back_with_a_resync() {
        let mut c = Captions::new(3, 1000.0);
        c.apply(snapshot("e1", SnapshotReason::Initial, &["a"]), 0.0);
        c.expire(5000.0);
        assert_eq!(
            c.apply(snapshot("e1", SnapshotReason::Lagged, &["a"]), 5000.0),
            0
        );
        assert!(c.lines().is_empty());
    }

    #[test]
    fn a_new_epoch_starts_over() {
        let mut c = Captions::new(3, 8000.0);
        c.apply(snapshot("e1", SnapshotReason::Initial, &["m1", "m2"]), 0.0);
        let added = c.apply(
            snapshot("e2", SnapshotReason::ResumeUnavailable, &["m1"]),
            5.0,
        );
        assert_eq!((ids(&c), added), (vec!["m1"], 1));
        assert_eq!(c.get("m1").unwrap().shown_at, 5.0);
    }

    #[test]
    fn unknown_and_error_frames_change_nothing() {
        let mut c = Captions::new(3, 8000.0);
        c.apply(message(1, "a"), 0.0);
        let before = c.clone();
        c.apply(ServerFrame::Unknown, 1.0);
        c.apply(
            ServerFrame::Error {
                code: "read_only".into(),
                message: "no".into(),
            },
            1.0,
        );
        assert_eq!(c, before);
    }

    #[test]
    fn the_seen_set_stays_bounded() {
        let mut c = Captions::new(1, 8000.0);
        for i in 0..1000u64 {
            c.apply(message(i + 1, &format!("m{i}")), 0.0);
        }
        assert_eq!(c.seen.len(), SEEN_CAPACITY);
        assert_eq!(ids(&c), ["m999"]);
    }
}
