//! Where the widget is in the feed: the epoch and the last event applied.
//!
//! The relay numbers events per channel (`seq`, +1 each). The cursor applies
//! each number once, in order: old or repeated numbers are skipped (they can
//! come twice around a reconnect), and a jump means events were lost, so the
//! socket reconnects and resumes from the cursor (`?epoch=E&since=N`), which
//! makes the relay resend exactly what is missing or send a snapshot.
//!
//! Every event counts, including those the captions do nothing visible with
//! (a `profile` rename of a sender no line shows). A `bridge` frame is not an
//! event: it has no seq, is shown as it comes and leaves the cursor alone.

use chyron_protocol::ServerFrame;

/// What to do with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Show it.
    Apply,
    /// Ignore it: already applied, or nothing for the captions.
    Skip,
    /// Events are missing before it: reconnect and resume from the cursor.
    Resync,
}

/// The feed position of one widget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    epoch: Option<String>,
    seq: u64,
}

impl Cursor {
    /// Decides what to do with `frame`, advancing the cursor when applied.
    pub fn step(&mut self, frame: &ServerFrame) -> Step {
        if let ServerFrame::Snapshot(snapshot) = frame {
            self.epoch = Some(snapshot.epoch.clone());
            self.seq = snapshot.seq;
            return Step::Apply;
        }
        if let ServerFrame::Bridge { .. } = frame {
            return Step::Apply;
        }
        let Some(seq) = frame.event_seq() else {
            return Step::Skip;
        };
        if self.epoch.is_none() {
            // Events before any snapshot cannot be placed; start over.
            return Step::Resync;
        }
        if seq <= self.seq {
            Step::Skip
        } else if seq == self.seq + 1 {
            self.seq = seq;
            Step::Apply
        } else {
            Step::Resync
        }
    }

    /// The feed URL for the next connection: a resume from the cursor once a
    /// snapshot has been applied, else a fresh start. `limit` caps a snapshot.
    pub fn url(&self, feed_url: &str, limit: usize) -> String {
        match &self.epoch {
            Some(epoch) => format!(
                "{feed_url}?epoch={}&since={}&limit={limit}",
                percent_encode(epoch),
                self.seq
            ),
            None => format!("{feed_url}?limit={limit}"),
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters: the epoch
/// is opaque and comes from the network.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chyron_protocol::{BridgeState, Snapshot, SnapshotReason};

    fn snap(epoch: &str, seq: u64) -> ServerFrame {
        ServerFrame::Snapshot(Snapshot {
            channel: "demo".into(),
            epoch: epoch.into(),
            seq,
            reason: SnapshotReason::Initial,
            messages: vec![],
        })
    }

    fn delete(seq: u64) -> ServerFrame {
        ServerFrame::Delete {
            seq,
            id: "x".into(),
        }
    }

    #[test]
    fn fresh_cursor_asks_for_a_snapshot() {
        let c = Cursor::default();
        assert_eq!(c.url("wss://r/feed/demo", 3), "wss://r/feed/demo?limit=3");
    }

    #[test]
    fn events_apply_once_in_order() {
        let mut c = Cursor::default();
        assert_eq!(c.step(&snap("e1", 10)), Step::Apply);
        assert_eq!(c.step(&delete(11)), Step::Apply);
        assert_eq!(c.step(&delete(11)), Step::Skip);
        assert_eq!(c.step(&delete(3)), Step::Skip);
        assert_eq!(c.step(&delete(12)), Step::Apply);
        assert_eq!(
            c.url("wss://r/feed/demo", 5),
            "wss://r/feed/demo?epoch=e1&since=12&limit=5"
        );
    }

    #[test]
    fn a_gap_resyncs_without_advancing() {
        let mut c = Cursor::default();
        c.step(&snap("e1", 10));
        assert_eq!(c.step(&delete(12)), Step::Resync);
        assert!(c.url("w", 3).contains("since=10"));
        // The resumed connection resends 11 and 12.
        assert_eq!(c.step(&delete(11)), Step::Apply);
        assert_eq!(c.step(&delete(12)), Step::Apply);
    }

    #[test]
    fn events_before_a_snapshot_resync() {
        let mut c = Cursor::default();
        assert_eq!(c.step(&delete(1)), Step::Resync);
    }

    #[test]
    fn a_snapshot_moves_the_cursor_even_backwards() {
        let mut c = Cursor::default();
        c.step(&snap("e1", 50));
        assert_eq!(c.step(&snap("e2", 2)), Step::Apply);
        assert_eq!(c.step(&delete(3)), Step::Apply);
        assert!(c.url("w", 3).contains("epoch=e2&since=3"));
    }

    #[test]
    fn non_events_are_skipped() {
        let mut c = Cursor::default();
        c.step(&snap("e1", 1));
        assert_eq!(c.step(&ServerFrame::Unknown), Step::Skip);
        let err = ServerFrame::Error {
            code: "read_only".into(),
            message: "no".into(),
        };
        assert_eq!(c.step(&err), Step::Skip);
    }

    #[test]
    fn profiles_are_events_and_advance_the_cursor() {
        let mut c = Cursor::default();
        c.step(&snap("e1", 10));
        let profile = |seq| ServerFrame::Profile {
            seq,
            sender_id: "@a:hs".into(),
            sender: "A".into(),
            avatar: None,
        };
        assert_eq!(c.step(&profile(11)), Step::Apply);
        assert_eq!(c.step(&profile(11)), Step::Skip);
        assert_eq!(c.step(&delete(12)), Step::Apply);
        assert_eq!(c.step(&profile(14)), Step::Resync);
        assert!(c.url("w", 3).contains("since=12"));
    }

    #[test]
    fn bridge_frames_apply_without_moving_the_cursor() {
        let mut c = Cursor::default();
        let bridge = |state| ServerFrame::Bridge { state };
        // Even before a snapshot: it is the link's state, not an event.
        assert_eq!(c.step(&bridge(BridgeState::Connecting)), Step::Apply);
        assert_eq!(c, Cursor::default());
        c.step(&snap("e1", 10));
        let at = c.clone();
        for state in [BridgeState::Down, BridgeState::Live, BridgeState::Other] {
            assert_eq!(c.step(&bridge(state)), Step::Apply);
            assert_eq!(c, at);
        }
        assert_eq!(c.step(&delete(11)), Step::Apply);
    }

    #[test]
    fn hostile_epochs_are_encoded() {
        let mut c = Cursor::default();
        c.step(&snap("a&since=0#x é", 7));
        assert_eq!(
            c.url("w", 3),
            "w?epoch=a%26since%3D0%23x%20%C3%A9&since=7&limit=3"
        );
    }
}
