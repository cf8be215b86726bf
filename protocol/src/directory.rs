//! What `GET /chat/channels` answers: the channels a relay offers publicly,
//! and for each what the full chat needs to join its conversation. The embed
//! therefore carries no Matrix configuration of its own.

use serde::{Deserialize, Serialize};

/// The relay's public channels, the main one first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// Each public channel once, in the order the organiser listed them.
    pub channels: Vec<ChannelInfo>,
}

/// One public channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// The channel's name, as in `GET /feed/{channel}`.
    pub channel: String,
    /// What viewers call it (≤ 80 characters); the name when none is set.
    pub title: String,
    /// Whether this is the relay's main channel (the first listed): the one a
    /// viewer lands in when the page names none.
    #[serde(default, skip_serializing_if = "is_false")]
    pub main: bool,
    /// The bridged Matrix room, when the channel has one and the bot is in
    /// it; without it viewers can read but not post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<ChatRoom>,
    /// The channel's rules, when the organiser wrote some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Rules>,
    /// The channel's DJs the organiser has marked live (through the Chat
    /// API), longest live first: the chat holds new private messages to
    /// them until the show is over. Empty (and left out) when nobody is
    /// live, which is also what a relay without this field means.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live: Vec<LiveDj>,
}

/// A DJ who is live on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveDj {
    /// Their Matrix user id (`@dj:example.org`): what the chat compares a
    /// private conversation's members with.
    pub user_id: String,
    /// What to call them in the notice ("DJ Shadow is live"), when the
    /// organiser gave a name; else the chat uses their Matrix name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When they were marked live, milliseconds since the Unix epoch; a
    /// later mark of a DJ already live keeps it.
    pub since: i64,
}

/// The Matrix room behind a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRoom {
    /// Base URL of the homeserver's client API as browsers reach it.
    pub homeserver: String,
    /// The room's id (`!abc:example.org`).
    pub room_id: String,
    /// The room's canonical alias, when the channel was configured with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Whether a guest account may join and post (`m.room.guest_access` is
    /// `can_join` and the room is public); when false the chat offers only
    /// signing in or registering.
    pub guests_can_post: bool,
}

/// A channel's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// The rules as plain text (≤ 4000 bytes); shown, never parsed as HTML.
    pub text: String,
    /// Whether a viewer must accept them before posting.
    pub required: bool,
    /// Changes whenever the text changes (the first 16 hex digits of its
    /// SHA-256), so an acceptance of older rules is asked again.
    pub version: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_directory_reads_and_writes_the_documented_json() {
        let literal = json!({"channels": [
            {"channel": "demo", "title": "Main stage", "main": true,
             "matrix": {"homeserver": "https://hs.example", "room_id": "!r:hs.example",
                        "alias": "#demo:hs.example", "guests_can_post": true},
             "rules": {"text": "Be kind.", "required": true, "version": "0123456789abcdef"}},
            {"channel": "dj", "title": "dj",
             "live": [{"user_id": "@shadow:hs.example", "name": "DJ Shadow", "since": 1700000000000_i64},
                      {"user_id": "@anon:hs.example", "since": 1700000060000_i64}]}
        ]});
        let dir: Directory = serde_json::from_value(literal.clone()).unwrap();
        assert_eq!(dir.channels.len(), 2);
        assert!(dir.channels[0].main);
        assert!(dir.channels[0].matrix.as_ref().unwrap().guests_can_post);
        assert!(!dir.channels[1].main && dir.channels[1].matrix.is_none());
        assert!(dir.channels[0].live.is_empty(), "no `live`: nobody is live");
        let live = &dir.channels[1].live;
        assert_eq!(
            live[0],
            LiveDj {
                user_id: "@shadow:hs.example".into(),
                name: Some("DJ Shadow".into()),
                since: 1_700_000_000_000,
            }
        );
        assert_eq!(live[1].name, None);
        assert_eq!(serde_json::to_value(&dir).unwrap(), literal);
    }

    #[test]
    fn a_live_dj_needs_an_id_and_a_time() {
        for bad in [json!({"since": 1}), json!({"user_id": "@a:b"})] {
            assert!(serde_json::from_value::<LiveDj>(bad).is_err());
        }
        let empty = ChannelInfo {
            channel: "x".into(),
            title: "x".into(),
            main: false,
            matrix: None,
            rules: None,
            live: Vec::new(),
        };
        let written = serde_json::to_value(&empty).unwrap();
        assert_eq!(written, json!({"channel": "x", "title": "x"}));
    }

    #[test]
    fn a_room_without_guest_flag_is_refused() {
        let bad = json!({"homeserver": "h", "room_id": "!r:h"});
        assert!(serde_json::from_value::<ChatRoom>(bad).is_err());
    }
}
