//! What the widget shows, chosen by the viewer and remembered per channel.
//!
//! Stored values the current version does not know are ignored, so an older
//! widget reading a newer widget's choice falls back to captions. In
//! [`Mode::Chat`] the chat module (a second wasm module, loaded on demand)
//! shows the conversation and the captions step aside; the chat sets that
//! mode once it is ready, so the captions never leave an empty box behind.

/// The viewer's choice of display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Chat lines as captions over the video.
    #[default]
    Captions,
    /// Nothing but the button to bring captions back.
    Hidden,
    /// The full chat panel instead of captions (set by the chat module).
    Chat,
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
            Mode::Chat => "chat",
        }
    }

    /// Reads a stored value; `None` for anything unknown.
    pub fn parse(value: &str) -> Option<Mode> {
        match value {
            "captions" => Some(Mode::Captions),
            "hidden" => Some(Mode::Hidden),
            "chat" => Some(Mode::Chat),
            _ => None,
        }
    }

    /// Whether caption lines are shown (and announced).
    pub fn shows_captions(self) -> bool {
        self == Mode::Captions
    }

    /// The mode the toggle button switches to (from chat: back to captions).
    pub fn toggled(self) -> Mode {
        match self {
            Mode::Captions => Mode::Hidden,
            Mode::Hidden | Mode::Chat => Mode::Captions,
        }
    }

    /// The toggle button's label in this mode: what pressing it does.
    pub fn toggle_label(self) -> &'static str {
        match self {
            Mode::Captions => "Hide captions",
            Mode::Hidden | Mode::Chat => "Show captions",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_toggles() {
        for mode in [Mode::Captions, Mode::Hidden, Mode::Chat] {
            assert_eq!(Mode::parse(mode.as_str()), Some(mode));
            assert_ne!(mode.toggled(), mode);
        }
        assert_eq!(Mode::Hidden.toggled().toggled(), Mode::Hidden);
        assert_eq!(Mode::Chat.toggled(), Mode::Captions);
        assert!(!Mode::Chat.shows_captions());
        assert_eq!(Mode::default(), Mode::Captions);
        assert_eq!(Mode::Captions.toggle_label(), "Hide captions");
        assert_eq!(Mode::Hidden.toggle_label(), "Show captions");
        assert!(!Mode::Hidden.shows_captions());
    }

    #[test]
    fn unknown_stored_values_are_ignored() {
        for bad in ["", "Captions", "full_chat", "Chat", "hidden ", "<script>"] {
            assert_eq!(Mode::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Mode::storage_key("demo"), "chyron:mode:demo");
    }
}
