//! Property tests of the wire types: every frame within the protocol's limits
//! round-trips through serde, arbitrary bytes and JSON never panic the
//! decoder, and what it accepts re-encodes to the same frame.

mod strategies;

use chyron_protocol::ServerFrame;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;
use strategies::{frame, json, mutated_frame};

proptest! {
    #[test]
    fn frames_round_trip_through_json_text(f in frame(u64::MAX)) {
        let text = serde_json::to_string(&f).unwrap();
        prop_assert_eq!(serde_json::from_str::<ServerFrame>(&text).unwrap(), f.clone());
        let value = serde_json::to_value(&f).unwrap();
        prop_assert_eq!(serde_json::from_value::<ServerFrame>(value.clone()).unwrap(), f.clone());
        // The tag names the variant the way the widget reads it.
        let tag = value["type"].as_str().unwrap();
        prop_assert_eq!(tag, format!("{f:?}").split([' ', '(']).next().unwrap().to_lowercase());
        prop_assert_eq!(f.event_seq(), value.get("seq").and_then(Value::as_u64)
            .filter(|_| !matches!(f, ServerFrame::Snapshot(_))));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        reencodes(serde_json::from_slice::<ServerFrame>(&bytes).ok())?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let framed = format!("{{\"type\":\"message\",\"seq\":1,\"message\":{text}}}");
        reencodes(serde_json::from_str::<ServerFrame>(&framed).ok())?;
        reencodes(serde_json::from_str::<ServerFrame>(&text).ok())?;
    }

    #[test]
    fn arbitrary_json_never_panics(v in json()) {
        reencodes(serde_json::from_value::<ServerFrame>(v.clone()).ok())?;
        reencodes(serde_json::from_str::<ServerFrame>(&v.to_string()).ok())?;
    }

    #[test]
    fn mutated_frames_never_panic(v in mutated_frame(u64::MAX)) {
        let from_value = serde_json::from_value::<ServerFrame>(v.clone()).ok();
        let from_text = serde_json::from_str::<ServerFrame>(&v.to_string()).ok();
        // Reading the text and reading the parsed value agree.
        prop_assert_eq!(&from_value, &from_text, "{}", v);
        reencodes(from_value)?;
    }
}

/// A decoded frame encodes to JSON that decodes to the same frame (the
/// decoder reads nothing it would not write the same way).
fn reencodes(decoded: Option<ServerFrame>) -> Result<(), TestCaseError> {
    if let Some(f) = decoded {
        let text = serde_json::to_string(&f).unwrap();
        prop_assert_eq!(serde_json::from_str::<ServerFrame>(&text).unwrap(), f);
    }
    Ok(())
}
