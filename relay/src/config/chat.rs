//! What the relay offers the full chat: which channels are public, what
//! each is called, its rules, and the homeserver URL browsers use. Pure
//! validation; `GET /chat/channels` ([`crate::directory`]) serves the result.

use super::ConfigError;
use crate::bridge::config::MatrixConfig;
use crate::user_id::check_user_id;
use chyron_protocol::{validate_channel, Rules};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Longest channel title, in characters.
pub const MAX_TITLE_CHARS: usize = 80;
/// Longest rules text, in bytes.
pub const MAX_RULES_BYTES: usize = 4000;

/// One `[channels.NAME]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelFile {
    /// What viewers call the channel.
    title: Option<String>,
    /// The rules, plain text.
    rules: Option<String>,
    /// Whether viewers must accept the rules before posting.
    rules_required: Option<bool>,
    /// Matrix user ids of the channel's owners (organisers, DJs): they
    /// appoint its moderators.
    owners: Option<Vec<String>>,
    /// `show` (default) or `blur`: whether an attachment nobody marked yet
    /// is shown, or hidden until a moderator marks it safe.
    unmarked_images: Option<String>,
    /// Whether everyone sees a short notice when someone is timed out or
    /// banned (default: only the moderation log and the person hear of it).
    moderation_notices: Option<bool>,
}

/// What the organiser said about one channel, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelMeta {
    /// The title; the channel's name is shown when absent.
    pub title: Option<String>,
    /// The rules, with their version.
    pub rules: Option<Rules>,
    /// Owners named in the config (the Chat API can add more).
    pub owners: Vec<String>,
    /// Whether unmarked attachments wait for a moderator's "safe".
    pub blur_unmarked: bool,
    /// Whether timeouts and bans are announced in the channel.
    pub moderation_notices: bool,
}

/// The chat directory's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatConfig {
    /// The public channels in order, the main one first; when empty, the
    /// bridged channels in the order they were configured ([`Self::public`]).
    pub public_channels: Vec<String>,
    /// The homeserver URL as browsers reach it, when it differs from the
    /// one the relay uses (`matrix_homeserver`), e.g. behind a proxy.
    pub public_homeserver: Option<String>,
    /// Titles and rules per channel.
    pub channels: BTreeMap<String, ChannelMeta>,
    /// Matrix user ids of the relay's admins: moderators of every channel,
    /// who read any public channel without being counted or listed.
    pub admins: Vec<String>,
}

/// The raw values before validation.
pub struct ChatInput {
    /// `public_channels` (flag, environment or file).
    pub public_channels: Option<Vec<String>>,
    /// `matrix_public_homeserver`.
    pub public_homeserver: Option<String>,
    /// The `[channels.NAME]` tables.
    pub channels: BTreeMap<String, ChannelFile>,
    /// `admins` (flag, environment or file).
    pub admins: Option<Vec<String>>,
}

impl ChatConfig {
    /// The public channels: those listed, else the bridged ones.
    pub fn public(&self, matrix: Option<&MatrixConfig>) -> Vec<String> {
        if !self.public_channels.is_empty() {
            return self.public_channels.clone();
        }
        let bridged = matrix.iter().flat_map(|m| &m.rooms);
        let mut names: Vec<String> = Vec::new();
        for name in bridged.map(|r| &r.channel) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }
}

/// The rules' version: the first 16 hex digits of the text's SHA-256.
pub fn rules_version(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// Checks the values and fills in the defaults.
pub fn resolve(input: ChatInput) -> Result<ChatConfig, ConfigError> {
    let err = |m: String| Err(ConfigError(m));
    let mut public_channels: Vec<String> = Vec::new();
    let listed = input.public_channels.unwrap_or_default();
    for name in listed.into_iter().map(|n| n.trim().to_string()) {
        if name.is_empty() {
            continue;
        }
        if let Err(e) = validate_channel(&name) {
            return err(format!("`public_channels`: {name:?}: {e}"));
        }
        if !public_channels.contains(&name) {
            public_channels.push(name);
        }
    }
    let public_homeserver = match input.public_homeserver {
        Some(url) => {
            let url = url.trim_end_matches('/').to_string();
            if let Err(why) = super::check_http_url(&url) {
                return err(format!("`matrix_public_homeserver`: {url:?} {why}"));
            }
            Some(url)
        }
        None => None,
    };
    let mut channels = BTreeMap::new();
    for (name, file) in input.channels {
        let at = format!("`[channels.{name}]`");
        if let Err(e) = validate_channel(&name) {
            return err(format!("{at}: {e}"));
        }
        let title = match file.title.map(|t| t.trim().to_string()) {
            Some(t) if t.is_empty() => return err(format!("{at}: `title` is empty")),
            Some(t) if t.chars().count() > MAX_TITLE_CHARS => {
                return err(format!(
                    "{at}: `title` is longer than {MAX_TITLE_CHARS} characters"
                ))
            }
            Some(t) if t.chars().any(char::is_control) => {
                return err(format!("{at}: `title` holds a control character"))
            }
            other => other,
        };
        let required = file.rules_required.unwrap_or(false);
        let rules = match file.rules.map(|r| r.trim().to_string()) {
            Some(r) if r.is_empty() => return err(format!("{at}: `rules` is empty")),
            Some(r) if r.len() > MAX_RULES_BYTES => {
                return err(format!(
                    "{at}: `rules` is longer than {MAX_RULES_BYTES} bytes"
                ))
            }
            Some(text) => Some(Rules {
                version: rules_version(&text),
                text,
                required,
            }),
            None if required => {
                return err(format!(
                    "{at}: `rules_required` is set but there are no `rules`"
                ))
            }
            None => None,
        };
        let owners = user_ids(&format!("{at} `owners`"), file.owners)?;
        let blur_unmarked = match file.unmarked_images.as_deref() {
            None | Some("show") => false,
            Some("blur") => true,
            Some(other) => {
                return err(format!(
                    "{at}: `unmarked_images` is {other:?}; it must be \"show\" or \"blur\""
                ))
            }
        };
        let moderation_notices = file.moderation_notices.unwrap_or(false);
        channels.insert(
            name,
            ChannelMeta {
                title,
                rules,
                owners,
                blur_unmarked,
                moderation_notices,
            },
        );
    }
    Ok(ChatConfig {
        public_channels,
        public_homeserver,
        channels,
        admins: user_ids("`admins`", input.admins)?,
    })
}

/// A list of Matrix user ids, checked, blanks skipped, duplicates dropped.
fn user_ids(at: &str, list: Option<Vec<String>>) -> Result<Vec<String>, ConfigError> {
    let mut ids: Vec<String> = Vec::new();
    for id in list
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.trim().to_string())
    {
        if id.is_empty() {
            continue;
        }
        check_user_id(&id).map_err(|why| ConfigError(format!("{at}: {why}")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

#[cfg(test)]
#[path = "chat_tests.rs"]
mod tests;
