//! Reading a feed frame from parsed JSON into the protocol's [`ServerFrame`].
//!
//! Why not serde: the protocol's derived `Deserialize` (an internally tagged
//! enum) plus serde's error machinery cost about 20 KB of brotli-compressed
//! wasm, a third of the widget's whole budget. The browser already parses
//! JSON (`JSON.parse`); this module only walks the result into the protocol's
//! own types, with the same rules as the derive: unknown `type` →
//! [`ServerFrame::Unknown`], unknown source, reason, media kind or bridge
//! state → `Other`, extra fields ignored, optional fields absent or `null` →
//! `None`, missing or mistyped fields (optional ones too) → `None` (the frame
//! is dropped). One rule serde does not need: an integer past 2^53 - 1
//! (`Number.MAX_SAFE_INTEGER`) drops the frame, since `JSON.parse` has
//! already rounded it (2^53 + 1 reads as 2^53); the relay never writes one.
//!
//! The wire names are not a second source of truth: the tests encode every
//! frame shape with the protocol's own `Serialize` and require this decoder
//! to give back the same value, and feed hostile and malformed JSON to both
//! decoders and require the same verdict, so a protocol change that this file
//! does not follow fails the build's tests; `decode_prop_tests.rs` does the
//! same for generated, mutated and arbitrary JSON. Where serde is laxer than
//! the relay ever writes (a struct or a whole frame as a JSON array, an enum
//! as `{"variant": null}`), this decoder refuses; `decode_tests.rs` pins
//! those cases.

use chyron_protocol::{
    BridgeState, Mark, Media, MediaKind, Message, ServerFrame, Snapshot, SnapshotReason, Source,
};

/// A parsed JSON value, read-only: `JsValue` in the browser, and
/// `serde_json::Value` in native tests.
pub trait Json: Sized {
    /// The member `name` of an object; `None` if absent (or not an object).
    fn field(&self, name: &str) -> Option<Self>;
    fn string(&self) -> Option<String>;
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    fn items(&self) -> Option<Vec<Self>>;
    fn is_null(&self) -> bool;
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
            html: optional(value, "html", J::string)?,
        },
        "delete" => ServerFrame::Delete {
            seq: seq()?,
            id: text("id")?,
        },
        "clear" => ServerFrame::Clear {
            seq: seq()?,
            sender_id: text("sender_id")?,
        },
        "mark" => ServerFrame::Mark {
            seq: seq()?,
            id: text("id")?,
            mark: mark(&value.field("mark")?)?,
        },
        "profile" => ServerFrame::Profile {
            seq: seq()?,
            sender_id: text("sender_id")?,
            sender: text("sender")?,
            avatar: optional(value, "avatar", J::string)?,
        },
        "bridge" => ServerFrame::Bridge {
            state: match text("state")?.as_str() {
                "connecting" => BridgeState::Connecting,
                "live" => BridgeState::Live,
                "down" => BridgeState::Down,
                _ => BridgeState::Other,
            },
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
        html: optional(value, "html", J::string)?,
        media: optional(value, "media", media)?,
        avatar: optional(value, "avatar", J::string)?,
        event_id: optional(value, "event_id", J::string)?,
    })
}

fn media<J: Json>(value: &J) -> Option<Media> {
    let pixels = |v: &J| whole(v, u32::MAX.into()).map(|n| n as u32);
    Some(Media {
        kind: match string(value, "kind")?.as_str() {
            "image" => MediaKind::Image,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            "file" => MediaKind::File,
            _ => MediaKind::Other,
        },
        name: string(value, "name")?,
        mimetype: optional(value, "mimetype", J::string)?,
        size: optional(value, "size", |v| whole(v, u64::MAX))?,
        width: optional(value, "width", pixels)?,
        height: optional(value, "height", pixels)?,
        thumbnail: optional(value, "thumbnail", J::string)?,
        mark: optional(value, "mark", mark)?,
    })
}

fn mark<J: Json>(value: &J) -> Option<Mark> {
    Some(match value.string()?.as_str() {
        "safe" => Mark::Safe,
        "nsfw" => Mark::Nsfw,
        "unreviewed" => Mark::Unreviewed,
        _ => Mark::Other,
    })
}

fn string<J: Json>(value: &J, name: &str) -> Option<String> {
    value.field(name)?.string()
}

/// An `Option` field as serde reads it: absent or `null` → `Some(None)`;
/// present but unreadable → `None`, which drops the frame (as serde does).
fn optional<J: Json, T>(
    value: &J,
    name: &str,
    read: impl Fn(&J) -> Option<T>,
) -> Option<Option<T>> {
    match value.field(name) {
        Some(v) if !v.is_null() => read(&v).map(Some),
        _ => Some(None),
    }
}

/// The largest integer that a browser's number (an f64) stands for alone:
/// from 2^53 on, one f64 is the reading of several integers.
const SAFE: f64 = 9_007_199_254_740_991.0; // 2^53 - 1

/// A whole number in `0..=max` (and at most [`SAFE`]).
fn whole<J: Json>(value: &J, max: u64) -> Option<u64> {
    let n = value.number()?;
    (n.fract() == 0.0 && n >= 0.0 && n <= SAFE.min(max as f64)).then_some(n as u64)
}

/// A whole number within ±[`SAFE`], which a JSON number read by the
/// browser holds exactly.
fn integer<J: Json>(value: &J, name: &str) -> Option<i64> {
    let n = value.field(name)?.number()?;
    (n.fract() == 0.0 && n.abs() <= SAFE).then_some(n as i64)
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
    fn is_null(&self) -> bool {
        wasm_bindgen::JsValue::is_null(self)
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "decode_prop_tests.rs"]
mod prop_tests;
