//! The decoder against the protocol's own serde: every frame shape the relay
//! writes decodes to the same value, and hostile or malformed JSON gets the
//! same verdict from both.

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
    fn is_null(&self) -> bool {
        Value::is_null(self)
    }
}

/// Both decoders on `input`: they must agree; returns the verdict.
fn agreed(input: &Value) -> Option<ServerFrame> {
    let ours = frame(input);
    let theirs = serde_json::from_value::<ServerFrame>(input.clone()).ok();
    assert_eq!(ours, theirs, "{input}");
    ours
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
        html: None,
        media: None,
        avatar: None,
        event_id: None,
    }
}

fn attachment(kind: MediaKind) -> Media {
    Media {
        kind,
        name: "cat \u{202e}gnp.exe <b>".into(),
        mimetype: None,
        size: None,
        width: None,
        height: None,
        thumbnail: None,
        mark: None,
    }
}

/// Messages with every combination of html and media the relay writes.
fn rich_messages() -> Vec<Message> {
    let mut all = Media {
        mimetype: Some("image/png".into()),
        size: Some(9_007_199_254_740_991),
        width: Some(u32::MAX),
        height: Some(0),
        thumbnail: Some("/media/demo/m4/thumbnail".into()),
        mark: None,
        ..attachment(MediaKind::Image)
    };
    let mut out = vec![];
    for kind in [
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Audio,
        MediaKind::File,
    ] {
        all.kind = kind;
        let mut m = msg(&format!("{kind:?}"), false, Source::Matrix);
        m.media = Some(all.clone());
        out.push(m);
        let mut bare = msg(&format!("bare {kind:?}"), true, Source::Matrix);
        bare.media = Some(attachment(kind));
        bare.html = Some(String::new());
        out.push(bare);
    }
    let mut formatted = msg("h", false, Source::Matrix);
    formatted.html =
        Some("<b>bold</b> <a href=\"https://x.test\">x</a> <img src=x onerror=alert(1)>".into());
    out.push(formatted);
    let mut some = msg("s", false, Source::Api);
    some.media = Some(Media {
        width: Some(640),
        thumbnail: Some("javascript:alert(1)".into()),
        mark: None,
        ..attachment(MediaKind::File)
    });
    out.push(some);
    let mut pictured = msg("p", false, Source::Matrix);
    pictured.avatar = Some("/media/demo/avatars/0123456789abcdef".into());
    out.push(pictured);
    out
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
    frames.push(ServerFrame::Snapshot(Snapshot {
        channel: "demo".into(),
        epoch: "00ff".into(),
        seq: 9_007_199_254_740_991,
        reason: SnapshotReason::Initial,
        messages: rich_messages(),
    }));
    for (seq, message) in rich_messages().into_iter().enumerate() {
        frames.push(ServerFrame::Message {
            seq: seq as u64 + 20,
            message,
        });
    }
    for state in [
        BridgeState::Connecting,
        BridgeState::Live,
        BridgeState::Down,
    ] {
        frames.push(ServerFrame::Bridge { state });
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
            html: None,
        },
        ServerFrame::Edit {
            seq: 11,
            id: "c".into(),
            body: "fixed".into(),
            html: Some("<i>fixed</i>".into()),
        },
        ServerFrame::Delete {
            seq: 12,
            id: "c".into(),
        },
        ServerFrame::Clear {
            seq: 13,
            sender_id: "@zoe:example.org".into(),
        },
        ServerFrame::Profile {
            seq: 14,
            sender_id: "@zoe:example.org".into(),
            sender: "Zoë B. \u{202e}<script>".into(),
            avatar: None,
        },
        ServerFrame::Profile {
            seq: 15,
            sender_id: "@zoe:example.org".into(),
            sender: "Zoë".into(),
            avatar: Some("javascript:alert(1)".into()),
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

/// A message frame whose message has `key: value` on top of a plain one.
fn message_with(key: &str, value: Value) -> Value {
    let mut m = json!({"id": "x", "sender": "s", "sender_id": "s", "body": "b", "ts": 0,
        "source": "matrix"});
    m[key] = value;
    json!({"type": "message", "seq": 1, "message": m})
}

fn media_with(key: &str, value: Value) -> Value {
    let mut media = json!({"kind": "image", "name": "cat.png"});
    media[key] = value;
    message_with("media", media)
}

#[test]
fn agrees_with_the_protocol_on_forward_compatible_values() {
    let inputs = [
        json!({"type": "typing", "who": "bob"}),
        json!({"type": "message", "seq": 1, "extra": [1], "message": {"id": "x",
            "sender": "s", "sender_id": "s", "body": "b", "ts": 0, "source": "irc"}}),
        json!({"type": "snapshot", "channel": "d", "epoch": "e", "seq": 0,
            "reason": "shard_moved", "messages": []}),
        json!({"type": "bridge", "state": "paused"}),
        json!({"type": "bridge", "state": "", "since": 5}),
        json!({"type": "profile", "seq": 3, "sender_id": "a", "sender": "", "avatar": "/x"}),
        json!({"type": "edit", "seq": 1, "id": "m", "body": "b", "html": null}),
        media_with("kind", json!("hologram")),
        media_with("kind", json!("IMAGE")),
        media_with("blurhash", json!("LEHV6n")),
        message_with("html", json!(null)),
        message_with("media", json!(null)),
        message_with("future", json!({"nested": [null]})),
    ];
    let mut inputs = inputs.to_vec();
    for key in ["mimetype", "size", "width", "height", "thumbnail"] {
        inputs.push(media_with(key, json!(null)));
    }
    for input in inputs {
        assert!(agreed(&input).is_some(), "{input}");
    }
    let Some(ServerFrame::Message { message, .. }) = agreed(&media_with("kind", json!("x"))) else {
        panic!()
    };
    assert_eq!(message.media.unwrap().kind, MediaKind::Other);
    let later = agreed(&json!({"type": "bridge", "state": "paused"}));
    assert_eq!(
        later,
        Some(ServerFrame::Bridge {
            state: BridgeState::Other
        })
    );
}

#[test]
fn refuses_what_the_protocol_refuses() {
    let mut bad = vec![
        json!(null),
        json!([]),
        json!("message"),
        json!({"seq": 1}),
        json!({"type": 7}),
        json!({"type": null}),
        json!({"type": "message", "seq": "one", "message": {}}),
        json!({"type": "message", "seq": 1}),
        json!({"type": "delete", "seq": -1, "id": "m"}),
        json!({"type": "delete", "seq": 1.5, "id": "m"}),
        json!({"type": "delete", "seq": null, "id": "m"}),
        json!({"type": "edit", "seq": 1, "id": "m", "body": 7}),
        json!({"type": "edit", "seq": 1, "id": "m", "body": "b", "html": 7}),
        json!({"type": "edit", "seq": 1, "id": "m", "body": "b", "html": ["<b>"]}),
        json!({"type": "edit", "seq": 1, "id": "m", "body": "b", "html": {}}),
        json!({"type": "snapshot", "channel": "d", "epoch": "e", "seq": 1, "reason": "initial"}),
        json!({"type": "snapshot", "channel": "d", "epoch": "e", "seq": 1, "reason": "initial",
            "messages": [{"id": "x"}]}),
        json!({"type": "snapshot", "channel": "d", "epoch": "e", "seq": 1, "reason": "initial",
            "messages": [{"id": "x", "sender": "s", "sender_id": "s", "body": "b", "ts": 0,
            "source": "api", "media": {"kind": "image"}}]}),
        json!({"type": "profile", "seq": 1, "sender_id": "a"}),
        json!({"type": "profile", "seq": 1, "sender": "A"}),
        json!({"type": "profile", "sender_id": "a", "sender": "A"}),
        json!({"type": "profile", "seq": -1, "sender_id": "a", "sender": "A"}),
        json!({"type": "profile", "seq": 1, "sender_id": "a", "sender": null}),
        json!({"type": "profile", "seq": 1, "sender_id": 1, "sender": "A"}),
        json!({"type": "profile", "seq": 1, "sender_id": "a", "sender": "A", "avatar": 7}),
        json!({"type": "profile", "seq": 1, "sender_id": "a", "sender": "A", "avatar": {}}),
        json!({"type": "profile", "seq": 1, "sender_id": "a", "sender": "A",
            "avatar": ["/media/x"]}),
        json!({"type": "bridge"}),
        json!({"type": "bridge", "state": null}),
        json!({"type": "bridge", "state": 1}),
        json!({"type": "bridge", "state": true}),
        json!({"type": "bridge", "state": ["down"]}),
        message_with("edited", json!("yes")),
        message_with("edited", json!(null)),
        message_with("html", json!(7)),
        message_with("html", json!(false)),
        message_with("html", json!({"b": "x"})),
        message_with("avatar", json!(7)),
        message_with("avatar", json!(true)),
        message_with("avatar", json!({"url": "/media/x"})),
        message_with("media", json!("cat.png")),
        message_with("media", json!(7)),
        message_with("media", json!(true)),
        message_with("media", json!({})),
        message_with("media", json!([])),
        message_with("media", json!({"name": "cat.png"})),
        message_with("media", json!({"kind": "image"})),
        message_with("media", json!({"kind": "image", "name": null})),
        media_with("kind", json!(null)),
        media_with("kind", json!(0)),
        media_with("kind", json!(["image"])),
        media_with("name", json!(7)),
        media_with("size", json!(-1)),
        media_with("size", json!(1.5)),
        media_with("size", json!("5120")),
        media_with("size", json!(true)),
        media_with("width", json!("wide")),
        media_with("width", json!(-640)),
        media_with("width", json!(4_294_967_296u64)),
        media_with("width", json!(0.5)),
        media_with("height", json!(-1)),
        media_with("height", json!(4_294_967_296u64)),
        media_with("height", json!([480])),
        media_with("thumbnail", json!(7)),
        media_with("thumbnail", json!({"url": "/media/x"})),
        media_with("mimetype", json!(false)),
    ];
    bad.push(media_with("size", json!(1e20)));
    for input in bad {
        assert_eq!(agreed(&input), None, "{input}");
    }
}

/// Where serde takes shapes or integers the relay never writes, this
/// decoder refuses them; and `JSON.parse` cannot tell `5.0` from `5`, so
/// neither can it.
/// Pinned, so any other difference still fails the tests above.
#[test]
fn known_differences_from_serde_are_only_these() {
    let serde = |v: &Value| serde_json::from_value::<ServerFrame>(v.clone()).ok();
    let stricter = [
        // A struct written as a JSON array, in field order.
        json!({"type": "message", "seq": 1, "message": ["x", "s", "s", "b", 0, false, "api"]}),
        message_with("media", json!(["image", "cat.png"])),
        // A unit variant written as a one-key map.
        message_with("source", json!({"api": null})),
        media_with("kind", json!({"image": null})),
        json!({"type": "bridge", "state": {"down": null}}),
        // A whole frame as an array, tag first.
        json!(["delete", 1, "m"]),
        // An integer the browser would round (see the test below).
        media_with("size", json!(1_152_921_504_606_846_976u64)),
    ];
    for input in stricter {
        assert!(serde(&input).is_some(), "{input}");
        assert_eq!(frame(&input), None, "{input}");
    }
    for input in [
        json!({"type": "delete", "seq": 2.0, "id": "m"}),
        media_with("size", json!(5120.0)),
        media_with("width", json!(640.0)),
    ] {
        assert_eq!(serde(&input), None, "{input}");
        assert!(frame(&input).is_some(), "{input}");
    }
}

/// Found by `decode_prop_tests`: `JSON.parse` reads 2^53 + 1 as 2^53, and
/// the decoder took that for the frame's seq, another value than serde's. A
/// number past 2^53 - 1 (`Number.MAX_SAFE_INTEGER`) may stand for several
/// integers, so the frame is refused, never read as another.
#[test]
fn integers_the_browser_would_round_are_refused() {
    const SAFE: u64 = (1 << 53) - 1;
    let unsafe_ints = [
        json!({"type": "delete", "seq": SAFE + 2, "id": "m"}),
        json!({"type": "delete", "seq": SAFE + 1, "id": "m"}),
        message_with("ts", json!(SAFE + 2)),
        message_with("ts", json!(-(SAFE as i64) - 2)),
        media_with("size", json!((1u64 << 60) + 1)),
        media_with("size", json!(SAFE + 1)),
        media_with("size", json!(u64::MAX)),
    ];
    for input in unsafe_ints {
        assert!(serde_json::from_value::<ServerFrame>(input.clone()).is_ok());
        assert_eq!(frame(&input), None, "{input}");
    }
    for input in [
        json!({"type": "delete", "seq": SAFE, "id": "m"}),
        message_with("ts", json!(-(SAFE as i64))),
        media_with("size", json!(SAFE)),
    ] {
        assert!(agreed(&input).is_some(), "{input}");
    }
}
