//! The status line: what a viewer needs to know about a bridged channel's
//! link to Matrix, from the relay's `bridge` frames.
//!
//! Quiet by design: only a link that is down shows a line, and only `live`
//! takes it away. `connecting` (a login, a catch-up, a retry) shows nothing
//! by itself and does not claim the link is back; states this version does
//! not know change nothing, like unknown frames.

use chyron_protocol::BridgeState;

/// The line shown while the link is down.
pub const DOWN: &str = "Chat link to Matrix interrupted — reconnecting; messages will catch up";
/// Announced (not shown) when the link is back after being down.
pub const RESTORED: &str = "Chat link to Matrix restored";

/// The status line's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    down: bool,
}

impl Status {
    /// The line to show, if any.
    pub fn text(self) -> Option<&'static str> {
        self.down.then_some(DOWN)
    }

    /// Applies a bridge state; returns what to announce if the line changed.
    pub fn set(&mut self, state: BridgeState) -> Option<&'static str> {
        let down = match state {
            BridgeState::Down => true,
            BridgeState::Live => false,
            BridgeState::Connecting | BridgeState::Other => self.down,
        };
        if down == self.down {
            return None;
        }
        self.down = down;
        Some(if down { DOWN } else { RESTORED })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BridgeState::*;

    #[test]
    fn only_down_shows_a_line_and_only_live_removes_it() {
        let mut s = Status::default();
        assert_eq!(s.text(), None);
        assert_eq!(s.set(Connecting), None);
        assert_eq!(s.set(Live), None);
        assert_eq!(s.text(), None);
        assert_eq!(s.set(Down), Some(DOWN));
        assert_eq!(s.text(), Some(DOWN));
        // Retrying is not recovered yet; an unknown state claims nothing.
        assert_eq!(s.set(Connecting), None);
        assert_eq!(s.set(Other), None);
        assert_eq!(s.text(), Some(DOWN));
        assert_eq!(s.set(Live), Some(RESTORED));
        assert_eq!(s.text(), None);
    }

    #[test]
    fn repeated_states_announce_once() {
        let mut s = Status::default();
        assert_eq!(s.set(Down), Some(DOWN));
        // Every reconnect of the viewer's socket repeats the state.
        assert_eq!(s.set(Down), None);
        assert_eq!(s.set(Down), None);
        assert_eq!(s.set(Live), Some(RESTORED));
        assert_eq!(s.set(Live), None);
        assert_eq!(s.set(Other), None);
        assert_eq!(s.text(), None);
    }
}
