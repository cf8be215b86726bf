//! What can happen to a channel, what it results in, and how it can fail.

use crate::store::StoreError;
use chyron_protocol::{Message, Source};

/// What happens to a channel.
#[derive(Debug, Clone)]
pub enum Action {
    /// Post a new message.
    Post {
        /// Display name.
        sender: String,
        /// Stable identity.
        sender_id: String,
        /// Text.
        body: String,
        /// Entry door.
        source: Source,
    },
    /// Change a visible message's body.
    Edit {
        /// Message id.
        id: String,
        /// New body.
        body: String,
    },
    /// Delete a visible message.
    Delete {
        /// Message id.
        id: String,
    },
    /// Remove every message of a sender.
    Clear {
        /// The sender.
        sender_id: String,
    },
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

/// A hub failure.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Edit or delete of an unknown or deleted message.
    #[error("no such message")]
    NotFound,
    /// The name breaks the channel rules.
    #[error("{0}")]
    InvalidChannel(chyron_protocol::InvalidInput),
    /// Storage failed.
    #[error("{0}")]
    Store(StoreError),
    /// Serialization or task failure (a bug).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for HubError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => HubError::NotFound,
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
