//! A public channel's information views, plain Rust: the tabs (Chat,
//! "Links & media", People) and their keys, the relay's links list
//! (`GET …/links`, paged by `before`), who is here (`GET …/people`, with
//! the moderators' lists), presence (`POST`/`DELETE …/presence`), and the
//! words the views show. The browser side (`web/info`, `web/info_view`)
//! sends what this builds.

use crate::moderation::{segment, Call};
use chyron_protocol::Mark;
use serde::Deserialize;

/// Which view of a public channel is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    /// The conversation and the composer.
    #[default]
    Chat,
    /// Links and attachments posted.
    Links,
    /// Who is here.
    People,
    /// The moderation log and the moderators (moderators and up).
    Moderation,
}

impl Tab {
    /// In the tab list's order.
    pub const ALL: [Tab; 4] = [Tab::Chat, Tab::Links, Tab::People, Tab::Moderation];

    /// The tabs a viewer gets: Moderation only for moderators and up.
    pub fn shown(moderates: bool) -> Vec<Tab> {
        Tab::ALL
            .into_iter()
            .filter(|t| moderates || *t != Tab::Moderation)
            .collect()
    }

    /// The tab's label.
    pub fn label(self) -> &'static str {
        match self {
            Tab::Chat => "Chat",
            Tab::Links => "Links & media",
            Tab::People => "People",
            Tab::Moderation => "Moderation",
        }
    }

    /// A stable word for ids and parts.
    pub fn slug(self) -> &'static str {
        match self {
            Tab::Chat => "chat",
            Tab::Links => "links",
            Tab::People => "people",
            Tab::Moderation => "moderation",
        }
    }

    /// The tab of `tabs` a key moves to from this one (ARIA tabs: arrows
    /// wrap, Home and End go to the ends); `None` for other keys.
    pub fn after_key(self, key: &str, tabs: &[Tab]) -> Option<Tab> {
        let at = tabs.iter().position(|t| *t == self).unwrap_or(0);
        let n = tabs.len();
        if n == 0 {
            return None;
        }
        let to = match key {
            "ArrowRight" => (at + 1) % n,
            "ArrowLeft" => (at + n - 1) % n,
            "Home" => 0,
            "End" => n - 1,
            _ => return None,
        };
        Some(tabs[to])
    }
}

/// One link or attachment of the links list (the relay's `links.rs` Item).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LinkItem {
    /// The message it is in.
    pub message_id: String,
    /// That message's seq (the next page's cursor).
    pub seq: u64,
    /// When it was posted (ms since the epoch).
    pub ts: i64,
    /// Who posted it, as shown.
    pub sender: String,
    /// Who posted it, stably.
    #[serde(default)]
    pub sender_id: String,
    /// `link`, `image`, `video`, `audio` or `file`.
    pub kind: String,
    /// A link's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// An attachment's file name.
    #[serde(default)]
    pub name: Option<String>,
    /// An attachment's preview, a path on the relay.
    #[serde(default)]
    pub thumbnail: Option<String>,
    /// An attachment's mark; absent: unmarked.
    #[serde(default)]
    pub mark: Option<Mark>,
}

impl LinkItem {
    /// A key unique in the list (one message may hold several links).
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.message_id,
            self.url.as_deref().unwrap_or(""),
            self.kind
        )
    }

    /// Whether its image is blurred until the viewer chooses to see it.
    pub fn hidden(&self) -> bool {
        self.mark.is_some_and(Mark::hides)
    }

    /// A URL that may be a link's `href`: `http(s)://` only.
    pub fn href(&self) -> Option<&str> {
        let url = self.url.as_deref()?;
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        (lower.starts_with("http://") || lower.starts_with("https://")).then_some(url)
    }
}

/// One page of `GET …/links`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct LinksPage {
    /// Newest first.
    #[serde(default)]
    pub links: Vec<LinkItem>,
    /// Where the next, older page starts, if there may be one.
    #[serde(default)]
    pub next_before: Option<u64>,
}

/// The links list as shown: pages joined, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Links {
    /// The items, newest first, each once.
    pub items: Vec<LinkItem>,
    /// The cursor for "Load older"; `None`: the end was reached.
    pub older: Option<u64>,
    /// Whether a first page arrived (else: loading).
    pub loaded: bool,
}

impl Links {
    /// The newest page replaces the list (a refresh: deletes and marks
    /// since apply).
    pub fn newest(&mut self, page: LinksPage) {
        *self = Links {
            items: Vec::new(),
            older: page.next_before,
            loaded: true,
        };
        self.push(page.links);
    }

    /// An older page goes below, without items already listed.
    pub fn older_page(&mut self, page: LinksPage) {
        self.older = page.next_before;
        self.push(page.links);
    }

    fn push(&mut self, items: Vec<LinkItem>) {
        for item in items {
            let key = item.key();
            if !self.items.iter().any(|i| i.key() == key) {
                self.items.push(item);
            }
        }
    }
}

/// Page size of the links list.
pub const LINKS_PAGE: usize = 50;

/// The channel's information base.
fn base(channel: &str) -> String {
    format!("/chat/v1/channels/{}", segment(channel))
}

/// `GET` of a channel's list `what` (`links`, `moderation/log`): the newest
/// `limit` entries, or those before `before`.
pub fn paged_call(
    channel: &str,
    what: &str,
    limit: usize,
    before: Option<impl std::fmt::Display>,
) -> Call {
    let mut path = format!("{}/{what}?limit={limit}", base(channel));
    if let Some(b) = before {
        path.push_str(&format!("&before={b}"));
    }
    Call {
        method: "GET",
        path,
        body: None,
    }
}

/// `GET …/links`, the newest page or the one before `before`.
pub fn links_call(channel: &str, before: Option<u64>) -> Call {
    paged_call(channel, "links", LINKS_PAGE, before)
}

/// `GET …/people`; with the moderators' lists when `lists`.
pub fn people_call(channel: &str, lists: bool) -> Call {
    let q = if lists { "?lists=1" } else { "" };
    Call {
        method: "GET",
        path: format!("{}/people{q}", base(channel)),
        body: None,
    }
}

/// `POST …/presence` (`here`) or `DELETE` it.
pub fn presence_call(channel: &str, here: bool) -> Call {
    Call {
        method: if here { "POST" } else { "DELETE" },
        path: format!("{}/presence", base(channel)),
        body: None,
    }
}

/// How often presence is renewed when the relay does not say (s).
pub const DEFAULT_RENEW_S: u32 = 30;

/// The relay's answer to `POST …/presence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Presence {
    /// Renew after this many seconds.
    pub renew_s: u32,
}

impl Presence {
    /// The renewal period in ms from an answer's body, kept within 5 s..5 min
    /// (a hostile or broken answer cannot make the chat spin or go silent).
    pub fn renew_ms(body: &str) -> u32 {
        let s = serde_json::from_str::<Presence>(body)
            .map_or(DEFAULT_RENEW_S, |p| p.renew_s)
            .clamp(5, 300);
        s * 1000
    }
}

/// Someone here now (moderators' list).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Present {
    /// Their Matrix user id.
    pub user_id: String,
    /// Since when (ms).
    #[serde(default)]
    pub since: i64,
}

/// Someone seen during the event (moderators' list).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Seen {
    /// Their user id.
    pub user_id: String,
    /// When last seen (ms).
    #[serde(default)]
    pub last_seen: i64,
    /// Whether they posted.
    #[serde(default)]
    pub posted: bool,
}

/// `GET …/people`: counts for everyone, lists for moderators.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct People {
    /// Feed sockets open.
    #[serde(default)]
    pub viewers: u64,
    /// Signed-in chatters present.
    #[serde(default)]
    pub chatters: u64,
    /// People seen lately.
    #[serde(default)]
    pub seen: u64,
    /// Here now, newest first (moderators only).
    #[serde(default)]
    pub present: Option<Vec<Present>>,
    /// Seen during the event, newest first (moderators only).
    #[serde(default)]
    pub seen_list: Option<Vec<Seen>>,
    /// Whether the relay cut the lists.
    #[serde(default)]
    pub lists_truncated: bool,
}

impl People {
    /// The counts in words: "12 watching · 3 in chat · 40 seen today".
    pub fn sentence(&self) -> String {
        format!(
            "{} watching · {} in chat · {} seen today",
            self.viewers, self.chatters, self.seen
        )
    }
}

/// The box an image of `size` (pixels, as its sender claimed) is shown in:
/// scaled down to fit `max` keeping its shape, never up, at least 1×1.
pub fn fit(size: (u32, u32), max: (u32, u32)) -> (u32, u32) {
    let (w, h) = (size.0.max(1) as u64, size.1.max(1) as u64);
    let (mw, mh) = (max.0.max(1) as u64, max.1.max(1) as u64);
    // The smaller of the two scales, as a fraction num/den (never above 1).
    let (num, den) = if w * mh > h * mw { (mw, w) } else { (mh, h) };
    let (num, den) = if num >= den { (1, 1) } else { (num, den) };
    let scale = |v: u64| ((v * num + den / 2) / den).max(1) as u32;
    (scale(w), scale(h))
}

/// `HH:MM` for a time `ts` (ms) in a zone `offset_min` east of UTC, with
/// the day (`d Mon`) when it is not the day of `now`.
pub fn when(ts: i64, now: i64, offset_min: i64) -> String {
    let local = |t: i64| t + offset_min * 60_000;
    let (t, n) = (local(ts), local(now));
    let day = t.div_euclid(86_400_000);
    let mins = t.rem_euclid(86_400_000) / 60_000;
    let clock = format!("{:02}:{:02}", mins / 60, mins % 60);
    if day == n.div_euclid(86_400_000) {
        return clock;
    }
    let (_, month, d) = civil(day);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{d} {} {clock}", MONTHS[(month - 1) as usize])
}

/// (year, month 1..=12, day) of a day count since 1970-01-01 (Howard
/// Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
#[path = "info_tests.rs"]
mod tests;
