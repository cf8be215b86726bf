//! The composer's slash commands, for keyboard users: `/timeout @ann 5m
//! spam`, `/ban`, `/nsfw`, `/mod`, … Plain Rust: [`parse`] reads what was
//! typed, [`resolve`] turns an `@name` into a sender id from the lines the
//! chat knows, [`pick_image`] and [`pick_message`] say which message a
//! command acts on. The relay checks every action itself; a command only
//! builds the request.
//!
//! A message starting with `//` posts a literal `/`; any other `/word` is a
//! command, and an unknown one is an error, never posted.

use crate::timeline::Line;
use chyron_protocol::MediaKind;

/// Shortest timeout the relay takes, in seconds (2 minutes).
pub const MIN_TIMEOUT_SECS: u32 = 120;
/// Longest timeout the relay takes, in seconds (10 minutes).
pub const MAX_TIMEOUT_SECS: u32 = 600;
/// Longest reason, in characters (it goes to the log and the banner).
pub const MAX_REASON_CHARS: usize = 300;
/// Longest command line, in bytes.
pub const MAX_COMMAND_BYTES: usize = 1000;

/// What the composer's text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Not a command: post this text (a leading `//` already made `/`).
    Post(String),
    /// A command.
    Command(Command),
}

/// Whom a command names, as typed (without the `@`); see [`resolve`].
pub type Who = String;

/// How long an appointed moderator keeps the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// Every channel of this owner's, until removed.
    General,
    /// This channel, until this local time (the next time the clock says it).
    Until {
        /// 0–23.
        hour: u32,
        /// 0–59.
        minute: u32,
    },
}

/// A command, parsed; names not resolved yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Time someone out; `seconds` None lets the relay suggest (karma).
    Timeout {
        /// Whom.
        who: Who,
        /// 120..=600, or the relay's suggestion.
        seconds: Option<u32>,
        /// Why, shown to them.
        reason: Option<String>,
    },
    /// Lift a timeout early.
    Untimeout(Who),
    /// Ban someone from the channel.
    Ban {
        /// Whom.
        who: Who,
        /// Why, for the log.
        reason: Option<String>,
    },
    /// Lift a ban.
    Unban(Who),
    /// Mark an image NSFW (`true`) or safe.
    Mark(bool),
    /// Appoint a moderator.
    Mod(Who, Term),
    /// Remove a moderator.
    Unmod(Who),
    /// Delete the selected message, or this person's newest one.
    Delete(Option<Who>),
}

/// What `/help` would say: the commands there are.
pub const COMMANDS: &str =
    "/timeout @name [2m–10m] [reason], /untimeout @name, /ban @name [reason], \
/unban @name, /nsfw, /safe, /delete [@name], /mod @name until HH:MM (or general), /unmod @name";

/// Reads the composer's text: a post, or a command with its arguments
/// checked. `Err` is a sentence for the viewer; nothing is posted then.
pub fn parse(text: &str) -> Result<Input, String> {
    let trimmed = text.trim_start();
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Ok(Input::Post(text.to_owned()));
    };
    if rest.starts_with('/') {
        return Ok(Input::Post(rest.to_owned()));
    }
    if trimmed.len() > MAX_COMMAND_BYTES {
        return Err(format!(
            "A command can be at most {MAX_COMMAND_BYTES} bytes long."
        ));
    }
    let (name, args) = split_word(rest);
    let mut args = Args(args);
    let command = match name.to_ascii_lowercase().as_str() {
        "timeout" => {
            let who = args.who(name)?;
            let seconds = args.duration()?;
            Command::Timeout {
                who,
                seconds,
                reason: args.reason()?,
            }
        }
        "untimeout" => Command::Untimeout(args.only_who(name)?),
        "ban" => Command::Ban {
            who: args.who(name)?,
            reason: args.reason()?,
        },
        "unban" => Command::Unban(args.only_who(name)?),
        "nsfw" | "safe" => {
            args.end(name)?;
            Command::Mark(name.eq_ignore_ascii_case("nsfw"))
        }
        "delete" => {
            let who = if args.0.trim().is_empty() {
                None
            } else {
                Some(args.who(name)?)
            };
            args.end(name)?;
            Command::Delete(who)
        }
        "mod" => {
            let who = args.who(name)?;
            Command::Mod(who, args.term()?)
        }
        "unmod" => Command::Unmod(args.only_who(name)?),
        "" => {
            return Err(format!(
                "Type a command after /: {COMMANDS}. To post a line starting with /, type //."
            ))
        }
        other => {
            let shown: String = other.chars().filter(|c| !c.is_control()).take(30).collect();
            return Err(format!(
                "Unknown command /{shown}. Commands: {COMMANDS}. To post a line starting with /, type //."
            ));
        }
    };
    Ok(Input::Command(command))
}

/// The first word of `s` and the rest.
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// A command's arguments, read left to right.
struct Args<'a>(&'a str);

impl Args<'_> {
    /// `@name`, `@"two words"` or `@user:server`.
    fn who(&mut self, command: &str) -> Result<Who, String> {
        let missing = || format!("Say whom: /{command} @name.");
        let s = self.0.trim_start();
        let Some(s) = s.strip_prefix('@') else {
            return Err(missing());
        };
        let (who, rest, quoted) = if let Some(quoted) = s.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or("A quoted name needs its closing \".")?;
            (&quoted[..end], &quoted[end + 1..], true)
        } else {
            let (word, rest) = split_word(s);
            (word, rest, false)
        };
        let who = who.trim();
        if who.is_empty() {
            return Err(missing());
        }
        if who.chars().any(char::is_control) {
            return Err("A name cannot contain control characters.".to_owned());
        }
        self.0 = rest;
        // A full Matrix ID keeps its @; a quoted name is a display name.
        Ok(if !quoted && who.contains(':') {
            format!("@{who}")
        } else {
            who.to_owned()
        })
    }

    /// A name and nothing after it.
    fn only_who(&mut self, command: &str) -> Result<Who, String> {
        let who = self.who(command)?;
        self.end(command)?;
        Ok(who)
    }

    /// Nothing left.
    fn end(&self, command: &str) -> Result<(), String> {
        if self.0.trim().is_empty() {
            Ok(())
        } else {
            Err(format!("/{command} takes nothing more: {COMMANDS}."))
        }
    }

    /// A length, if the next word starts with a digit.
    fn duration(&mut self) -> Result<Option<u32>, String> {
        let (word, rest) = split_word(self.0);
        if !word.starts_with(|c: char| c.is_ascii_digit()) {
            return Ok(None);
        }
        self.0 = rest;
        parse_duration(word).map(Some)
    }

    /// The rest as a reason: none when empty.
    fn reason(&mut self) -> Result<Option<String>, String> {
        let reason = std::mem::take(&mut self.0).trim();
        check_reason(reason)
    }

    /// `general`, or `[event] until HH:MM`.
    fn term(&mut self) -> Result<Term, String> {
        let words: Vec<&str> = self.0.split_whitespace().collect();
        let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        let usage = "Say how long: /mod @name until 23:30 (this event), or /mod @name general.";
        match lower.as_slice() {
            ["general"] => Ok(Term::General),
            ["until", time] | ["event", "until", time] => {
                let (hour, minute) = parse_clock(time)?;
                Ok(Term::Until { hour, minute })
            }
            _ => Err(usage.to_owned()),
        }
    }
}

/// A reason as typed: trimmed, none when empty, refused when too long or
/// with control characters.
pub fn check_reason(reason: &str) -> Result<Option<String>, String> {
    let reason = reason.trim();
    if reason.chars().any(char::is_control) {
        return Err("A reason cannot contain control characters.".to_owned());
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(format!(
            "A reason can be at most {MAX_REASON_CHARS} characters long."
        ));
    }
    Ok((!reason.is_empty()).then(|| reason.to_owned()))
}

/// `5m`, `90s`, `10min`, `5` (minutes) → seconds, within 2–10 minutes.
pub fn parse_duration(word: &str) -> Result<u32, String> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = word.split_at(digits);
    let bad = || format!("“{word}” is not a length: use 5m, 150s or a number of minutes.");
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.to_ascii_lowercase().as_str() {
        "" | "m" | "min" | "mins" => number.saturating_mul(60),
        "s" | "sec" | "secs" => number,
        _ => return Err(bad()),
    };
    if !(u64::from(MIN_TIMEOUT_SECS)..=u64::from(MAX_TIMEOUT_SECS)).contains(&seconds) {
        return Err(format!(
            "Timeouts last 2 to 10 minutes (120–600 s); {word} is outside that."
        ));
    }
    Ok(seconds as u32)
}

/// `HH:MM` (24-hour clock).
pub fn parse_clock(word: &str) -> Result<(u32, u32), String> {
    let bad = || format!("“{word}” is not a time of day: use HH:MM, like 23:30.");
    let (h, m) = word.split_once(':').ok_or_else(bad)?;
    let ok = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(h) || m.len() != 2 || !ok(m) {
        return Err(bad());
    }
    let (hour, minute) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if hour > 23 || minute > 59 {
        return Err(bad());
    }
    Ok((hour, minute))
}

/// When (ms since the epoch) the local clock next reads `hour:minute`
/// after `now_ms`; `offset_min` is local time minus UTC in minutes (the
/// negation of JavaScript's `getTimezoneOffset()`).
pub fn next_clock(now_ms: i64, offset_min: i64, hour: u32, minute: u32) -> i64 {
    const DAY: i64 = 86_400_000;
    let local = now_ms + offset_min * 60_000;
    let midnight = local.div_euclid(DAY) * DAY;
    let mut at = midnight + (i64::from(hour) * 60 + i64::from(minute)) * 60_000;
    if at <= local {
        at += DAY;
    }
    at - offset_min * 60_000
}

/// The people who posted in `lines`: (sender id, newest display name).
pub fn senders(lines: &[Line]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in lines.iter().rev() {
        let m = &line.message;
        if !out.iter().any(|(id, _)| *id == m.sender_id) {
            out.push((m.sender_id.clone(), m.sender.clone()));
        }
    }
    out
}

/// The sender id `who` names among `senders` (id, display name): a full
/// Matrix ID as is; otherwise a display name, a sender id or a Matrix ID's
/// local part, ignoring case. Several people → an error listing them.
pub fn resolve(who: &str, senders: &[(String, String)]) -> Result<String, String> {
    if who.starts_with('@') && who.contains(':') {
        return if who.len() <= 255 && !who.chars().any(char::is_whitespace) {
            Ok(who.to_owned())
        } else {
            Err(format!("“{who}” is not a Matrix ID."))
        };
    }
    let local = |id: &str| {
        id.strip_prefix('@')
            .and_then(|r| r.split(':').next())
            .map(str::to_owned)
    };
    let matches: Vec<&(String, String)> = senders
        .iter()
        .filter(|(id, name)| {
            name.eq_ignore_ascii_case(who)
                || id.eq_ignore_ascii_case(who)
                || local(id).is_some_and(|l| l.eq_ignore_ascii_case(who))
        })
        .collect();
    match matches.as_slice() {
        [(id, _)] => Ok(id.clone()),
        [] => Err(format!(
            "Nobody called “{who}” has posted here; use their Matrix ID (@name:server)."
        )),
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|(id, name)| format!("{name} ({id})"))
                .collect();
            Err(format!(
                "“{who}” could be {}: use the Matrix ID.",
                list.join(", ")
            ))
        }
    }
}

/// Which image `/nsfw` or `/safe` acts on: the selected message (it must
/// have an image), else the newest image. The line, and whether it was the
/// selected one (the notice says which).
pub fn pick_image<'a>(
    lines: &'a [Line],
    selected: Option<&str>,
) -> Result<(&'a Line, bool), String> {
    let image = |l: &&Line| {
        l.message
            .media
            .as_ref()
            .is_some_and(|m| m.kind == MediaKind::Image)
    };
    if let Some(id) = selected {
        let line = lines.iter().find(|l| l.message.id == id);
        return match line.filter(image) {
            Some(line) => Ok((line, true)),
            None => Err("The selected message has no image.".to_owned()),
        };
    }
    lines
        .iter()
        .rev()
        .find(image)
        .map(|l| (l, false))
        .ok_or_else(|| "There is no image here to mark.".to_owned())
}

/// Which message `/delete` acts on: `sender`'s newest, else the selected one.
pub fn pick_message<'a>(
    lines: &'a [Line],
    selected: Option<&str>,
    sender: Option<&str>,
) -> Result<&'a Line, String> {
    match (sender, selected) {
        (Some(sender), _) => lines
            .iter()
            .rev()
            .find(|l| l.message.sender_id == sender)
            .ok_or_else(|| "They have no message here.".to_owned()),
        (None, Some(id)) => lines
            .iter()
            .find(|l| l.message.id == id)
            .ok_or_else(|| "The selected message is gone.".to_owned()),
        (None, None) => {
            Err("Say whose newest message: /delete @name (or use a message's menu).".to_owned())
        }
    }
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
