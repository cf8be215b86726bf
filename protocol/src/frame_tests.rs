//! Serde of the feed frames against literal JSON.

use super::*;
use serde_json::{from_str, json, to_value};

fn alice() -> Message {
    Message {
        id: "m7".into(),
        sender: "Alice".into(),
        sender_id: "alice".into(),
        body: "hi <b>there</b>".into(),
        ts: 1_700_000_000_000,
        edited: false,
        source: Source::Api,
        html: None,
        media: None,
        avatar: None,
        event_id: None,
    }
}

#[test]
fn message_frame_matches_literal_json() {
    let literal = r#"{"type":"message","seq":7,"message":{"id":"m7","sender":"Alice",
        "sender_id":"alice","body":"hi <b>there</b>","ts":1700000000000,"source":"api"}}"#;
    let frame = ServerFrame::Message {
        seq: 7,
        message: alice(),
    };
    assert_eq!(from_str::<ServerFrame>(literal).unwrap(), frame);
    // `edited: false` is left out on the wire.
    assert_eq!(
        to_value(&frame).unwrap(),
        from_str::<serde_json::Value>(literal).unwrap()
    );
    assert_eq!(frame.event_seq(), Some(7));
}

#[test]
fn edited_flag_round_trips() {
    let mut m = alice();
    m.edited = true;
    assert_eq!(to_value(&m).unwrap()["edited"], json!(true));
}

#[test]
fn snapshot_matches_literal_json() {
    let literal = json!({"type": "snapshot", "channel": "demo", "epoch": "00ff", "seq": 9,
        "reason": "resume_unavailable", "messages": []});
    let frame = ServerFrame::Snapshot(Snapshot {
        channel: "demo".into(),
        epoch: "00ff".into(),
        seq: 9,
        reason: SnapshotReason::ResumeUnavailable,
        messages: vec![],
    });
    assert_eq!(to_value(&frame).unwrap(), literal);
    assert_eq!(
        serde_json::from_value::<ServerFrame>(literal).unwrap(),
        frame
    );
    assert_eq!(frame.event_seq(), None);
}

#[test]
fn edit_delete_clear_error_match_literal_json() {
    let cases = [
        (
            json!({"type": "edit", "seq": 3, "id": "m1", "body": "fixed"}),
            ServerFrame::Edit {
                seq: 3,
                id: "m1".into(),
                body: "fixed".into(),
                html: None,
            },
        ),
        (
            json!({"type": "delete", "seq": 4, "id": "m1"}),
            ServerFrame::Delete {
                seq: 4,
                id: "m1".into(),
            },
        ),
        (
            json!({"type": "clear", "seq": 5, "sender_id": "@spam:example.org"}),
            ServerFrame::Clear {
                seq: 5,
                sender_id: "@spam:example.org".into(),
            },
        ),
        (
            json!({"type": "error", "code": "read_only", "message": "no"}),
            ServerFrame::Error {
                code: "read_only".into(),
                message: "no".into(),
            },
        ),
    ];
    for (literal, frame) in cases {
        assert_eq!(to_value(&frame).unwrap(), literal);
        assert_eq!(
            serde_json::from_value::<ServerFrame>(literal).unwrap(),
            frame
        );
    }
}

/// A bridged line from `@alice:example.org`.
fn from_matrix(id: &str) -> Message {
    Message {
        id: id.into(),
        sender: "Alice".into(),
        sender_id: "@alice:example.org".into(),
        body: "hi".into(),
        ts: 1,
        edited: false,
        source: Source::Matrix,
        html: None,
        media: None,
        avatar: None,
        event_id: None,
    }
}

#[test]
fn matrix_source_matches_literal_json() {
    let literal = r#"{"type":"message","seq":3,"message":{"id":"m3","sender":"Alice",
        "sender_id":"@alice:example.org","body":"hi","ts":1,"source":"matrix"}}"#;
    let frame = ServerFrame::Message {
        seq: 3,
        message: from_matrix("m3"),
    };
    assert_eq!(from_str::<ServerFrame>(literal).unwrap(), frame);
    let value = to_value(&frame).unwrap();
    assert_eq!(value["message"]["source"], "matrix");
}

#[test]
fn unknown_types_and_values_are_tolerated() {
    let f: ServerFrame = from_str(r#"{"type":"typing","who":"bob"}"#).unwrap();
    assert_eq!(f, ServerFrame::Unknown);
    let m: Message = from_str(
        r#"{"id":"x","sender":"s","sender_id":"s","body":"b","ts":0,"source":"irc",
            "extra":"ignored"}"#,
    )
    .unwrap();
    assert_eq!(m.source, Source::Other);
    let r: SnapshotReason = from_str(r#""shard_moved""#).unwrap();
    assert_eq!(r, SnapshotReason::Other);
}

#[test]
fn malformed_frames_are_errors_not_panics() {
    for bad in [
        "",
        "null",
        "[]",
        r#"{"seq":1}"#,
        r#"{"type":"message","seq":"one","message":{}}"#,
        r#"{"type":"message","seq":1}"#,
        r#"{"type":"delete","seq":-1,"id":"m"}"#,
        r#"{"type":"edit","seq":1,"id":"m","body":7}"#,
        r#"{"type":"snapshot","channel":"d","epoch":"e","seq":1,"reason":"initial"}"#,
    ] {
        assert!(from_str::<ServerFrame>(bad).is_err(), "{bad} accepted");
    }
}

#[test]
fn html_and_media_ride_beside_the_body() {
    let literal = json!({"type": "message", "seq": 4, "message": {"id": "m4",
        "sender": "Alice", "sender_id": "@alice:example.org", "body": "cat.png", "ts": 1,
        "source": "matrix", "html": "<b>cat</b>",
        "media": {"kind": "image", "name": "cat.png", "thumbnail": "/media/demo/m4/thumbnail"}}});
    let frame: ServerFrame = serde_json::from_value(literal.clone()).unwrap();
    let ServerFrame::Message { message, .. } = &frame else {
        panic!("{frame:?}");
    };
    assert_eq!(message.html.as_deref(), Some("<b>cat</b>"));
    let media = message.media.as_ref().unwrap();
    assert_eq!(media.kind, crate::MediaKind::Image);
    assert_eq!(to_value(&frame).unwrap(), literal);
    let edit = json!({"type": "edit", "seq": 5, "id": "m4", "body": "dog", "html": "<i>dog</i>"});
    assert_eq!(
        serde_json::from_value::<ServerFrame>(edit.clone()).unwrap(),
        ServerFrame::Edit {
            seq: 5,
            id: "m4".into(),
            body: "dog".into(),
            html: Some("<i>dog</i>".into()),
        }
    );
}

#[test]
fn bridge_state_matches_literal_json() {
    for (word, state) in [
        ("connecting", BridgeState::Connecting),
        ("live", BridgeState::Live),
        ("down", BridgeState::Down),
    ] {
        let literal = json!({"type": "bridge", "state": word});
        let frame = ServerFrame::Bridge { state };
        assert_eq!(to_value(&frame).unwrap(), literal);
        assert_eq!(
            serde_json::from_value::<ServerFrame>(literal).unwrap(),
            frame
        );
        assert_eq!(frame.event_seq(), None);
    }
    let later: ServerFrame = from_str(r#"{"type":"bridge","state":"paused"}"#).unwrap();
    assert_eq!(
        later,
        ServerFrame::Bridge {
            state: BridgeState::Other
        }
    );
    assert!(from_str::<ServerFrame>(r#"{"type":"bridge"}"#).is_err());
    assert!(from_str::<ServerFrame>(r#"{"type":"bridge","state":1}"#).is_err());
}

#[test]
fn profile_matches_literal_json() {
    let literal = json!({"type": "profile", "seq": 8, "sender_id": "@alice:example.org",
        "sender": "Alice B."});
    let frame = ServerFrame::Profile {
        seq: 8,
        sender_id: "@alice:example.org".into(),
        sender: "Alice B.".into(),
        avatar: None,
    };
    assert_eq!(to_value(&frame).unwrap(), literal);
    assert_eq!(
        serde_json::from_value::<ServerFrame>(literal).unwrap(),
        frame
    );
    assert_eq!(frame.event_seq(), Some(8));

    let literal = json!({"type": "profile", "seq": 9, "sender_id": "@alice:example.org",
        "sender": "Alice", "avatar": "/media/talks/avatars/0123456789abcdef"});
    let frame = ServerFrame::Profile {
        seq: 9,
        sender_id: "@alice:example.org".into(),
        sender: "Alice".into(),
        avatar: Some("/media/talks/avatars/0123456789abcdef".into()),
    };
    assert_eq!(to_value(&frame).unwrap(), literal);
    assert_eq!(
        serde_json::from_value::<ServerFrame>(literal).unwrap(),
        frame
    );
    let wrong = r#"{"type":"profile","seq":9,"sender_id":"a","sender":"A","avatar":7}"#;
    assert!(from_str::<ServerFrame>(wrong).is_err());
}

#[test]
fn message_avatar_matches_literal_json() {
    let literal = r#"{"type":"message","seq":4,"message":{"id":"m4","sender":"Alice",
        "sender_id":"@alice:example.org","body":"hi","ts":1,"source":"matrix",
        "avatar":"/media/talks/avatars/00ff00ff00ff00ff"}}"#;
    let frame = ServerFrame::Message {
        seq: 4,
        message: Message {
            avatar: Some("/media/talks/avatars/00ff00ff00ff00ff".into()),
            ..from_matrix("m4")
        },
    };
    assert_eq!(from_str::<ServerFrame>(literal).unwrap(), frame);
    assert_eq!(
        to_value(&frame).unwrap(),
        from_str::<serde_json::Value>(literal).unwrap()
    );
}

#[test]
fn only_a_matrix_message_names_a_matrix_event() {
    let api = alice();
    assert_eq!(api.matrix_event_id(), None);
    let literal = r#"{"id":"m9","sender":"Bob","sender_id":"@bob:hs","body":"yo",
        "ts":1,"source":"matrix","event_id":"$ev:hs"}"#;
    let from_matrix: Message = from_str(literal).unwrap();
    assert_eq!(from_matrix.matrix_event_id(), Some("$ev:hs"));
    assert_eq!(
        to_value(&from_matrix).unwrap(),
        from_str::<serde_json::Value>(literal).unwrap()
    );
}

#[test]
fn mark_matches_literal_json() {
    let literal = json!({"type": "mark", "seq": 12, "id": "m7", "mark": "nsfw"});
    let frame = ServerFrame::Mark {
        seq: 12,
        id: "m7".into(),
        mark: crate::Mark::Nsfw,
    };
    assert_eq!(to_value(&frame).unwrap(), literal);
    assert_eq!(
        serde_json::from_value::<ServerFrame>(literal).unwrap(),
        frame
    );
    assert_eq!(frame.event_seq(), Some(12));
    assert!(from_str::<ServerFrame>(r#"{"type":"mark","seq":1,"id":"m1"}"#).is_err());
    assert!(from_str::<ServerFrame>(r#"{"type":"mark","seq":1,"mark":"safe"}"#).is_err());
}
