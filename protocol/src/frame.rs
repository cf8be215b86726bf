//! The frames the relay sends on `GET /feed/{channel}`.

use crate::media::Media;
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
    /// The body as sanitised HTML, when the source had formatting (a Matrix
    /// `formatted_body`): only the Matrix spec's allow-list of tags and
    /// attributes survives, links are `http`/`https`/`mailto` only, and no
    /// image loads from elsewhere. `body` stays the plain equivalent; clients
    /// that do not render HTML (captions) use `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// An attachment (a Matrix image or file); `body` then describes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    /// The sender's picture (a Matrix member's avatar) as a path on the
    /// relay, `/media/{channel}/avatars/{key}`, serving a small square image;
    /// absent when the sender has none. The key changes with the picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// The Matrix event id of a message from a bridged room (`source`
    /// [`Source::Matrix`]): what a Matrix client edits or redacts, and what
    /// the sender's client got back when it sent it, so the full chat can
    /// match its pending line to this one. Absent for other sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

impl Message {
    /// The Matrix event id ([`Message::event_id`]) of a message from Matrix.
    pub fn matrix_event_id(&self) -> Option<&str> {
        self.event_id
            .as_deref()
            .filter(|_| self.source == Source::Matrix)
    }
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

/// The state of a bridged channel's link to Matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BridgeState {
    /// The relay is logging in or catching up; Matrix messages may be late.
    Connecting,
    /// Synced: Matrix messages arrive as they are sent.
    Live,
    /// The homeserver cannot be reached; the relay keeps retrying, and posts
    /// made through the relay meanwhile are kept and sent in order later.
    Down,
    /// A state this version does not know yet (forward compatible).
    #[serde(other)]
    Other,
}

/// A frame from relay to client: `{"type": "...", ...}`.
///
/// Clients must ignore frames whose `type` they do not know
/// ([`ServerFrame::Unknown`]), so the relay can add frame types.
// A message frame is the common one and is built, serialized and dropped
// one at a time; boxing it would cost an allocation on every event.
#[allow(clippy::large_enum_variant)]
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
        /// The new body as sanitised HTML, if it has formatting (see
        /// [`Message::html`]); absent means the message has no HTML any more.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        html: Option<String>,
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
    /// A moderator marked an attachment ([`crate::Media::mark`]): show
    /// message `id`'s attachment with this mark from now on.
    Mark {
        /// This event's sequence number.
        seq: u64,
        /// The message whose attachment was marked.
        id: String,
        /// The mark now.
        mark: crate::media::Mark,
    },
    /// A sender's profile changed (a Matrix member's display name or
    /// avatar): show `sender` and `avatar` on every message whose
    /// `sender_id` matches. The frame carries the whole profile, so a missing
    /// `avatar` means the sender now has none.
    Profile {
        /// This event's sequence number.
        seq: u64,
        /// Whose profile changed.
        sender_id: String,
        /// The display name now.
        sender: String,
        /// The picture now, as in [`Message::avatar`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        avatar: Option<String>,
    },
    /// The state of the channel's link to its Matrix room, for bridged
    /// channels only. Not an event (no seq): sent after the first frames of
    /// every connection, and again whenever it changes. While it is not
    /// [`BridgeState::Live`] the feed stays up with what the relay has, and
    /// Matrix messages sent meanwhile arrive once the link is back.
    Bridge {
        /// The link's state.
        state: BridgeState,
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
            | ServerFrame::Clear { seq, .. }
            | ServerFrame::Mark { seq, .. }
            | ServerFrame::Profile { seq, .. } => Some(*seq),
            ServerFrame::Snapshot(_)
            | ServerFrame::Bridge { .. }
            | ServerFrame::Error { .. }
            | ServerFrame::Unknown => None,
        }
    }
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
