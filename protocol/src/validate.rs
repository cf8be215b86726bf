//! Validation of what people send: channel names, sender names, bodies.
//!
//! Shared so the relay rejects exactly what the widget would refuse to show,
//! and each error says which rule was broken.

use crate::limits::{MAX_BODY_CHARS, MAX_CHANNEL_LEN, MAX_SENDER_CHARS, MAX_SENDER_ID_CHARS};
use std::fmt;

/// Why a piece of input was refused. `Display` gives a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidInput {
    /// The field is empty, or only whitespace.
    Empty { field: &'static str },
    /// The field is longer than its limit.
    TooLong {
        field: &'static str,
        /// The limit, in the unit of `unit`.
        max: usize,
        unit: &'static str,
    },
    /// The field holds a character it may not hold.
    BadCharacter { field: &'static str, found: char },
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidInput::Empty { field } => write!(f, "`{field}` must not be empty"),
            InvalidInput::TooLong { field, max, unit } => {
                write!(f, "`{field}` is longer than {max} {unit}")
            }
            InvalidInput::BadCharacter { field, found } => {
                write!(f, "`{field}` may not contain {:?}", found)
            }
        }
    }
}

impl std::error::Error for InvalidInput {}

/// A channel name: 1–64 of `a-z`, `0-9`, `-`, `_`, starting with a letter or
/// digit. Names appear in URLs, storage keys and CSS, so they stay plain ASCII.
pub fn validate_channel(name: &str) -> Result<(), InvalidInput> {
    const FIELD: &str = "channel";
    let first = name
        .chars()
        .next()
        .ok_or(InvalidInput::Empty { field: FIELD })?;
    if name.len() > MAX_CHANNEL_LEN {
        return Err(InvalidInput::TooLong {
            field: FIELD,
            max: MAX_CHANNEL_LEN,
            unit: "bytes",
        });
    }
    if !first.is_ascii_lowercase() && !first.is_ascii_digit() {
        return Err(InvalidInput::BadCharacter {
            field: FIELD,
            found: first,
        });
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        Some(found) => Err(InvalidInput::BadCharacter {
            field: FIELD,
            found,
        }),
        None => Ok(()),
    }
}

/// Unicode format characters that can disguise a name: bidi embeddings,
/// overrides, isolates and marks (text shown in another order than it is),
/// zero-width characters and the BOM (two names that look the same). Names
/// from Matrix and names viewers pick are shown without them.
pub fn is_disguising(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Text from elsewhere (a Matrix event) made showable: control characters
/// become spaces (newlines and tabs stay when `multiline`), one-line texts
/// (names) lose what could disguise them ([`is_disguising`]), and anything
/// over `max_chars` is cut with an ellipsis. `None` when nothing readable is
/// left.
pub fn clean_text(text: &str, max_chars: usize, multiline: bool) -> Option<String> {
    let keep = |c: char| multiline && (c == '\n' || c == '\t');
    let mut out: String = text
        .chars()
        .filter(|c| multiline || !is_disguising(*c))
        .map(|c| if c.is_control() && !keep(c) { ' ' } else { c })
        .collect();
    if out.trim().is_empty() {
        return None;
    }
    if out.chars().count() > max_chars {
        out = out.chars().take(max_chars.saturating_sub(1)).collect();
        out.push('…');
    }
    Some(out)
}

/// A sender display name: 1–64 characters, not all whitespace, on one line,
/// with no control characters.
pub fn validate_sender(sender: &str) -> Result<(), InvalidInput> {
    check_text("sender", sender, MAX_SENDER_CHARS, false)
}

/// A stable sender identity (colours and "clear this user" key on it).
pub fn validate_sender_id(sender_id: &str) -> Result<(), InvalidInput> {
    check_text("sender_id", sender_id, MAX_SENDER_ID_CHARS, false)
}

/// A message body: 1–2000 characters, not all whitespace, no control
/// characters except newline and tab. Anything else (markup, bidi controls,
/// combining marks, emoji) is allowed: the widget renders bodies as inert text.
pub fn validate_body(body: &str) -> Result<(), InvalidInput> {
    check_text("body", body, MAX_BODY_CHARS, true)
}

fn check_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<(), InvalidInput> {
    if text.trim().is_empty() {
        return Err(InvalidInput::Empty { field });
    }
    if text.chars().count() > max_chars {
        return Err(InvalidInput::TooLong {
            field,
            max: max_chars,
            unit: "characters",
        });
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t');
    match text.chars().find(|c| c.is_control() && !allowed(*c)) {
        Some(found) => Err(InvalidInput::BadCharacter { field, found }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels() {
        for ok in ["demo", "a", "0", "stream-2026_main", &"x".repeat(64)] {
            assert_eq!(validate_channel(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            validate_channel(""),
            Err(InvalidInput::Empty { field: "channel" })
        );
        assert!(matches!(
            validate_channel(&"x".repeat(65)),
            Err(InvalidInput::TooLong { .. })
        ));
        for bad in [
            "Demo", "-x", "_x", "a b", "a/b", "a.b", "ü", "a\0", "../x", "<script>",
        ] {
            assert!(
                matches!(
                    validate_channel(bad),
                    Err(InvalidInput::BadCharacter { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn senders() {
        assert_eq!(validate_sender("Ada Lovelace 🦀"), Ok(()));
        assert_eq!(validate_sender(&"é".repeat(64)), Ok(()));
        assert!(matches!(
            validate_sender(&"é".repeat(65)),
            Err(InvalidInput::TooLong { .. })
        ));
        assert_eq!(
            validate_sender("  \t"),
            Err(InvalidInput::Empty { field: "sender" })
        );
        assert_eq!(
            validate_sender("a\nb"),
            Err(InvalidInput::BadCharacter {
                field: "sender",
                found: '\n'
            })
        );
    }

    #[test]
    fn bodies() {
        assert_eq!(
            validate_body("line one\nline two\t<b>x</b> \u{202e}evil"),
            Ok(())
        );
        assert_eq!(validate_body(&"😀".repeat(2000)), Ok(()));
        let too_long = validate_body(&"😀".repeat(2001)).unwrap_err();
        assert_eq!(
            too_long.to_string(),
            "`body` is longer than 2000 characters"
        );
        assert_eq!(
            validate_body("bell\u{7}"),
            Err(InvalidInput::BadCharacter {
                field: "body",
                found: '\u{7}'
            })
        );
        assert_eq!(
            validate_body("\n\n"),
            Err(InvalidInput::Empty { field: "body" })
        );
    }
}
