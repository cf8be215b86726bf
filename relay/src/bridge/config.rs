//! The Matrix bridge's configuration: which homeserver, which bot, which
//! rooms feed which channels. Pure parsing and validation; `crate::config`
//! decides where each value comes from (flags > environment > file).
//!
//! The bot's password or access token comes only from the environment or the
//! file (flags show in process lists) and is never printed: [`Secret`]'s
//! `Debug` is redacted.

use matrix_sdk::ruma::{OwnedRoomOrAliasId, OwnedUserId};

/// A password or access token: its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(
    /// The secret text; read it only to hand it to the homeserver.
    String,
);

impl Secret {
    /// Wraps a secret.
    pub fn new(text: String) -> Secret {
        Secret(text)
    }

    /// The secret text, for the login request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How the bot authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatrixAuth {
    /// Log in with the user's password (a device `CHYRON` is created or reused).
    Password(Secret),
    /// Use an existing access token of the user.
    Token(Secret),
}

/// One bridged room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomBridge {
    /// The Chyron channel the room's chat goes to.
    pub channel: String,
    /// The room: an alias (`#demo:example.org`) or an id (`!abc:example.org`).
    pub room: OwnedRoomOrAliasId,
}

/// The bridge's resolved configuration; present only when a homeserver is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixConfig {
    /// Base URL of the homeserver's client API (`https://matrix.example.org`).
    pub homeserver: String,
    /// The bot's user id (`@chyron:example.org`).
    pub user: OwnedUserId,
    /// The bot's password or access token.
    pub auth: MatrixAuth,
    /// The rooms, each mapped to one channel.
    pub rooms: Vec<RoomBridge>,
    /// Whether a kick, like a ban, clears the kicked user's lines.
    pub clear_on_kick: bool,
    /// Room events brought in on the very first sync (no sync token yet):
    /// the last messages said before the relay joined.
    pub backfill: u32,
}

/// The raw values, wherever they came from, before validation.
#[derive(Debug, Default)]
pub struct MatrixInput {
    /// `matrix_homeserver`.
    pub homeserver: Option<String>,
    /// `matrix_user`.
    pub user: Option<String>,
    /// `matrix_password` (environment or file only).
    pub password: Option<Secret>,
    /// `matrix_token` (environment or file only).
    pub token: Option<Secret>,
    /// `bridge`: `channel=room` pairs.
    pub pairs: Vec<String>,
    /// `bridge_clear_on_kick`.
    pub clear_on_kick: Option<bool>,
    /// `bridge_backfill`.
    pub backfill: Option<u32>,
}

/// Default of `bridge_backfill`.
pub const DEFAULT_BACKFILL: u32 = 50;
/// Largest `bridge_backfill`: one sync's timeline.
pub const MAX_BACKFILL: u32 = 200;

/// Validates the bridge settings: `Ok(None)` when no homeserver is configured
/// (and nothing else Matrix-related is set), the error text otherwise.
pub fn resolve(input: MatrixInput) -> Result<Option<MatrixConfig>, String> {
    let Some(homeserver) = input.homeserver.filter(|h| !h.trim().is_empty()) else {
        if !input.pairs.is_empty() || input.user.is_some() {
            return Err(
                "`bridge` or `matrix_user` is set but `matrix_homeserver` is not".to_string(),
            );
        }
        return Ok(None);
    };
    let homeserver = homeserver.trim().trim_end_matches('/').to_string();
    crate::config::check_http_url(&homeserver)
        .map_err(|why| format!("`matrix_homeserver`: {homeserver:?} {why}"))?;
    let user = input
        .user
        .ok_or("`matrix_user` is required with `matrix_homeserver` (e.g. @chyron:example.org)")?;
    let user = OwnedUserId::try_from(user.trim()).map_err(|e| {
        format!("`matrix_user`: {user:?} is not a Matrix user id like @bot:example.org: {e}")
    })?;
    let auth = match (input.password, input.token) {
        (Some(p), None) if !p.expose().is_empty() => MatrixAuth::Password(p),
        (None, Some(t)) if !t.expose().is_empty() => MatrixAuth::Token(t),
        (Some(_), Some(_)) => {
            return Err("set either the Matrix password or the access token, not both".into())
        }
        _ => {
            return Err(
                "the Matrix bot needs CHYRON_MATRIX_PASSWORD or CHYRON_MATRIX_TOKEN \
                 (or matrix_password / matrix_token in the config file)"
                    .into(),
            )
        }
    };
    let mut rooms: Vec<RoomBridge> = Vec::new();
    for pair in input
        .pairs
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        let bridge = parse_pair(pair)?;
        if rooms.iter().any(|r| r.room == bridge.room) {
            return Err(format!(
                "`bridge`: room {} is mapped twice; a room feeds one channel",
                bridge.room
            ));
        }
        rooms.push(bridge);
    }
    if rooms.is_empty() {
        return Err(
            "`bridge` is empty: name at least one channel=#alias:server or channel=!roomid pair"
                .into(),
        );
    }
    Ok(Some(MatrixConfig {
        homeserver,
        user,
        auth,
        rooms,
        clear_on_kick: input.clear_on_kick.unwrap_or(false),
        backfill: match input.backfill {
            None => DEFAULT_BACKFILL,
            Some(n) if n <= MAX_BACKFILL => n,
            Some(n) => {
                return Err(format!(
                    "`bridge_backfill`: {n} is over {MAX_BACKFILL} (one sync's timeline)"
                ))
            }
        },
    }))
}

/// Parses one `channel=#alias:server` or `channel=!roomid:server` pair.
pub fn parse_pair(pair: &str) -> Result<RoomBridge, String> {
    let (channel, room) = pair.split_once('=').ok_or_else(|| {
        format!("`bridge`: {pair:?} is not channel=#alias:server or channel=!roomid:server")
    })?;
    let (channel, room) = (channel.trim(), room.trim());
    chyron_protocol::validate_channel(channel)
        .map_err(|why| format!("`bridge`: {pair:?}: invalid channel name: {why}"))?;
    if !room.starts_with(['#', '!']) {
        return Err(format!(
            "`bridge`: {pair:?}: the room must be an alias (#name:server) or an id (!id:server)"
        ));
    }
    let room = OwnedRoomOrAliasId::try_from(room)
        .map_err(|e| format!("`bridge`: {pair:?}: invalid room {room:?}: {e}"))?;
    Ok(RoomBridge {
        channel: channel.to_string(),
        room,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[&str]) -> MatrixInput {
        MatrixInput {
            homeserver: Some("http://127.0.0.1:8008/".into()),
            user: Some("@bot:localhost".into()),
            password: Some(Secret::new("hunter2".into())),
            token: None,
            pairs: pairs.iter().map(|p| p.to_string()).collect(),
            clear_on_kick: None,
            backfill: None,
        }
    }

    #[test]
    fn nothing_configured_means_no_bridge() {
        assert_eq!(resolve(MatrixInput::default()), Ok(None));
    }

    #[test]
    fn pairs_parse_aliases_and_ids() {
        let c = resolve(input(&["demo=#demo:localhost", " talk = !abc:localhost "]))
            .unwrap()
            .unwrap();
        assert_eq!(c.homeserver, "http://127.0.0.1:8008");
        assert_eq!(c.rooms.len(), 2);
        assert_eq!(c.rooms[0].channel, "demo");
        assert_eq!(c.rooms[0].room.as_str(), "#demo:localhost");
        assert_eq!(c.rooms[1].channel, "talk");
        assert_eq!(c.rooms[1].room.as_str(), "!abc:localhost");
        assert!(!c.clear_on_kick);
        assert_eq!(c.backfill, DEFAULT_BACKFILL);
        assert!(matches!(c.auth, MatrixAuth::Password(_)));
    }

    #[test]
    fn bad_pairs_are_clear_errors() {
        for (pair, says) in [
            ("demo", "is not channel="),
            ("Demo!=#demo:localhost", "invalid channel name"),
            ("=#demo:localhost", "invalid channel name"),
            ("demo=demo:localhost", "must be an alias"),
            ("demo=@alice:localhost", "must be an alias"),
            ("demo=#nocolon", "invalid room"),
        ] {
            let err = resolve(input(&[pair])).unwrap_err();
            assert!(err.contains(says), "{pair}: {err}");
        }
        let err = resolve(input(&["a=#x:hs", "b=#x:hs"])).unwrap_err();
        assert!(err.contains("mapped twice"), "{err}");
        let err = resolve(input(&[])).unwrap_err();
        assert!(err.contains("`bridge` is empty"), "{err}");
    }

    #[test]
    fn backfill_is_bounded() {
        let mut i = input(&["demo=#demo:localhost"]);
        i.backfill = Some(0);
        assert_eq!(resolve(i).unwrap().unwrap().backfill, 0);
        let mut i = input(&["demo=#demo:localhost"]);
        i.backfill = Some(MAX_BACKFILL + 1);
        assert!(resolve(i).unwrap_err().contains("bridge_backfill"));
    }

    #[test]
    fn credentials_are_required_and_never_shown() {
        let mut i = input(&["demo=#demo:localhost"]);
        i.password = None;
        assert!(resolve(i).unwrap_err().contains("CHYRON_MATRIX_PASSWORD"));
        let mut i = input(&["demo=#demo:localhost"]);
        i.token = Some(Secret::new("tok".into()));
        assert!(resolve(i).unwrap_err().contains("not both"));
        let mut i = input(&["demo=#demo:localhost"]);
        i.user = Some("bot".into());
        assert!(resolve(i).unwrap_err().contains("`matrix_user`"));
        let mut i = input(&["demo=#demo:localhost"]);
        i.homeserver = Some("ftp://x".into());
        assert!(resolve(i).unwrap_err().contains("`matrix_homeserver`"));
        let c = resolve(input(&["demo=#demo:localhost"])).unwrap().unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn bridge_without_homeserver_is_an_error() {
        let mut i = input(&["demo=#demo:localhost"]);
        i.homeserver = None;
        assert!(resolve(i)
            .unwrap_err()
            .contains("`matrix_homeserver` is not"));
    }
}
