//! Filling the gap of a cut-short (`limited`) sync: the homeserver sent only
//! a room's newest events (after an outage, a burst), and the ones between
//! our sync token and the timeline's start are fetched here.
//!
//! The gap is paginated forward from our token to the timeline's
//! `prev_batch`, [`PAGE_SIZE`] events a page, and each page is applied
//! before the next is fetched (oldest first, one page in memory however
//! long the gap). A page that keeps failing ([`ATTEMPTS`] tries), or a gap
//! that shows no event at all (history the bot may not see), is not skipped
//! without a word: the channel gets a line from the relay saying messages
//! are missing there ([`tell_missing`]).

use crate::hub::{Action, Hub, HubError, NewPost, Origin};
use chyron_protocol::Source;
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::events::AnySyncTimelineEvent;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::UInt;
use matrix_sdk::Room;
use std::time::Duration;

/// Events per page.
pub const PAGE_SIZE: u32 = 100;
/// Tries per page before the gap is given up.
const ATTEMPTS: u32 = 4;
/// Wait before the second try of a page; doubles each try.
const RETRY_FIRST: Duration = Duration::from_secs(1);
/// Pages at most (a million events): a homeserver that never ends the
/// gap is not followed forever.
const MAX_PAGES: usize = 10_000;

/// How filling a gap went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    /// Events fetched and applied.
    pub events: usize,
    /// Whether the whole gap was fetched.
    pub complete: bool,
}

impl Filled {
    /// Whether viewers must be told that messages are missing: the gap was
    /// not fetched to its end, or showed nothing though the homeserver cut
    /// the timeline (the bot may not see that history).
    pub fn lost_some(self) -> bool {
        !self.complete || self.events == 0
    }
}

/// The pages of `room`'s events between `since` (our sync token) and `prev`
/// (the cut timeline's start), oldest first: the caller applies each page
/// before asking for the next ([`Pager::next_page`]), then reads
/// [`Pager::filled`].
pub struct Pager<'a> {
    /// The room whose gap this is.
    room: &'a Room,
    /// Its channel, for log lines.
    channel: &'a str,
    /// Where the gap ends (the cut timeline's `prev_batch`).
    to: &'a str,
    /// Where the next page starts; `None` once the gap is done.
    from: Option<String>,
    /// Pages fetched so far.
    pages: usize,
    /// How it went so far.
    filled: Filled,
}

impl<'a> Pager<'a> {
    pub fn new(room: &'a Room, channel: &'a str, since: &str, prev: &'a str) -> Self {
        Pager {
            room,
            channel,
            to: prev,
            from: Some(since.to_string()),
            pages: 0,
            filled: Filled {
                events: 0,
                complete: false,
            },
        }
    }

    /// The next page's events, oldest first; `None` once the gap is done
    /// or a page kept failing.
    pub async fn next_page(&mut self) -> Option<Vec<Raw<AnySyncTimelineEvent>>> {
        let from = self.from.take()?;
        if self.pages >= MAX_PAGES {
            return None;
        }
        self.pages += 1;
        let page = page(self.room, self.channel, &from, self.to).await?;
        match &page.end {
            Some(end) if !page.chunk.is_empty() && *end != from => self.from = Some(end.clone()),
            _ => self.filled.complete = true,
        }
        self.filled.events += page.chunk.len();
        Some(page.chunk.into_iter().map(|e| e.into_raw()).collect())
    }

    /// How it went (call once `next_page` returned `None`).
    pub fn filled(&self) -> Filled {
        tracing::info!(channel = %self.channel, events = self.filled.events, complete = self.filled.complete, "matrix: filled the gap of a limited sync");
        self.filled
    }
}

/// One forward page from `from` towards `to`, tried [`ATTEMPTS`] times.
async fn page(
    room: &Room,
    channel: &str,
    from: &str,
    to: &str,
) -> Option<matrix_sdk::room::Messages> {
    let mut wait = RETRY_FIRST;
    for attempt in 1..=ATTEMPTS {
        let mut options = MessagesOptions::forward().from(from);
        options.to = Some(to.to_string());
        options.limit = UInt::from(PAGE_SIZE);
        match room.messages(options).await {
            Ok(page) => return Some(page),
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(%channel, "matrix: fetching a page of a sync's gap failed (try {attempt}), retrying in {} s: {e}", wait.as_secs());
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => {
                tracing::warn!(%channel, "matrix: fetching a page of a sync's gap failed {ATTEMPTS} times, giving up: {e}");
            }
        }
    }
    None
}

/// The sender name of the relay's own notices.
pub const NOTICE_SENDER: &str = "Chyron";
/// The sender id of the relay's own notices (not a Matrix user id).
pub const NOTICE_SENDER_ID: &str = "chyron:relay";
/// The notice's text.
pub const MISSING_TEXT: &str =
    "Some messages from the Matrix room could not be fetched and are missing here.";

/// Tells `channel`'s viewers, with a line from the relay, that messages of
/// the gap after sync token `since` are missing. Its origin id is made of
/// the token, so a replayed sync does not say it twice; it is not sent to
/// the room.
pub async fn tell_missing(hub: &Hub, channel: &str, since: &str) -> Result<(), HubError> {
    let post = NewPost {
        sender: NOTICE_SENDER.into(),
        sender_id: NOTICE_SENDER_ID.into(),
        body: MISSING_TEXT.into(),
        source: Source::Other,
        html: None,
        media: None,
        avatar: None,
    };
    let origin = Origin {
        id: format!("chyron-gap {since}"),
        media: None,
        avatar: None,
    };
    match hub
        .append_from(channel, Action::Post(post), Some(origin))
        .await
    {
        Ok(_) | Err(HubError::Duplicate) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

    #[test]
    fn a_gap_cut_short_or_showing_nothing_lost_messages() {
        let filled = |events, complete| Filled { events, complete };
        assert!(!filled(1300, true).lost_some());
        assert!(filled(1300, false).lost_some(), "a page kept failing");
        assert!(filled(0, true).lost_some(), "history the bot may not see");
    }

    #[tokio::test]
    async fn viewers_are_told_once_per_gap_that_messages_are_missing() {
        let dir = tempfile::tempdir().unwrap();
        let hub = crate::hub::tests::test_hub(dir.path(), 16, 16);
        tell_missing(&hub, "live", "s1").await.unwrap();
        tell_missing(&hub, "live", "s1").await.unwrap(); // a replayed sync
        tell_missing(&hub, "live", "s2").await.unwrap();
        let (lines, queued) = hub
            .store()
            .call(|c| {
                Ok((
                    store::recent_messages(c, "live", 10)?,
                    store::outbox_len(c)?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(lines.len(), 2, "one line per gap");
        for m in &lines {
            assert_eq!(
                (m.sender.as_str(), m.body.as_str(), m.source),
                (NOTICE_SENDER, MISSING_TEXT, Source::Other)
            );
        }
        assert_eq!(queued, 0, "the notice is not sent to the room");
    }
}
