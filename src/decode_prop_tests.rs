//! Property tests: the decoder against the protocol's serde on generated
//! frames, mutated frames, arbitrary JSON and arbitrary bytes.
//!
//! The JSON reaches the decoder the way `JSON.parse` gives it (every number
//! an f64: `Json for serde_json::Value` in `decode_tests.rs` reads numbers
//! with `as_f64`), and serde gets the same value with integral numbers
//! written as integers, which is what a browser's number means. Then the
//! verdicts must be equal, except in the documented differences: shapes the
//! relay never writes that serde also takes (a struct as an array, a unit
//! variant as a one-key map, a frame as an array) and integers beyond 2^53 - 1, which the browser
//! cannot hold exactly; there the decoder refuses, never reads another value.

use super::frame;
use chyron_protocol::ServerFrame;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;

#[path = "../protocol/tests/strategies/mod.rs"]
mod strategies;

use strategies::{json, mutated_frame, SAFE};

/// `v` as the browser's numbers mean it: integral floats become integers.
fn as_browser_reads(v: &Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= SAFE as f64 => Value::from(f as i64),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(as_browser_reads).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), as_browser_reads(v)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// Whether `v` holds an integer the browser cannot hold exactly.
fn has_unsafe_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => n
            .as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f.abs() > SAFE as f64),
        Value::Array(a) => a.iter().any(has_unsafe_integer),
        Value::Object(o) => o.values().any(has_unsafe_integer),
        _ => false,
    }
}

/// Whether a frame's JSON uses a shape that serde takes and the relay never
/// writes: a struct as an array (the frame itself too, tag first) or a unit
/// variant as a map, where the frame type expects a message, media or enum
/// value.
fn has_lax_shape(v: &Value) -> bool {
    let is = |v: Option<&Value>, f: fn(&Value) -> bool| v.is_some_and(f);
    let message_lax = |m: &Value| {
        m.is_array()
            || is(m.get("source"), Value::is_object)
            || is(m.get("media"), Value::is_array)
            || m.get("media")
                .and_then(|media| media.get("kind"))
                .is_some_and(Value::is_object)
    };
    if v.is_array() {
        // The whole frame as an array, tag first.
        return true;
    }
    match v.get("type").and_then(Value::as_str) {
        Some("message") => v.get("message").is_some_and(message_lax),
        Some("snapshot") => {
            is(v.get("reason"), Value::is_object)
                || v.get("messages")
                    .and_then(Value::as_array)
                    .is_some_and(|ms| ms.iter().any(message_lax))
        }
        Some("bridge") => is(v.get("state"), Value::is_object),
        _ => false,
    }
}

/// Both decoders on `input`, with the documented differences allowed.
fn agrees(input: &Value) -> Result<(), TestCaseError> {
    let ours = frame(input);
    let theirs = serde_json::from_value::<ServerFrame>(as_browser_reads(input)).ok();
    if ours.is_some() || !(has_lax_shape(input) || has_unsafe_integer(input)) {
        prop_assert_eq!(ours, theirs, "{}", input);
    }
    Ok(())
}

proptest! {
    #[test]
    fn decodes_every_generated_frame_as_serde_does(f in strategies::frame(SAFE)) {
        let encoded = serde_json::to_value(&f).unwrap();
        prop_assert_eq!(frame(&encoded), Some(f.clone()), "{}", encoded);
        let text = serde_json::to_string(&f).unwrap();
        prop_assert_eq!(frame(&serde_json::from_str::<Value>(&text).unwrap()), Some(f));
    }

    #[test]
    fn agrees_with_serde_on_mutated_frames(v in mutated_frame(SAFE)) {
        agrees(&v)?;
    }

    #[test]
    fn agrees_with_serde_on_frames_with_any_integers(v in mutated_frame(u64::MAX)) {
        agrees(&v)?;
    }

    #[test]
    fn agrees_with_serde_on_arbitrary_json(v in json()) {
        agrees(&v)?;
        let mut typed = serde_json::json!({"type": "message", "seq": 1});
        typed["message"] = v;
        agrees(&typed)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            agrees(&v)?;
        }
    }
}
