//! What the widget shows, chosen by the viewer and remembered per channel.
//!
//! An enum rather than a flag so a later full-chat mode is one more variant;
//! stored values the current version does not know are ignored, so an older
//! widget reading a newer widget's choice falls back to captions.

/// The viewer's choice of display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Chat lines as captions over the video.
    #[default]
    Captions,
    /// Nothing but the button to bring captions back.
    Hidden,
}

impl Mode {
    /// The localStorage key for a channel's choice.
    pub fn storage_key(channel: &str) -> String {
        format!("chyron:mode:{channel}")
    }

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Captions => "captions",
            Mode::Hidden => "hidden",
        }
    }

    /// Reads a stored value; `None` for anything unknown.
    pub fn parse(value: &str) -> Option<Mode> {
        match value {
            "captions" => Some(Mode::Captions),
            "hidden" => Some(Mode::Hidden),
            _ => None,
        }
    }

    /// Whether caption lines are shown (and announced).
    pub fn shows_captions(self) -> bool {
        self == Mode::Captions
    }

    /// The mode the toggle button switches to.
    pub fn toggled(self) -> Mode {
        match self {
            Mode::Captions => Mode::Hidden,
            Mode::Hidden => Mode::Captions,
        }
    }

    /// The toggle button's label in this mode: what pressing it does.
    pub fn toggle_label(self) -> &'static str {
        match self {
            Mode::Captions => "Hide captions",
            Mode::Hidden => "Show captions",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_toggles() {
        for mode in [Mode::Captions, Mode::Hidden] {
            assert_eq!(Mode::parse(mode.as_str()), Some(mode));
            assert_eq!(mode.toggled().toggled(), mode);
            assert_ne!(mode.toggled(), mode);
        }
        assert_eq!(Mode::default(), Mode::Captions);
        assert_eq!(Mode::Captions.toggle_label(), "Hide captions");
        assert_eq!(Mode::Hidden.toggle_label(), "Show captions");
        assert!(!Mode::Hidden.shows_captions());
    }

    #[test]
    fn unknown_stored_values_are_ignored() {
        for bad in ["", "Captions", "full_chat", "hidden ", "<script>"] {
            assert_eq!(Mode::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Mode::storage_key("demo"), "chyron:mode:demo");
    }
}
