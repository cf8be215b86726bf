//! `GET /chat/v1/channels/{channel}/links?limit=50&before=SEQ`: the links and
//! attachments posted in a channel, newest first, read from the visible
//! messages in SQLite, so a delete, a clear (a ban) and a mark apply to the
//! list as they apply to the feed.
//!
//! Links are the `http`/`https` URLs in a message's body (at most
//! [`MAX_LINKS_PER_MESSAGE`], each at most [`MAX_URL_BYTES`]); an attachment is
//! its stored media. Only candidate rows are read: the partial index
//! `messages_with_links` holds the visible messages with an attachment or a
//! `://` in their body, and one page reads at most [`MAX_SCAN`] of them.

use crate::error::ApiError;
use crate::store::StoreError;
use crate::AppState;
use chyron_protocol::{is_disguising, Mark, Media, MediaKind};
use linkify::{LinkFinder, LinkKind};
use rusqlite::{params, Connection};
use serde::Serialize;

/// Links listed per message at most: a message full of URLs is spam, and
/// one message cannot crowd a page.
pub const MAX_LINKS_PER_MESSAGE: usize = 3;

/// Longest URL listed, in bytes; longer ones are left out.
pub const MAX_URL_BYTES: usize = 2000;

/// Largest page (`limit`).
pub const MAX_LIMIT: usize = 200;

/// Page size without `limit`.
pub const DEFAULT_LIMIT: usize = 50;

/// Candidate messages one page reads at most: a run of messages whose `://`
/// is no http link (rare) ends the page early, with `next_before` set.
pub const MAX_SCAN: usize = 1000;

/// One link or attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The message it is in.
    pub message_id: String,
    /// That message's seq (a page's `before` cursor).
    pub seq: u64,
    /// When it was posted (ms since the Unix epoch).
    pub ts: i64,
    /// Who posted it, as shown.
    pub sender: String,
    /// Who posted it, stably.
    pub sender_id: String,
    /// `link`, or the attachment's kind: `image`, `video`, `audio`, `file`.
    pub kind: &'static str,
    /// A link's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An attachment's file name, as the sender gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An attachment's preview, a path on this relay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    /// An attachment's mark (safe, nsfw, unreviewed); absent: unmarked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<Mark>,
}

/// One page of the list.
#[derive(Debug, Serialize)]
pub struct Page {
    /// Newest first.
    pub links: Vec<Item>,
    /// Where the next (older) page starts (`before=`), if there may be one.
    pub next_before: Option<u64>,
}

/// The page's query.
#[derive(Debug, PartialEq, Eq)]
pub struct Query {
    /// Items wanted, 1..=[`MAX_LIMIT`] (a page ends at a message's end, so it
    /// may hold up to [`MAX_LINKS_PER_MESSAGE`] more).
    pub limit: usize,
    /// Only messages with a seq below this one.
    pub before: Option<u64>,
}

/// Parses `limit` and `before`, naming the one that is wrong.
pub fn parse_query(raw: Option<&str>) -> Result<Query, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?;
    let mut q = Query {
        limit: DEFAULT_LIMIT,
        before: None,
    };
    for (key, value) in pairs {
        match key.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`limit` must be an integer from 1 to {MAX_LIMIT}, not {value:?}"
                    )))
                }
            },
            "before" => match value.parse::<u64>() {
                Ok(n) if (1..=i64::MAX as u64).contains(&n) => q.before = Some(n),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`before` must be a positive integer (a seq), not {value:?}"
                    )))
                }
            },
            _ => {}
        }
    }
    Ok(q)
}

/// The http and https links in `body`, in order, each once, at most
/// [`MAX_LINKS_PER_MESSAGE`]; none longer than [`MAX_URL_BYTES`] or holding a
/// control or disguising character.
pub fn links_in(body: &str) -> Vec<String> {
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]);
    let mut found: Vec<String> = Vec::new();
    for link in finder.links(body) {
        let url = link.as_str();
        let web = url.split_once("://").is_some_and(|(scheme, rest)| {
            !rest.is_empty()
                && (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        });
        let clean = !url.chars().any(|c| c.is_control() || is_disguising(c));
        if web && clean && url.len() <= MAX_URL_BYTES && !found.iter().any(|f| f == url) {
            found.push(url.to_string());
            if found.len() == MAX_LINKS_PER_MESSAGE {
                break;
            }
        }
    }
    found
}

/// An attachment kind's name in the list.
fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::File | MediaKind::Other => "file",
    }
}

/// A candidate message, as read.
struct Row {
    id: String,
    seq: u64,
    ts: i64,
    sender: String,
    sender_id: String,
    body: String,
    media: Option<String>,
}

impl Row {
    /// The message's attachment (first), then its links.
    fn items(self) -> Vec<Item> {
        let item = |kind, url, media: Option<&Media>| Item {
            message_id: self.id.clone(),
            seq: self.seq,
            ts: self.ts,
            sender: self.sender.clone(),
            sender_id: self.sender_id.clone(),
            kind,
            url,
            name: media.map(|m| m.name.clone()),
            thumbnail: media.and_then(|m| m.thumbnail.clone()),
            mark: media.and_then(|m| m.mark),
        };
        // Written by the store from a `Media`; unreadable: a newer version's.
        let media: Option<Media> = self
            .media
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok());
        let mut items: Vec<Item> = media
            .iter()
            .map(|m| item(kind_name(m.kind), None, Some(m)))
            .collect();
        for url in links_in(&self.body) {
            items.push(item("link", Some(url), None));
        }
        items
    }
}

/// Candidate messages, newest first: its `deleted` and `://` terms are the
/// partial index's, word for word, so SQLite can read that index, and
/// `INDEXED BY` makes it (the query fails rather than scan the channel).
const PAGE_SQL: &str = "SELECT id, seq, ts, sender, sender_id, body, media
    FROM messages INDEXED BY messages_with_links
    WHERE channel = ?1 AND seq < ?2
        AND deleted = 0 AND (media IS NOT NULL OR instr(body, '://') > 0)
    ORDER BY seq DESC LIMIT ?3";

/// Reads one page of `channel`'s list.
pub fn page(conn: &mut Connection, channel: &str, q: &Query) -> Result<Page, StoreError> {
    let mut stmt = conn.prepare_cached(PAGE_SQL)?;
    let mut links = Vec::new();
    let mut before = q.before.unwrap_or(i64::MAX as u64);
    let mut scanned = 0;
    loop {
        let batch = q.limit.min(MAX_SCAN - scanned);
        let rows = stmt.query_map(params![channel, before as i64, batch as i64], |r| {
            Ok(Row {
                id: r.get(0)?,
                seq: r.get::<_, i64>(1)? as u64,
                ts: r.get(2)?,
                sender: r.get(3)?,
                sender_id: r.get(4)?,
                body: r.get(5)?,
                media: r.get(6)?,
            })
        })?;
        let rows: Vec<Row> = rows.collect::<Result<_, _>>()?;
        let read = rows.len();
        scanned += read;
        for row in rows {
            before = row.seq;
            links.extend(row.items());
            if links.len() >= q.limit {
                return Ok(Page {
                    links,
                    next_before: Some(before),
                });
            }
        }
        if read < batch {
            return Ok(Page {
                links,
                next_before: None,
            });
        }
        if scanned >= MAX_SCAN {
            return Ok(Page {
                links,
                next_before: Some(before),
            });
        }
    }
}

/// `GET /chat/v1/channels/{channel}/links`.
pub async fn handler(state: &AppState, channel: &str, raw: Option<&str>) -> Result<Page, ApiError> {
    crate::live::public_channel(state, channel)?;
    let q = parse_query(raw)?;
    let channel = channel.to_string();
    state
        .hub
        .store()
        .call(move |c| page(c, &channel, &q))
        .await
        .map_err(|e| ApiError::internal("links", e))
}

#[cfg(test)]
#[path = "links_tests.rs"]
mod tests;
