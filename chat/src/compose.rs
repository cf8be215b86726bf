//! The composer's rules: which key does what, what may be posted, and the
//! display name a viewer picks. Plain Rust; the view asks these.

use chyron_protocol::is_disguising;

/// Longest post accepted, in bytes (Matrix events are at most 64 KiB; the
/// relay keeps bodies far shorter than that anyway).
pub const MAX_POST_BYTES: usize = 4000;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// What a key press in the composer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// Post (or save the edit).
    Send,
    /// Start editing the viewer's newest message.
    EditLast,
    /// Stop editing, restoring what was being typed before.
    CancelEdit,
    /// Let the textarea handle it (typing, Shift+Enter's line break).
    Default,
}

/// Enter sends, Shift+Enter breaks the line, Up in an empty composer edits
/// the last message, Escape cancels an edit. `composing` is an IME
/// composition in progress (its Enter confirms the composition, not the post).
pub fn key_action(
    key: &str,
    shift: bool,
    composing: bool,
    empty: bool,
    editing: bool,
) -> KeyAction {
    match key {
        _ if composing => KeyAction::Default,
        "Enter" if !shift => KeyAction::Send,
        "ArrowUp" if empty && !editing => KeyAction::EditLast,
        "Escape" if editing => KeyAction::CancelEdit,
        _ => KeyAction::Default,
    }
}

/// Why a post cannot be sent as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostError {
    /// Nothing but white space.
    Empty,
    /// Over [`MAX_POST_BYTES`].
    TooLong,
}

impl PostError {
    /// A sentence for the viewer.
    pub fn message(self) -> String {
        match self {
            PostError::Empty => "Type a message first.".to_owned(),
            PostError::TooLong => format!("Messages can be at most {MAX_POST_BYTES} bytes long."),
        }
    }
}

/// The text to post, trimmed, or why not.
pub fn check_post(text: &str) -> Result<&str, PostError> {
    let text = text.trim();
    if text.is_empty() {
        Err(PostError::Empty)
    } else if text.len() > MAX_POST_BYTES {
        Err(PostError::TooLong)
    } else {
        Ok(text)
    }
}

/// A display name as the viewer typed it, cleaned: trimmed, runs of white
/// space made one space, control and format characters (bidi overrides,
/// zero-width joiners) removed. `Err` says why it cannot be used.
pub fn check_name(name: &str) -> Result<String, String> {
    let cleaned: String = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control() && !is_disguising(*c))
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() {
        Err("Pick a name to chat with.".to_owned())
    } else if cleaned.chars().count() > MAX_NAME_CHARS {
        Err(format!(
            "Names can be at most {MAX_NAME_CHARS} characters long."
        ))
    } else {
        Ok(cleaned)
    }
}

/// A friendly suggested name, `Viewer 1234`, from any random number.
pub fn suggest_name(random: f64) -> String {
    let n = (random.clamp(0.0, 0.9999) * 9000.0) as u32 + 1000;
    format!("Viewer {n}")
}

/// A Matrix username as typed at sign-in: `alice`, `@alice:server` or
/// `@alice` are all fine; returns the localpart or full id, or why not.
pub fn check_username(name: &str) -> Result<String, String> {
    let name = name.trim();
    let local = name.strip_prefix('@').unwrap_or(name);
    let local = local.split(':').next().unwrap_or_default();
    if local.is_empty() {
        return Err("Enter a username.".to_owned());
    }
    let ok = local
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._=-/+".contains(c));
    if !ok {
        return Err("Usernames may use a–z, 0–9 and . _ = - / + only.".to_owned());
    }
    if name.len() > 255 {
        return Err("That username is too long.".to_owned());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        use KeyAction::*;
        assert_eq!(key_action("Enter", false, false, false, false), Send);
        assert_eq!(key_action("Enter", true, false, false, false), Default);
        assert_eq!(
            key_action("Enter", false, true, false, false),
            Default,
            "IME"
        );
        assert_eq!(key_action("ArrowUp", false, false, true, false), EditLast);
        assert_eq!(key_action("ArrowUp", false, false, false, false), Default);
        assert_eq!(key_action("ArrowUp", false, false, true, true), Default);
        assert_eq!(key_action("Escape", false, false, true, true), CancelEdit);
        assert_eq!(key_action("Escape", false, false, true, false), Default);
        assert_eq!(key_action("a", false, false, true, false), Default);
    }

    #[test]
    fn posts() {
        assert_eq!(check_post("  hi \n"), Ok("hi"));
        assert_eq!(check_post(" \n\t "), Err(PostError::Empty));
        assert_eq!(
            check_post(&"x".repeat(MAX_POST_BYTES)).map(str::len),
            Ok(MAX_POST_BYTES)
        );
        assert_eq!(
            check_post(&"é".repeat(MAX_POST_BYTES)),
            Err(PostError::TooLong)
        );
        assert!(PostError::TooLong.message().contains("4000"));
    }

    #[test]
    fn names_are_cleaned_and_bounded() {
        assert_eq!(
            check_name("  Ada \n Lovelace "),
            Ok("Ada Lovelace".to_owned())
        );
        assert_eq!(check_name("a\u{202E}dmin\u{200B}"), Ok("admin".to_owned()));
        assert_eq!(check_name("x\u{0007}y"), Ok("xy".to_owned()));
        assert!(check_name("   ").is_err());
        assert!(check_name("\u{202E}\u{200B}").is_err());
        assert!(check_name(&"n".repeat(41)).is_err());
        assert!(check_name(&"ñ".repeat(40)).is_ok());
        assert_eq!(
            check_name("<img src=x onerror=alert(1)>").unwrap().len(),
            28,
            "text, kept as typed"
        );
        for r in [0.0, 0.5, 0.99999, 1.0, -3.0, f64::NAN] {
            let name = suggest_name(r);
            assert!(check_name(&name).is_ok(), "{name}");
            assert_eq!(name.len(), "Viewer 1234".len(), "{name}");
        }
    }

    #[test]
    fn usernames() {
        assert_eq!(check_username(" alice "), Ok("alice".to_owned()));
        assert_eq!(
            check_username("@alice:localhost"),
            Ok("@alice:localhost".to_owned())
        );
        assert!(check_username("").is_err());
        assert!(check_username("@:hs").is_err());
        assert!(check_username("Alice").is_err());
        assert!(check_username("al ice").is_err());
        assert!(check_username(&format!("@{}:hs", "a".repeat(300))).is_err());
    }
}
