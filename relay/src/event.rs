//! What can happen to a channel, what it results in, and how it can fail.

use crate::store::StoreError;
use chyron_protocol::{Mark, Media, Message, ServerFrame, Source};
use serde::{Deserialize, Serialize};

/// What happens to a channel. `P` is the post: a [`NewPost`] as the API asks
/// for it ([`Action`]), a full [`Message`] once the hub has given it an id and
/// a time (what the store applies). One enum, so the two can never disagree.
/// Serialized (as an [`Entry`]) into a clustered channel's Redis history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Change<P> {
    /// A new message.
    Post(P),
    /// A new body for a visible message.
    Edit {
        /// The message.
        id: String,
        /// Its new body.
        body: String,
        /// Its new sanitised HTML, if it has formatting.
        html: Option<String>,
    },
    /// Hide a visible message.
    Delete {
        /// The message.
        id: String,
    },
    /// Hide every visible message of one sender.
    Clear {
        /// The sender.
        sender_id: String,
    },
    /// A moderator's verdict on a visible message's attachment.
    Mark {
        /// The message.
        id: String,
        /// The verdict.
        mark: Mark,
    },
    /// Show a sender's new profile on every message of theirs.
    Profile {
        /// The sender.
        sender_id: String,
        /// The name now.
        sender: String,
        /// The picture now, as a relay path (see [`NewPost::avatar`]).
        avatar: Option<String>,
    },
}

/// A change as requested, before the hub numbers it.
pub type Action = Change<NewPost>;

/// A message as posted, before it has an id and a time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewPost {
    /// Display name.
    pub sender: String,
    /// Stable identity: the key of colours and clears.
    pub sender_id: String,
    /// Text.
    pub body: String,
    /// Entry door.
    pub source: Source,
    /// Sanitised HTML beside the body (Matrix formatting), if any.
    pub html: Option<String>,
    /// An attachment, if any.
    pub media: Option<Media>,
    /// The sender's picture as a relay path (`/media/{channel}/avatars/{key}`),
    /// if they have one; its content URI travels in the [`Origin`].
    pub avatar: Option<String>,
}

/// Where an event came from outside the relay (a Matrix event), stored with
/// it so it is applied once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The event's id there (a Matrix event id).
    pub id: String,
    /// The attachment's content URI there (`mxc://…`), which the relay's
    /// thumbnail route fetches; never sent to viewers.
    pub media: Option<String>,
    /// The sender's avatar content URI there (`mxc://…`), recorded so the
    /// relay's avatar route may fetch it; never sent to viewers.
    pub avatar: Option<String>,
}

/// An event before its seq is known: everything its frame holds but the
/// seq and what derives from it (the message id, the thumbnail route). In
/// clustered mode this is what Redis stores and publishes; every node numbers
/// it the same way ([`Entry::numbered`]), so every node sends the same frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// When the relay accepted it (the message's `ts`), fixed before ordering
    /// so every node shows the same time.
    pub ts: i64,
    /// The change as asked for.
    pub action: Action,
    /// Whether the attachment gets the relay's thumbnail route (its source
    /// is known: a bridged attachment).
    pub thumbnail: bool,
    /// A Matrix message's own event id (the full chat matches its posts and
    /// edits by it).
    pub event_id: Option<String>,
}

impl Entry {
    /// The entry for `action`, arriving from `origin` (a Matrix event) if any.
    pub fn new(action: Action, origin: Option<&Origin>) -> Entry {
        let matrix = matches!(&action, Change::Post(p) if p.source == Source::Matrix);
        Entry {
            ts: now_ms(),
            thumbnail: origin.is_some_and(|o| o.media.is_some()),
            event_id: origin.filter(|_| matrix).map(|o| o.id.clone()),
            action,
        }
    }

    /// The change as event `seq` of `channel`: a post gets id `m{seq}`.
    pub fn numbered(self, channel: &str, seq: u64) -> Change<Message> {
        let (ts, thumbnail, event_id) = (self.ts, self.thumbnail, self.event_id);
        self.action.map_post(|p| Message {
            id: format!("m{seq}"),
            sender: p.sender,
            sender_id: p.sender_id,
            body: p.body,
            ts,
            edited: false,
            source: p.source,
            html: p.html,
            // An attachment whose source the relay knows gets its thumbnail
            // route (served only while this message is visible).
            media: p.media.map(|mut m| {
                if thumbnail {
                    m.thumbnail = Some(format!("/media/{channel}/m{seq}/thumbnail"));
                }
                m
            }),
            avatar: p.avatar,
            event_id,
        })
    }
}

impl<P> Change<P> {
    /// The same change with its post turned into a `Q`.
    pub fn map_post<Q>(self, f: impl FnOnce(P) -> Q) -> Change<Q> {
        match self {
            Change::Post(p) => Change::Post(f(p)),
            Change::Edit { id, body, html } => Change::Edit { id, body, html },
            Change::Delete { id } => Change::Delete { id },
            Change::Clear { sender_id } => Change::Clear { sender_id },
            Change::Mark { id, mark } => Change::Mark { id, mark },
            Change::Profile {
                sender_id,
                sender,
                avatar,
            } => Change::Profile {
                sender_id,
                sender,
                avatar,
            },
        }
    }
}

impl Change<Message> {
    /// The feed frame announcing this change as event `seq`.
    pub fn frame(&self, seq: u64) -> ServerFrame {
        match self.clone() {
            Change::Post(message) => ServerFrame::Message { seq, message },
            Change::Edit { id, body, html } => ServerFrame::Edit {
                seq,
                id,
                body,
                html,
            },
            Change::Delete { id } => ServerFrame::Delete { seq, id },
            Change::Clear { sender_id } => ServerFrame::Clear { seq, sender_id },
            Change::Mark { id, mark } => ServerFrame::Mark { seq, id, mark },
            Change::Profile {
                sender_id,
                sender,
                avatar,
            } => ServerFrame::Profile {
                seq,
                sender_id,
                sender,
                avatar,
            },
        }
    }

    /// The event kind, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Post(_) => "message",
            Change::Edit { .. } => "edit",
            Change::Delete { .. } => "delete",
            Change::Clear { .. } => "clear",
            Change::Mark { .. } => "mark",
            Change::Profile { .. } => "profile",
        }
    }
}

/// The result of an appended event.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The event's seq.
    pub seq: u64,
    /// The posted message, for posts.
    pub message: Option<Message>,
    /// Messages removed, for clears.
    pub removed: usize,
}

/// Why moderation refused a post ([`HubError::Refused`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Banned from the channel (until lifted), rather than timed out.
    pub banned: bool,
    /// When a timeout ends (ms since the epoch).
    pub until: Option<i64>,
    /// The moderator's reason, if they gave one.
    pub reason: Option<String>,
}

/// What moderation decides about new posts, asked by the hub before it
/// numbers one, so every door (API, webhooks, Matrix) is checked in one
/// place. Kept in memory by its implementor: called on every post.
pub trait Policy: Send + Sync {
    /// Whether `sender_id` may not post in `channel` now, and why.
    fn refuses(&self, channel: &str, sender_id: &str) -> Option<Refusal>;
    /// The mark an unmarked attachment gets in `channel` (the organiser's
    /// `unmarked_images = "blur"` gives [`Mark::Unreviewed`]).
    fn unmarked(&self, channel: &str) -> Option<Mark>;
    /// A refused post that the homeserver let through (Matrix event
    /// `event_id` in `channel`'s room): it is not shown, and should be
    /// removed there too. Must not block.
    fn got_through(&self, channel: &str, event_id: &str);
}

/// A hub failure.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Edit or delete of an unknown or deleted message.
    #[error("no such message")]
    NotFound,
    /// The name breaks the channel rules.
    #[error("{0}")]
    InvalidChannel(chyron_protocol::InvalidInput),
    /// Moderation refuses the sender's posts (timed out or banned).
    #[error("refused by moderation")]
    Refused(Refusal),
    /// The event's origin id was applied before (a re-delivered event).
    #[error("event already applied")]
    Duplicate,
    /// Storage failed.
    #[error("{0}")]
    Store(StoreError),
    /// The shared log (Redis, in clustered mode) cannot be reached: nothing
    /// was ordered; the caller may retry (the API answers `503`).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Serialization or task failure (a bug).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for HubError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => HubError::NotFound,
            StoreError::Duplicate => HubError::Duplicate,
            other => HubError::Store(other),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], HubError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| HubError::Internal(format!("random source: {e}")))?;
    Ok(buf)
}
