//! What the screen-reader live region says.
//!
//! A busy chat can post several lines a second; reading each would drown the
//! stream's own audio and never catch up. So announcements are throttled: at
//! most one per [`INTERVAL_MS`], summarising what arrived since the last one
//! ("3 new messages; latest from Ada: …"). A change of the status line
//! ([`crate::status`]) rides in the same region and the same throttle, said
//! first, and never twice in a row.

/// Least time between two announcements, in milliseconds.
pub const INTERVAL_MS: f64 = 2500.0;
/// Longest body read out, in characters; the rest is on screen.
const MAX_BODY_CHARS: usize = 140;

/// Pending announcement state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Announcer {
    pending: usize,
    latest: Option<(String, String)>,
    status: Option<&'static str>,
    said_status: Option<&'static str>,
    last_at: Option<f64>,
}

impl Announcer {
    /// `count` new lines arrived; the newest is `sender: body`.
    pub fn note(&mut self, count: usize, sender: &str, body: &str) {
        if count == 0 {
            return;
        }
        self.pending += count;
        self.latest = Some((sender.to_owned(), body.to_owned()));
    }

    /// The status line now says (or, gone, means) `text`.
    pub fn note_status(&mut self, text: &'static str) {
        self.status = Some(text).filter(|t| Some(*t) != self.said_status);
    }

    /// The text to announce now, if anything is pending and the last
    /// announcement is old enough.
    pub fn poll(&mut self, now: f64) -> Option<String> {
        if self.pending == 0 && self.status.is_none() {
            return None;
        }
        if matches!(self.last_at, Some(t) if now - t < INTERVAL_MS) {
            return None;
        }
        let lines = self.latest.take().map(|(sender, body)| {
            let body = shorten(&body);
            match self.pending {
                1 => format!("{sender}: {body}"),
                n => format!("{n} new messages; latest from {sender}: {body}"),
            }
        });
        let status = self.status.take();
        let text = match (status, lines) {
            (Some(status), Some(lines)) => format!("{status}. {lines}"),
            (Some(status), None) => status.to_owned(),
            (None, lines) => lines?,
        };
        if status.is_some() {
            self.said_status = status;
        }
        self.pending = 0;
        self.last_at = Some(now);
        Some(text)
    }

    /// Forgets what is pending (e.g. when captions are hidden).
    pub fn reset(&mut self) {
        self.pending = 0;
        self.latest = None;
        self.status = None;
    }
}

fn shorten(body: &str) -> String {
    match body.char_indices().nth(MAX_BODY_CHARS) {
        Some((cut, _)) => format!("{}…", body.get(..cut).unwrap_or_default()),
        None => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_message_is_announced_at_once() {
        let mut a = Announcer::default();
        assert_eq!(a.poll(0.0), None);
        a.note(1, "Ada", "hello");
        assert_eq!(a.poll(0.0).as_deref(), Some("Ada: hello"));
        assert_eq!(a.poll(10_000.0), None);
    }

    #[test]
    fn a_burst_is_summarised_once_per_interval() {
        let mut a = Announcer::default();
        a.note(1, "Ada", "one");
        assert!(a.poll(1000.0).is_some());
        for i in 0..5 {
            a.note(1, "Bob", &format!("msg {i}"));
            assert_eq!(a.poll(1000.0 + i as f64 * 100.0), None);
        }
        a.note(2, "Cy", "last");
        assert_eq!(
            a.poll(1000.0 + INTERVAL_MS).as_deref(),
            Some("7 new messages; latest from Cy: last")
        );
    }

    #[test]
    fn long_bodies_are_shortened_on_a_char_boundary() {
        let mut a = Announcer::default();
        a.note(1, "E", &"😀".repeat(500));
        let text = a.poll(0.0).unwrap();
        assert_eq!(text.chars().count(), "E: ".len() + MAX_BODY_CHARS + 1);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn a_status_change_is_said_first_within_the_same_throttle() {
        let mut a = Announcer::default();
        a.note(1, "Ada", "hi");
        assert!(a.poll(0.0).is_some());
        a.note_status("Link down");
        a.note(1, "Bob", "still here");
        assert_eq!(a.poll(100.0), None);
        assert_eq!(
            a.poll(INTERVAL_MS).as_deref(),
            Some("Link down. Bob: still here")
        );
        a.note_status("Link back");
        assert_eq!(a.poll(2.0 * INTERVAL_MS).as_deref(), Some("Link back"));
        assert_eq!(a.poll(10.0 * INTERVAL_MS), None);
    }

    #[test]
    fn a_status_flapping_back_within_the_interval_is_not_said_again() {
        let mut a = Announcer::default();
        a.note_status("Link down");
        assert_eq!(a.poll(0.0).as_deref(), Some("Link down"));
        // Back and down again before the next announcement may be made: the
        // viewer already heard "down", and it is still down.
        a.note_status("Link back");
        a.note_status("Link down");
        assert_eq!(a.poll(INTERVAL_MS), None);
        a.note_status("Link back");
        assert_eq!(a.poll(INTERVAL_MS).as_deref(), Some("Link back"));
    }

    #[test]
    fn zero_counts_and_resets_announce_nothing() {
        let mut a = Announcer::default();
        a.note(0, "Ada", "x");
        assert_eq!(a.poll(0.0), None);
        a.note(3, "Ada", "x");
        a.note_status("Link down");
        a.reset();
        assert_eq!(a.poll(0.0), None);
    }
}
