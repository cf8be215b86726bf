//! Property tests of input validation: for any string, each check gives the
//! verdict its doc comment states (a model written from the docs), never
//! panics, and its error names the field.

use chyron_protocol::limits::{
    MAX_BODY_CHARS, MAX_CHANNEL_LEN, MAX_SENDER_CHARS, MAX_SENDER_ID_CHARS,
};
use chyron_protocol::{
    sender_color_slot, validate_body, validate_channel, validate_sender, validate_sender_id,
    InvalidInput, SENDER_COLOR_SLOTS,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// Strings around the rules' edges: channel-like, blank, long, or anything.
fn input() -> impl Strategy<Value = String> {
    let any_text = vec(any::<char>(), 0..80).prop_map(String::from_iter);
    let near = proptest::sample::select(vec![' ', '\n', '\t', '\u{7}', 'é', '😀', 'A', '-', '_']);
    prop_oneof![
        "[a-z0-9_-]{0,70}",
        "[a-z0-9][a-z0-9_-]{0,63}",
        vec(near, 0..8).prop_map(String::from_iter),
        any_text,
        (0usize..2100, prop_oneof![Just('x'), Just('😀'), Just(' ')])
            .prop_map(|(n, c)| c.to_string().repeat(n)),
        // Right at each limit, one under and one over.
        (
            at_limits(),
            prop_oneof![Just('x'), Just('é'), Just('😀'), Just('-')]
        )
            .prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

fn at_limits() -> impl Strategy<Value = usize> {
    let limits = [
        MAX_CHANNEL_LEN,
        MAX_SENDER_CHARS,
        MAX_SENDER_ID_CHARS,
        MAX_BODY_CHARS,
    ];
    (proptest::sample::select(limits.to_vec()), 0usize..3).prop_map(|(max, d)| max + d - 1)
}

/// `validate_channel`'s doc: 1–64 of `a-z`, `0-9`, `-`, `_`, starting with a
/// letter or digit.
fn channel_ok(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok && name.len() <= MAX_CHANNEL_LEN && name.chars().all(allowed)
}

/// The text checks' doc: 1–`max` characters, not all whitespace, no control
/// characters (but newline and tab if `multiline`).
fn text_ok(text: &str, max: usize, multiline: bool) -> bool {
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t'));
    !text.trim().is_empty() && text.chars().count() <= max && text.chars().all(allowed)
}

/// A validation function.
type Check = fn(&str) -> Result<(), InvalidInput>;

/// The error names its field and reads as a sentence.
fn names_field(e: &InvalidInput, field: &str) -> Result<(), TestCaseError> {
    let (InvalidInput::Empty { field: f }
    | InvalidInput::TooLong { field: f, .. }
    | InvalidInput::BadCharacter { field: f, .. }) = e;
    prop_assert_eq!(*f, field);
    prop_assert!(e.to_string().starts_with(&format!("`{field}` ")), "{}", e);
    if let InvalidInput::BadCharacter { found, .. } = e {
        let shown = format!("{:?}", found);
        prop_assert!(e.to_string().contains(&shown));
    }
    Ok(())
}

proptest! {
    #[test]
    fn channel_names_follow_the_documented_rule(name in input()) {
        let verdict = validate_channel(&name);
        prop_assert_eq!(verdict.is_ok(), channel_ok(&name), "{:?}", name);
        if let Err(e) = verdict {
            names_field(&e, "channel")?;
            if let InvalidInput::BadCharacter { found, .. } = e {
                prop_assert!(name.contains(found));
            }
        }
    }

    #[test]
    fn text_fields_follow_the_documented_rules(text in input()) {
        let checks: [(Check, &str, usize, bool); 3] = [
            (validate_sender, "sender", MAX_SENDER_CHARS, false),
            (validate_sender_id, "sender_id", MAX_SENDER_ID_CHARS, false),
            (validate_body, "body", MAX_BODY_CHARS, true),
        ];
        for (check, field, max, multiline) in checks {
            let verdict = check(&text);
            prop_assert_eq!(verdict.is_ok(), text_ok(&text, max, multiline), "{} {:?}", field, text);
            if let Err(e) = verdict {
                names_field(&e, field)?;
                match e {
                    InvalidInput::Empty { .. } => prop_assert!(text.trim().is_empty()),
                    InvalidInput::TooLong { max: m, .. } => {
                        prop_assert_eq!(m, max);
                        prop_assert!(text.chars().count() > max);
                    }
                    InvalidInput::BadCharacter { found, .. } => {
                        prop_assert!(found.is_control() && text.contains(found));
                    }
                }
            }
        }
    }

    #[test]
    fn colour_slots_are_in_range_and_stable(id in input()) {
        let slot = sender_color_slot(&id);
        prop_assert!(slot < SENDER_COLOR_SLOTS);
        prop_assert_eq!(slot, sender_color_slot(&id.clone()));
    }
}
