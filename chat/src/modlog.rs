//! The moderators' screens, plain Rust: the channel's moderation log
//! (`GET …/moderation/log`, newest first, paged by `before`), which of its
//! timeouts and bans are still in force (so the log can offer Lift and
//! Unban), and the moderators list (`GET …/moderators`).

use crate::moderation::{segment, Action, Call};
use serde::Deserialize;

/// One line of the log (relay/src/moderation/reads.rs).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Entry {
    /// Its number; older lines have smaller ones (the `before` cursor).
    pub id: i64,
    /// When (ms since the epoch).
    pub ts: i64,
    /// Who acted: a Matrix id, "api", or the relay itself.
    pub actor: String,
    /// `timeout`, `timeout_lifted`, `timeout_ended`, `ban`, `unban`, …
    pub action: String,
    /// Whom (or which message) it was about.
    #[serde(default)]
    pub target: String,
    /// Why, as the moderator wrote it.
    #[serde(default)]
    pub reason: Option<String>,
    /// More about it (a timeout: "300 s, until 1700000000000").
    #[serde(default)]
    pub detail: Option<String>,
}

/// One page of the log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct LogPage {
    /// Newest first.
    #[serde(default)]
    pub log: Vec<Entry>,
}

/// Lines asked for per page.
pub const LOG_PAGE: usize = 50;

/// The log as shown: pages joined, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Log {
    /// Newest first, each once.
    pub entries: Vec<Entry>,
    /// Whether an older page may exist.
    pub more: bool,
    /// Whether a first page arrived.
    pub loaded: bool,
}

impl Log {
    /// The newest page replaces the list.
    pub fn newest(&mut self, page: LogPage) {
        self.more = page.log.len() >= LOG_PAGE;
        self.entries = page.log;
        self.loaded = true;
    }

    /// An older page goes below (lines already there are skipped).
    pub fn older_page(&mut self, page: LogPage) {
        self.more = page.log.len() >= LOG_PAGE;
        let last = self.entries.last().map_or(i64::MAX, |e| e.id);
        self.entries
            .extend(page.log.into_iter().filter(|e| e.id < last));
    }

    /// The cursor for the page below.
    pub fn before(&self) -> Option<i64> {
        self.more
            .then(|| self.entries.last().map(|e| e.id))
            .flatten()
    }

    /// What undoes entry `at` while it is in force at `now`: the newest
    /// timeout of someone, not lifted or ended since and not over, is
    /// lifted; the newest ban, not lifted since, is lifted. Older
    /// entries (the newer one rules) and everything else: `None`.
    pub fn undo(&self, at: usize, now: i64) -> Option<Action> {
        let entry = self.entries.get(at)?;
        let newer = &self.entries[..at];
        let about = |actions: &[&str]| {
            newer
                .iter()
                .any(|e| e.target == entry.target && actions.contains(&e.action.as_str()))
        };
        match entry.action.as_str() {
            "timeout" => {
                let over = until(entry).is_some_and(|u| u <= now);
                let ended = about(&["timeout", "timeout_lifted", "timeout_ended"]);
                (!over && !ended).then(|| Action::Untimeout(entry.target.clone()))
            }
            "ban" => (!about(&["ban", "unban"])).then(|| Action::Unban(entry.target.clone())),
            _ => None,
        }
    }
}

/// A timeout entry's end, from its detail ("300 s, until 1700000000000").
pub fn until(entry: &Entry) -> Option<i64> {
    let rest = entry.detail.as_deref()?.split("until ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// An entry in words: "@bob:hs timed out @carol:hs until 21:40: “reason”";
/// `when` writes a time.
pub fn describe(entry: &Entry, when: impl Fn(i64) -> String) -> String {
    if entry.action == "matrix_failed" {
        let why = entry.detail.as_deref().unwrap_or("no reason given");
        return format!("Not done in the Matrix room: {why}");
    }
    let what = match entry.action.as_str() {
        "timeout" => "timed out",
        "timeout_lifted" => "lifted the timeout of",
        "timeout_ended" => "timeout ended for",
        "ban" => "banned",
        "unban" => "lifted the ban of",
        "appoint" => "appointed",
        "dismiss" => "dismissed",
        "delete" => "deleted",
        "mark_nsfw" => "marked NSFW",
        "mark_safe" => "marked safe",
        other => other,
    };
    let mut out = format!("{} {what} {}", entry.actor, entry.target)
        .trim_end()
        .to_owned();
    match (entry.action.as_str(), until(entry)) {
        ("timeout", Some(u)) => out.push_str(&format!(" until {}", when(u))),
        (_, _) => {
            if let Some(d) = entry.detail.as_deref().filter(|d| !d.is_empty()) {
                out.push_str(&format!(" ({d})"));
            }
        }
    }
    if let Some(r) = entry.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        out.push_str(&format!(": “{r}”"));
    }
    out
}

/// Someone appointed (`GET …/moderators`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Appointment {
    /// The channel, or the owner whose channels (general appointments).
    pub scope: String,
    /// Who moderates.
    pub user_id: String,
    /// Until when (event appointments).
    #[serde(default)]
    pub until: Option<i64>,
    /// Who appointed them.
    #[serde(default)]
    pub appointed_by: String,
}

/// `GET …/moderators`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Moderators {
    /// In the order they were appointed.
    #[serde(default)]
    pub moderators: Vec<Appointment>,
}

/// `GET …/moderation/log`, the newest page or the one before `before`.
pub fn log_call(channel: &str, before: Option<i64>) -> Call {
    crate::info::paged_call(channel, "moderation/log", LOG_PAGE, before)
}

/// `GET …/moderators`.
pub fn moderators_call(channel: &str) -> Call {
    Call {
        method: "GET",
        path: format!("/chat/v1/channels/{}/moderators", segment(channel)),
        body: None,
    }
}

#[cfg(test)]
#[path = "modlog_tests.rs"]
mod tests;
