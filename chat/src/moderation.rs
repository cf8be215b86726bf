//! Moderation as the chat sees it, plain Rust: the viewer's relay session
//! (from a Matrix OpenID token), their role and standing in a channel
//! (`GET /chat/v1/channels/{c}/me`, or the public `standing` for guests),
//! the requests each action makes, the relay's errors as it wrote them,
//! the timed-out banner's countdown and the suggested timeout length.
//! The browser side (`web/moderation`) sends what this builds.

use serde::Deserialize;
use serde_json::{json, Value};

/// Renew a relay session this long before it expires (ms).
pub const RENEW_BEFORE_MS: i64 = 10 * 60_000;

/// A relay session (`POST /chat/v1/session`): a bearer token proving the
/// viewer's Matrix ID to the relay, kept in memory only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RelaySession {
    /// `chs_…`, sent as `Authorization: Bearer`.
    pub session: String,
    /// Whom the relay says it is for.
    pub user_id: String,
    /// When it stops working (ms since the epoch).
    pub expires_at: i64,
}

impl RelaySession {
    /// Whether it can still be used at `now` without renewing first.
    pub fn fresh(&self, now: i64) -> bool {
        self.expires_at - now > RENEW_BEFORE_MS
    }
}

/// What the viewer may do in a channel (the relay decides; the chat only
/// shows or hides controls by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everyone else.
    #[default]
    Viewer,
    /// Appointed by an owner.
    Moderator,
    /// The channel's organiser.
    Owner,
    /// The relay's administrator.
    Admin,
    /// A role this version does not know: treated as a viewer.
    #[serde(other)]
    Other,
}

impl Role {
    /// Whether moderation controls are shown.
    pub fn moderates(self) -> bool {
        matches!(self, Role::Moderator | Role::Owner | Role::Admin)
    }

    /// Whether the "Appoint moderator" form is shown.
    pub fn appoints(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// A timeout in force.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Timeout {
    /// When it ends (ms since the epoch).
    pub until: i64,
    /// Why, as the moderator wrote it.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The viewer's standing in a channel: `…/me` for accounts, `…/standing/{id}`
/// (no role) for guests.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Standing {
    /// Their role (viewer when the relay did not say).
    #[serde(default)]
    pub role: Role,
    /// When an event moderator's role ends.
    #[serde(default)]
    pub moderator_until: Option<i64>,
    /// A timeout in force, if any.
    #[serde(default)]
    pub timeout: Option<Timeout>,
    /// Banned from the channel.
    #[serde(default)]
    pub banned: bool,
}

impl Standing {
    /// Why the viewer cannot post at `now`, if they cannot.
    pub fn muted_until(&self, now: i64) -> Option<&Timeout> {
        self.timeout.as_ref().filter(|t| t.until > now)
    }
}

/// A moderator's karma view of someone (`GET …/moderation/users/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct UserInfo {
    /// Negative after timeouts; forgiven over time.
    #[serde(default)]
    pub karma: i64,
    /// The timeout length the relay suggests for them (seconds).
    #[serde(default)]
    pub suggested_seconds: Option<u32>,
}

/// The three lengths the menu offers (seconds).
pub const TIMEOUT_CHOICES: [u32; 3] = [120, 300, 600];

/// Which of [`TIMEOUT_CHOICES`] is preselected for a suggestion: the
/// nearest one not shorter (the longest when it is over all).
pub fn preselect(suggested: Option<u32>) -> u32 {
    let s = suggested.unwrap_or(TIMEOUT_CHOICES[0]);
    TIMEOUT_CHOICES.into_iter().find(|&c| c >= s).unwrap_or(600)
}

/// An HTTP request to the relay, built here, sent by the browser side.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// The path from the relay's base, segments escaped.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

/// A moderation action, names resolved to sender ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Time out for `seconds` (None: the relay's suggestion).
    Timeout(String, Option<u32>, Option<String>),
    /// Lift a timeout.
    Untimeout(String),
    /// Ban.
    Ban(String, Option<String>),
    /// Lift a ban.
    Unban(String),
    /// Mark message `id`'s image NSFW (`true`) or safe.
    Mark(String, bool),
    /// Delete message `id`.
    Delete(String),
    /// Appoint a moderator until this time (ms), or in general (None).
    Appoint(String, Option<i64>),
    /// Remove a moderator.
    Dismiss(String),
}

/// Escapes one path segment (a user id, a message id, a channel).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@:!$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The channel's API base.
fn channel_path(channel: &str) -> String {
    format!("/chat/v1/channels/{}", segment(channel))
}

impl Action {
    /// The request that does it in `channel`.
    pub fn call(&self, channel: &str) -> Call {
        let base = format!("{}/moderation", channel_path(channel));
        let with_reason = |mut body: Value, reason: &Option<String>| {
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            Some(body)
        };
        let (method, path, body) = match self {
            Action::Timeout(user, seconds, reason) => {
                let mut body = json!({ "user_id": user });
                if let Some(s) = seconds {
                    body["seconds"] = json!(s);
                }
                (
                    "POST",
                    format!("{base}/timeouts"),
                    with_reason(body, reason),
                )
            }
            Action::Untimeout(user) => {
                ("DELETE", format!("{base}/timeouts/{}", segment(user)), None)
            }
            Action::Ban(user, reason) => (
                "POST",
                format!("{base}/bans"),
                with_reason(json!({ "user_id": user }), reason),
            ),
            Action::Unban(user) => ("DELETE", format!("{base}/bans/{}", segment(user)), None),
            Action::Mark(id, nsfw) => {
                let mark = if *nsfw { "nsfw" } else { "safe" };
                (
                    "PUT",
                    format!("{base}/marks/{}", segment(id)),
                    Some(json!({ "mark": mark })),
                )
            }
            Action::Delete(id) => ("DELETE", format!("{base}/messages/{}", segment(id)), None),
            Action::Appoint(user, until) => {
                let body = match until {
                    Some(until) => json!({ "scope": "event", "until": until }),
                    None => json!({ "scope": "general" }),
                };
                let path = format!("{}/moderators/{}", channel_path(channel), segment(user));
                ("PUT", path, Some(body))
            }
            Action::Dismiss(user) => (
                "DELETE",
                format!("{}/moderators/{}", channel_path(channel), segment(user)),
                None,
            ),
        };
        Call { method, path, body }
    }

    /// What the notice says once it is done; `who` is the name shown.
    pub fn done(&self, who: &str) -> String {
        match self {
            Action::Timeout(..) => format!("{who} is timed out."),
            Action::Untimeout(_) => format!("{who}'s timeout is lifted."),
            Action::Ban(..) => format!("{who} is banned from this channel."),
            Action::Unban(_) => format!("{who} is no longer banned."),
            Action::Mark(_, true) => format!("Marked NSFW: {who}."),
            Action::Mark(_, false) => format!("Marked safe: {who}."),
            Action::Delete(_) => format!("Deleted {who}."),
            Action::Appoint(_, Some(_)) => format!("{who} moderates this event."),
            Action::Appoint(_, None) => format!("{who} moderates your channels."),
            Action::Dismiss(_) => format!("{who} no longer moderates."),
        }
    }
}

/// `GET …/me` (accounts).
pub fn me_call(channel: &str) -> Call {
    Call {
        method: "GET",
        path: format!("{}/me", channel_path(channel)),
        body: None,
    }
}

/// `GET …/standing/{user_id}` (guests: public).
pub fn standing_call(channel: &str, user_id: &str) -> Call {
    let path = format!("{}/standing/{}", channel_path(channel), segment(user_id));
    Call {
        method: "GET",
        path,
        body: None,
    }
}

/// `GET …/moderation/users/{user_id}` (karma and suggested length).
pub fn user_call(channel: &str, user_id: &str) -> Call {
    let path = format!(
        "{}/moderation/users/{}",
        channel_path(channel),
        segment(user_id)
    );
    Call {
        method: "GET",
        path,
        body: None,
    }
}

/// `POST /chat/v1/session` from an OpenID token.
pub fn session_call(access_token: &str, matrix_server_name: &str) -> Call {
    let body = json!({ "access_token": access_token, "matrix_server_name": matrix_server_name });
    Call {
        method: "POST",
        path: "/chat/v1/session".to_owned(),
        body: Some(body),
    }
}

/// The relay's refusal as it wrote it (`{"error":{"message"}}`), or the
/// status when the body says nothing readable.
pub fn relay_error(status: u16, body: &str) -> String {
    let message = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        v.pointer("/error/message")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    match message {
        Some(m) if !m.trim().is_empty() => {
            m.chars().filter(|c| !c.is_control()).take(300).collect()
        }
        _ => format!("The relay refused (HTTP {status})."),
    }
}

/// `m:ss` left until `until` at `now` (never negative).
pub fn countdown(until: i64, now: i64) -> String {
    let secs = ((until - now).max(0) + 999) / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// The banner's sentence for a timed-out viewer (without the countdown,
/// which changes every second and is not announced).
pub fn banner(timeout: &Timeout) -> String {
    match timeout
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(reason) => {
            format!("A moderator timed you out: “{reason}”. You can post again when it ends.")
        }
        None => "A moderator timed you out. You can post again when it ends.".to_owned(),
    }
}

/// The menu's label for a timeout length.
pub fn length_label(seconds: u32) -> String {
    format!("Time out {} min", seconds / 60)
}

#[cfg(test)]
#[path = "moderation_tests.rs"]
mod tests;
