//! What the captions show: the newest few chat lines, kept in step with the
//! feed's frames. Plain Rust, no browser: the view only renders [`Captions`].
//!
//! Times are milliseconds from any clock (the browser's `Date.now()`), passed
//! in so the rules are testable without waiting.

use chyron_protocol::{sender_color_slot, Media, Message, ServerFrame, Snapshot};
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
    /// The attachment, if the message has one: shown as a kind marker and,
    /// when the relay has one, a thumbnail (see [`crate::media`]).
    pub media: Option<Media>,
    /// The sender's picture, a relay path (see [`crate::media::media_url`]).
    pub avatar: Option<String>,
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
            media: message.media,
            avatar: message.avatar,
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
    /// Sender ids the viewer muted in the chat: their lines are not shown.
    muted: Vec<String>,
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
            muted: Vec::new(),
        }
    }

    /// Hides the lines of these senders, now and from now on.
    pub fn set_muted(&mut self, muted: Vec<String>) {
        self.lines.retain(|l| !muted.contains(&l.sender_id));
        self.muted = muted;
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
    /// change nothing, so unknown future frame types are harmless; bridge
    /// state is the status line's business ([`crate::status`]), not the
    /// captions'. Formatted bodies (`html`) are never shown: captions are
    /// plain text.
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
            ServerFrame::Profile {
                sender_id,
                sender,
                avatar,
                ..
            } => {
                for line in self.lines.iter_mut().filter(|l| l.sender_id == sender_id) {
                    line.sender.clone_from(&sender);
                    line.avatar.clone_from(&avatar);
                }
                0
            }
            ServerFrame::Mark { id, mark, .. } => {
                let line = self.lines.iter_mut().find(|l| l.id == id);
                if let Some(media) = line.and_then(|l| l.media.as_mut()) {
                    media.mark = Some(mark);
                }
                0
            }
            ServerFrame::Bridge { .. } | ServerFrame::Error { .. } | ServerFrame::Unknown => 0,
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
        if self.has_seen(&message.id) || self.muted.contains(&message.sender_id) {
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
    /// its text and sender name), shown lines not in it go, and only unseen messages are added.
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
                line.sender = message.sender;
                self.lines.push(line);
                is_new.push(false);
            } else if !self.has_seen(&message.id) && !self.muted.contains(&message.sender_id) {
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
#[path = "captions_tests.rs"]
mod tests;
