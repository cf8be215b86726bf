//! Reading a feed frame from parsed JSON into the protocol's [`ServerFrame`].
//!
//! Why not serde: the protocol's derived `Deserialize` (an internally tagged
//! enum) plus serde's error machinery cost about 20 KB of brotli-compressed
//! wasm, a third of the widget's whole budget. The browser already parses
//! JSON (`JSON.parse`); this module only walks the result into the protocol's
//! own types, with the same rules as the derive: unknown `type` →
//! [`ServerFrame::Unknown`], unknown source or reason → `Other`, extra fields
//! ignored, missing or mistyped fields → `None` (the frame is dropped).
//!
//! The wire names are not a second source of truth: the tests encode every
//! frame shape with the protocol's own `Serialize` and require this decoder
//! to give back the same value, so a protocol change that this file does not
//! follow fails the build's tests.

use chyron_protocol::{Message, ServerFrame, Snapshot, SnapshotReason, Source};

/// A parsed JSON value, read-only: `JsValue` in the browser, and
/// `serde_json::Value` in native tests.
pub trait Json: Sized {
    /// The member `name` of an object; `None` if absent (or not an object).
    fn field(&self, name: &str) -> Option<Self>;
    fn string(&self) -> Option<String>;
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    fn items(&self) -> Option<Vec<Self>>;
}

/// The frame in `value`, or `None` if it is not a well-formed frame.
pub fn frame<J: Json>(value: &J) -> Option<ServerFrame> {
    let kind = value.field("type")?.string()?;
    let seq = || uint(value, "seq");
    let text = |name: &str| string(value, name);
    Some(match kind.as_str() {
        "snapshot" => ServerFrame::Snapshot(Snapshot {
            channel: text("channel")?,
            epoch: text("epoch")?,
            seq: seq()?,
            reason: match text("reason")?.as_str() {
                "initial" => SnapshotReason::Initial,
                "resume_unavailable" => SnapshotReason::ResumeUnavailable,
                "lagged" => SnapshotReason::Lagged,
                _ => SnapshotReason::Other,
            },
            messages: value
                .field("messages")?
                .items()?
                .iter()
                .map(message)
                .collect::<Option<_>>()?,
        }),
        "message" => ServerFrame::Message {
            seq: seq()?,
            message: message(&value.field("message")?)?,
        },
        "edit" => ServerFrame::Edit {
            seq: seq()?,
            id: text("id")?,
            body: text("body")?,
        },
        "delete" => ServerFrame::Delete {
            seq: seq()?,
            id: text("id")?,
        },
        "clear" => ServerFrame::Clear {
            seq: seq()?,
            sender_id: text("sender_id")?,
        },
        "error" => ServerFrame::Error {
            code: text("code")?,
            message: text("message")?,
        },
        _ => ServerFrame::Unknown,
    })
}

fn message<J: Json>(value: &J) -> Option<Message> {
    let text = |name: &str| string(value, name);
    Some(Message {
        id: text("id")?,
        sender: text("sender")?,
        sender_id: text("sender_id")?,
        body: text("body")?,
        ts: integer(value, "ts")?,
        edited: match value.field("edited") {
            None => false,
            Some(v) => v.boolean()?,
        },
        source: match text("source")?.as_str() {
            "api" => Source::Api,
            "webhook" => Source::Webhook,
            "matrix" => Source::Matrix,
            _ => Source::Other,
        },
    })
}

fn string<J: Json>(value: &J, name: &str) -> Option<String> {
    value.field(name)?.string()
}

/// A whole number that a JSON number (an f64 in the browser) holds exactly.
fn integer<J: Json>(value: &J, name: &str) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let n = value.field(name)?.number()?;
    (n.fract() == 0.0 && n.abs() <= EXACT).then_some(n as i64)
}

fn uint<J: Json>(value: &J, name: &str) -> Option<u64> {
    integer(value, name).and_then(|n| u64::try_from(n).ok())
}

/// What the browser's `JSON.parse` gives.
impl Json for wasm_bindgen::JsValue {
    fn field(&self, name: &str) -> Option<Self> {
        if !self.is_object() {
            return None;
        }
        let v = js_sys::Reflect::get(self, &name.into()).ok()?;
        (!v.is_undefined()).then_some(v)
    }
    fn string(&self) -> Option<String> {
        self.as_string()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn items(&self) -> Option<Vec<Self>> {
        js_sys::Array::is_array(self).then(|| js_sys::Array::from(self).iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    impl Json for Value {
        fn field(&self, name: &str) -> Option<Self> {
            self.as_object()?.get(name).cloned()
        }
        fn string(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }
        fn number(&self) -> Option<f64> {
            self.as_f64()
        }
        fn boolean(&self) -> Option<bool> {
            self.as_bool()
        }
        fn items(&self) -> Option<Vec<Self>> {
            self.as_array().cloned()
        }
    }

    fn msg(id: &str, edited: bool, source: Source) -> Message {
        Message {
            id: id.into(),
            sender: "Zoë \u{202e}<img src=x>".into(),
            sender_id: "@zoe:example.org".into(),
            body: "line\n<script>😀".into(),
            ts: 1_700_000_000_123,
            edited,
            source,
        }
    }

    fn every_shape() -> Vec<ServerFrame> {
        let mut frames = vec![];
        for reason in [
            SnapshotReason::Initial,
            SnapshotReason::ResumeUnavailable,
            SnapshotReason::Lagged,
        ] {
            frames.push(ServerFrame::Snapshot(Snapshot {
                channel: "demo".into(),
                epoch: "00ff".into(),
                seq: 9,
                reason,
                messages: vec![
                    msg("a", false, Source::Api),
                    msg("b", true, Source::Webhook),
                    msg("d", false, Source::Matrix),
                ],
            }));
        }
        frames.extend([
            ServerFrame::Message {
                seq: 10,
                message: msg("c", true, Source::Api),
            },
            ServerFrame::Edit {
                seq: 11,
                id: "c".into(),
                body: "fixed".into(),
            },
            ServerFrame::Delete {
                seq: 12,
                id: "c".into(),
            },
            ServerFrame::Clear {
                seq: 13,
                sender_id: "@zoe:example.org".into(),
            },
            ServerFrame::Error {
                code: "read_only".into(),
                message: "no".into(),
            },
        ]);
        frames
    }

    #[test]
    fn decodes_what_the_protocol_encodes() {
        for frame in every_shape() {
            let encoded = serde_json::to_value(&frame).unwrap();
            assert_eq!(super::frame(&encoded), Some(frame), "{encoded}");
        }
    }

    #[test]
    fn agrees_with_the_protocol_on_forward_compatible_values() {
        let inputs = [
            json!({"type": "typing", "who": "bob"}),
            json!({"type": "message", "seq": 1, "extra": [1], "message": {"id": "x",
                "sender": "s", "sender_id": "s", "body": "b", "ts": 0, "source": "irc"}}),
            json!({"type": "snapshot", "channel": "d", "epoch": "e", "seq": 0,
                "reason": "shard_moved", "messages": []}),
        ];
        for input in inputs {
            let ours = super::frame(&input);
            let theirs = serde_json::from_value::<ServerFrame>(input.clone()).ok();
            assert_eq!(ours, theirs, "{input}");
            assert!(ours.is_some());
        }
    }

    #[test]
    fn refuses_what_the_protocol_refuses() {
        let bad = [
            json!(null),
            json!([]),
            json!("message"),
            json!({"seq": 1}),
            json!({"type": 7}),
            json!({"type": "message", "seq": "one", "message": {}}),
            json!({"type": "message", "seq": 1}),
            json!({"type": "delete", "seq": -1, "id": "m"}),
            json!({"type": "delete", "seq": 1.5, "id": "m"}),
            json!({"type": "delete", "seq": null, "id": "m"}),
            json!({"type": "edit", "seq": 1, "id": "m", "body": 7}),
            json!({"type": "snapshot", "channel": "d", "epoch": "e", "seq": 1, "reason": "initial"}),
            json!({"type": "snapshot", "channel": "d", "epoch": "e", "seq": 1, "reason": "initial",
                "messages": [{"id": "x"}]}),
            json!({"type": "message", "seq": 1, "message": {"id": "x", "sender": "s",
                "sender_id": "s", "body": "b", "ts": 0, "source": "api", "edited": "yes"}}),
        ];
        for input in bad {
            assert_eq!(super::frame(&input), None, "{input}");
            assert!(
                serde_json::from_value::<ServerFrame>(input.clone()).is_err(),
                "{input}"
            );
        }
    }
}
