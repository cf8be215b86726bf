//! The commands moderators type in an owner's moderators' room (from
//! Element or any client): `!timeout @user 5m [reason]`, `!untimeout`,
//! `!ban @user [reason]`, `!unban`, `!mod @user [general | event LENGTH]`,
//! `!unmod`, `!karma`, `!help`; `/` works like `!`, and `in <channel>` at
//! the end picks one of the owner's channels. Plain parsing, no I/O:
//! [`super::mods_commands`] resolves names and runs them.

/// Longest command line looked at, in bytes; longer ones are refused.
pub const MAX_LINE: usize = 2000;

/// Shortest and longest timeout, in seconds (the relay's own limits).
const TIMEOUT_SECS: std::ops::RangeInclusive<i64> = 120..=600;

/// Default and longest `!mod … event` length, in seconds.
const EVENT_DEFAULT_SECS: i64 = 4 * 3600;
const EVENT_MAX_SECS: i64 = 14 * 24 * 3600;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Time `user` out for `seconds` (default: suggested by karma).
    Timeout {
        /// Whom.
        user: String,
        /// How long.
        seconds: Option<i64>,
        /// Why.
        reason: Option<String>,
    },
    /// Lift a timeout.
    Untimeout(String),
    /// Ban.
    Ban {
        /// Whom.
        user: String,
        /// Why.
        reason: Option<String>,
    },
    /// Lift a ban.
    Unban(String),
    /// Appoint a moderator: for one event of `event_secs` from now, or in general.
    Mod {
        /// Whom.
        user: String,
        /// `Some(length)`: this event only; `None`: every channel of the owner.
        event_secs: Option<i64>,
    },
    /// Dismiss a moderator.
    Unmod(String),
    /// Karma and standing.
    Karma(String),
    /// The list of commands.
    Help,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// What to do.
    pub action: Action,
    /// The channel named with `in <channel>`, if any.
    pub channel: Option<String>,
}

impl Command {
    /// The same command with its trailing `in <word>` read back into the
    /// reason (“spamming in chat”, where “chat” is none of the owner's
    /// channels); `None` when there was no `in` or the action takes no
    /// reason.
    pub fn in_reason(&self) -> Option<Command> {
        let tail = format!("in {}", self.channel.as_ref()?);
        let joined = |reason: &Option<String>| match reason {
            Some(r) => Some(format!("{r} {tail}")),
            None => Some(tail.clone()),
        };
        let action = match &self.action {
            Action::Timeout {
                user,
                seconds,
                reason,
            } => Action::Timeout {
                user: user.clone(),
                seconds: *seconds,
                reason: joined(reason),
            },
            Action::Ban { user, reason } => Action::Ban {
                user: user.clone(),
                reason: joined(reason),
            },
            _ => return None,
        };
        Some(Command {
            action,
            channel: None,
        })
    }
}

/// The help notice.
pub const HELP: &str = "Commands (! or /): !timeout @user 5m [reason] · !untimeout @user · \
!ban @user [reason] · !unban @user · !mod @user [general | event 3h] · !unmod @user · \
!karma @user · !help. Add “in <channel>” when you own several channels. \
@user is a full Matrix ID or the name before the colon.";

/// `None`: not a command (an ordinary message, left alone). `Some(Err)`:
/// a command that cannot run, with the sentence to answer.
pub fn parse(line: &str) -> Option<Result<Command, String>> {
    let line = line.trim();
    let rest = line.strip_prefix('!').or_else(|| line.strip_prefix('/'))?;
    let first = rest.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    if line.len() > MAX_LINE {
        return Some(Err(format!(
            "That command is too long (at most {MAX_LINE} bytes)."
        )));
    }
    Some(parse_command(rest))
}

fn parse_command(rest: &str) -> Result<Command, String> {
    let mut words: Vec<&str> = rest.split_whitespace().collect();
    let name = words.remove(0).to_ascii_lowercase();
    let channel = take_channel(&mut words);
    let mut words = words.into_iter();
    let mut who = |usage: &str| -> Result<String, String> {
        match words.next() {
            Some(w) if w.starts_with('@') && w.len() > 1 => Ok(w.to_string()),
            Some(w) => Err(format!("“{}” is not a @user. {usage}", clip(w))),
            None => Err(format!("Whom? {usage}")),
        }
    };
    let action = match name.as_str() {
        "timeout" | "to" => {
            let user = who("Usage: !timeout @user 5m [reason]")?;
            let mut rest: Vec<&str> = words.collect();
            let seconds = match rest.first() {
                Some(w) if w.starts_with(|c: char| c.is_ascii_digit()) => {
                    let secs = duration(w)?;
                    rest.remove(0);
                    Some(secs)
                }
                _ => None,
            };
            Action::Timeout {
                user,
                seconds,
                reason: reason(&rest),
            }
        }
        "untimeout" | "lift" => Action::Untimeout(only(who("Usage: !untimeout @user")?, words)?),
        "ban" => {
            let user = who("Usage: !ban @user [reason]")?;
            let rest: Vec<&str> = words.collect();
            Action::Ban {
                user,
                reason: reason(&rest),
            }
        }
        "unban" => Action::Unban(only(who("Usage: !unban @user")?, words)?),
        "mod" => {
            let user = who("Usage: !mod @user [general | event 3h]")?;
            let rest: Vec<&str> = words.collect();
            let event_secs = match rest.as_slice() {
                [] | ["general"] => None,
                ["event"] => Some(EVENT_DEFAULT_SECS),
                ["event", length] => Some(event_length(length)?),
                _ => return Err("Usage: !mod @user [general | event 3h]".into()),
            };
            Action::Mod { user, event_secs }
        }
        "unmod" => Action::Unmod(only(who("Usage: !unmod @user")?, words)?),
        "karma" => Action::Karma(only(who("Usage: !karma @user")?, words)?),
        "help" => Action::Help,
        other => return Err(format!("Unknown command “{}”. {HELP}", clip(other))),
    };
    Ok(Command { action, channel })
}

/// Takes a trailing `in <channel>` off `words`.
fn take_channel(words: &mut Vec<&str>) -> Option<String> {
    let n = words.len();
    if n >= 2 && words[n - 2].eq_ignore_ascii_case("in") {
        let channel = words[n - 1].trim_start_matches('#').to_string();
        words.truncate(n - 2);
        return Some(channel);
    }
    None
}

/// `user`, refusing extra words after it.
fn only<'a>(user: String, mut rest: impl Iterator<Item = &'a str>) -> Result<String, String> {
    match rest.next() {
        None => Ok(user),
        Some(w) => Err(format!("Unexpected “{}” after {}.", clip(w), clip(&user))),
    }
}

fn reason(words: &[&str]) -> Option<String> {
    let text = words.join(" ");
    (!text.is_empty()).then_some(text)
}

/// A word cut to 40 characters for an answer (never a huge echo).
fn clip(word: &str) -> String {
    let mut out: String = word.chars().take(40).collect();
    if out.len() < word.len() {
        out.push('…');
    }
    out
}

/// `5m`, `300s`, `5` (minutes), `5min` → seconds, 2–10 minutes.
pub fn duration(word: &str) -> Result<i64, String> {
    let secs = length(word, 60).ok_or_else(|| {
        format!(
            "“{}” is not a length: use 5m, 300s or a number of minutes.",
            clip(word)
        )
    })?;
    if !TIMEOUT_SECS.contains(&secs) {
        return Err(format!(
            "Timeouts last 2 to 10 minutes (120–600 s); {} is outside that.",
            clip(word)
        ));
    }
    Ok(secs)
}

/// An event's length: `3h`, `90m`, `2d`, `3` (hours), up to 14 days.
fn event_length(word: &str) -> Result<i64, String> {
    match length(word, 3600) {
        Some(secs) if (60..=EVENT_MAX_SECS).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "“{}” is not an event length: use 3h, 90m or 2d (at most 14 days).",
            clip(word)
        )),
    }
}

/// A number with an optional unit (s, m/min, h, d; `bare` seconds when
/// none) → seconds; `None` when it is not one.
fn length(word: &str, bare: i64) -> Option<i64> {
    let split = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let (digits, unit) = word.split_at(split);
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let unit = match unit.to_ascii_lowercase().as_str() {
        "" => bare,
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hr" | "hrs" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    Some(n * unit)
}

#[cfg(test)]
#[path = "mods_parse_tests.rs"]
mod tests;
