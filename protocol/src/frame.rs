//! The frames the relay sends on `GET /feed/{channel}`.

use serde::{Deserialize, Serialize};

/// One chat line as viewers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Relay-assigned identity, unique within the channel and stable for the
    /// message's life; edits and deletes name it. Opaque to clients.
    pub id: String,
    /// Display name of whoever said it.
    pub sender: String,
    /// Stable identity of the sender: the key for the sender's colour
    /// ([`crate::sender_color_slot`]) and for [`ServerFrame::Clear`]. For API
    /// and webhook posts it is the sender name; for Matrix, the user id.
    pub sender_id: String,
    /// The text, plain: never parsed as HTML or markdown.
    pub body: String,
    /// When it was first posted, in milliseconds since the Unix epoch.
    pub ts: i64,
    /// Whether the body was edited after posting.
    #[serde(default, skip_serializing_if = "is_false")]
    pub edited: bool,
    /// Which door it came in by.
    pub source: Source,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where a message entered Chyron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `POST /api/v1/channels/{channel}/messages` with the API token.
    Api,
    /// A webhook URL.
    Webhook,
    /// A bridged Matrix room: `sender` is the member's display name and
    /// `sender_id` the Matrix user id (`@alice:example.org`).
    Matrix,
    /// A source this version does not know yet (forward compatible).
    #[serde(other)]
    Other,
}

/// The state of a channel at one point: what a viewer should show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The channel's name.
    pub channel: String,
    /// The channel's history identity. Sequence numbers compare only within one
    /// epoch; a new epoch (history wiped) means the client must start over.
    pub epoch: String,
    /// Sequence number of the newest event the snapshot includes (0 for a
    /// channel with no events yet). The next event has `seq + 1`.
    pub seq: u64,
    /// Why this snapshot was sent.
    pub reason: SnapshotReason,
    /// The newest visible messages, oldest first, with edits applied and
    /// deleted or cleared messages left out.
    pub messages: Vec<Message>,
}

/// Why the relay sent a [`Snapshot`]. Whatever the reason, the client replaces
/// all it shows with the snapshot's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotReason {
    /// A fresh connection that asked for no resume.
    Initial,
    /// The client asked to resume from a seq the relay no longer holds, or from
    /// another epoch, or from the future.
    ResumeUnavailable,
    /// The client fell too far behind the live feed and was resynced rather
    /// than buffered without bound.
    Lagged,
    /// A reason this version does not know yet (forward compatible).
    #[serde(other)]
    Other,
}

/// A frame from relay to client: `{"type": "...", ...}`.
///
/// Clients must ignore frames whose `type` they do not know
/// ([`ServerFrame::Unknown`]), so the relay can add frame types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Replace everything shown with this state.
    Snapshot(Snapshot),
    /// A new message was posted.
    Message {
        /// This event's sequence number.
        seq: u64,
        /// The message.
        message: Message,
    },
    /// A message's body changed. Clients that do not show `id` ignore it.
    Edit {
        /// This event's sequence number.
        seq: u64,
        /// The edited message.
        id: String,
        /// The new body, plain text.
        body: String,
    },
    /// A message was deleted: remove it at once.
    Delete {
        /// This event's sequence number.
        seq: u64,
        /// The deleted message.
        id: String,
    },
    /// Everything one sender said was removed (a moderator's "clear"): remove
    /// every message whose `sender_id` matches, at once.
    Clear {
        /// This event's sequence number.
        seq: u64,
        /// The sender whose messages go.
        sender_id: String,
    },
    /// The relay refused something the client sent; the connection stays open.
    Error {
        /// Machine-readable reason, e.g. `read_only`.
        code: String,
        /// A sentence for people.
        message: String,
    },
    /// A frame type this version does not know. Never sent; only read.
    #[serde(other)]
    Unknown,
}

impl ServerFrame {
    /// The sequence number of an event frame; `None` for other frames.
    pub fn event_seq(&self) -> Option<u64> {
        match self {
            ServerFrame::Message { seq, .. }
            | ServerFrame::Edit { seq, .. }
            | ServerFrame::Delete { seq, .. }
            | ServerFrame::Clear { seq, .. } => Some(*seq),
            ServerFrame::Snapshot(_) | ServerFrame::Error { .. } | ServerFrame::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn matrix_source_matches_literal_json() {
        let literal = r#"{"type":"message","seq":3,"message":{"id":"m3","sender":"Alice",
            "sender_id":"@alice:example.org","body":"hi","ts":1,"source":"matrix"}}"#;
        let frame = ServerFrame::Message {
            seq: 3,
            message: Message {
                id: "m3".into(),
                sender: "Alice".into(),
                sender_id: "@alice:example.org".into(),
                body: "hi".into(),
                ts: 1,
                edited: false,
                source: Source::Matrix,
            },
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
}
