//! The element's attributes turned into a checked [`Config`].
//!
//! Attributes come from any page that embeds the widget, so every value is
//! treated as hostile: numbers are clamped, unknown keywords fall back to the
//! default (with a warning), and only an unusable channel or server is an
//! error, because without them there is nothing sensible to show.

use chyron_protocol::{validate_channel, InvalidInput};
use std::fmt;

/// Caption lines shown at once, when the page does not say.
pub const DEFAULT_LINES: usize = 3;
/// Seconds a caption stays, when the page does not say.
pub const DEFAULT_FADE_SECS: f64 = 8.0;
const LINES_RANGE: (usize, usize) = (1, 10);
const FADE_RANGE: (f64, f64) = (2.0, 120.0);

/// Everything the widget needs to know about where and how to show a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The validated channel name.
    pub channel: String,
    /// `ws(s)://…/feed/{channel}`, without a query.
    pub feed_url: String,
    /// Most caption lines shown at once.
    pub lines: usize,
    /// Seconds a caption stays before it is removed.
    pub fade_secs: f64,
    /// Which edge and side of the video the captions sit at.
    pub position: Position,
    /// Over the video, or in the page flow beside it.
    pub placement: Placement,
}

/// Top or bottom edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vertical {
    Top,
    Bottom,
}

/// Left, centre or right side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Horizontal {
    Left,
    Center,
    Right,
}

/// `position="bottom-center"` and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub vertical: Vertical,
    pub horizontal: Horizontal,
}

impl Default for Position {
    fn default() -> Self {
        Position {
            vertical: Vertical::Bottom,
            horizontal: Horizontal::Center,
        }
    }
}

impl Position {
    /// Parses `top|bottom` `-` `left|center|right`, case-insensitively.
    pub fn parse(value: &str) -> Option<Position> {
        let value = value.trim().to_ascii_lowercase();
        let (v, h) = value.split_once('-')?;
        let vertical = match v {
            "top" => Vertical::Top,
            "bottom" => Vertical::Bottom,
            _ => return None,
        };
        let horizontal = match h {
            "left" => Horizontal::Left,
            "center" => Horizontal::Center,
            "right" => Horizontal::Right,
            _ => return None,
        };
        Some(Position {
            vertical,
            horizontal,
        })
    }

    /// CSS classes for the widget's root element.
    pub fn classes(self) -> &'static str {
        use {Horizontal::*, Vertical::*};
        match (self.vertical, self.horizontal) {
            (Top, Left) => "top left",
            (Top, Center) => "top center",
            (Top, Right) => "top right",
            (Bottom, Left) => "bottom left",
            (Bottom, Center) => "bottom center",
            (Bottom, Right) => "bottom right",
        }
    }
}

/// Where the widget's box goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// Absolutely over the nearest positioned ancestor (the player); only the
    /// controls take pointer events, so the video stays clickable.
    #[default]
    Overlay,
    /// A block in the page flow, e.g. beside or under the video.
    Inline,
}

impl Placement {
    /// The CSS class for the widget's root element.
    pub fn class(self) -> &'static str {
        match self {
            Placement::Overlay => "overlay",
            Placement::Inline => "inline",
        }
    }
}

/// Why the widget cannot run with these attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// `channel` is missing or not a valid channel name.
    Channel(InvalidInput),
    /// `server` (or the script's own address) is not an absolute http(s) URL.
    Server(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Channel(e) => write!(f, "Captions unavailable: invalid channel ({e})."),
            ConfigError::Server(why) => write!(f, "Captions unavailable: invalid server URL ({why})."),
        }
    }
}

/// A usable configuration plus warnings about values that were replaced.
pub type Parsed = Result<(Config, Vec<String>), ConfigError>;

/// Reads the attributes through `attr` (name → value). `base` is where
/// embed.js was loaded from, the default server.
pub fn parse(attr: impl Fn(&str) -> Option<String>, base: &str) -> Parsed {
    let mut warnings = Vec::new();
    let channel = attr("channel").unwrap_or_default();
    let channel = channel.trim();
    validate_channel(channel).map_err(ConfigError::Channel)?;
    let server = attr("server").filter(|s| !s.trim().is_empty());
    let server = server.as_deref().unwrap_or(base);
    let feed_url = feed_url(server, channel).map_err(ConfigError::Server)?;

    let lines = match attr("lines") {
        None => DEFAULT_LINES,
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) => {
                let (lo, hi) = LINES_RANGE;
                let clamped = n.clamp(lo as i64, hi as i64) as usize;
                if clamped as i64 != n {
                    warnings.push(format!("lines={n} is outside {lo}..={hi}; using {clamped}"));
                }
                clamped
            }
            Err(_) => {
                warnings.push(format!("lines={raw:?} is not a whole number; using {DEFAULT_LINES}"));
                DEFAULT_LINES
            }
        },
    };

    let fade_secs = match attr("fade") {
        None => DEFAULT_FADE_SECS,
        Some(raw) => match raw.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => {
                let (lo, hi) = FADE_RANGE;
                let clamped = n.clamp(lo, hi);
                if clamped != n {
                    warnings.push(format!("fade={n} is outside {lo}..={hi} seconds; using {clamped}"));
                }
                clamped
            }
            _ => {
                warnings.push(format!("fade={raw:?} is not a number; using {DEFAULT_FADE_SECS}"));
                DEFAULT_FADE_SECS
            }
        },
    };

    let position = match attr("position") {
        None => Position::default(),
        Some(raw) => Position::parse(&raw).unwrap_or_else(|| {
            warnings.push(format!("position={raw:?} is not top|bottom-left|center|right; using bottom-center"));
            Position::default()
        }),
    };

    let placement = match attr("placement").map(|p| p.trim().to_ascii_lowercase()) {
        None => Placement::Overlay,
        Some(p) if p == "overlay" => Placement::Overlay,
        Some(p) if p == "inline" => Placement::Inline,
        Some(p) => {
            warnings.push(format!("placement={p:?} is not overlay|inline; using overlay"));
            Placement::Overlay
        }
    };

    let config = Config {
        channel: channel.to_owned(),
        feed_url,
        lines,
        fade_secs,
        position,
        placement,
    };
    Ok((config, warnings))
}

/// `https://host/dir` → `wss://host/dir/feed/{channel}`. The URL is checked by
/// hand (no URL crate: bytes matter) and strictly: absolute http(s), a host,
/// no credentials, query, fragment, spaces or control characters.
pub fn feed_url(server: &str, channel: &str) -> Result<String, String> {
    let server = server.trim();
    let lower = server.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("https://") {
        ("wss://", &server[8..])
    } else if lower.starts_with("http://") {
        ("ws://", &server[7..])
    } else {
        return Err("it must start with http:// or https://".into());
    };
    if let Some(c) = rest
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "?#@\\\"<>`{}|^".contains(*c))
    {
        return Err(format!("it may not contain {c:?}"));
    }
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c));
    if !host_ok {
        return Err("it has no valid host".into());
    }
    let path = path.trim_end_matches('/');
    Ok(format!("{scheme}{host}{path}/feed/{channel}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Parsed {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(
            move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            "https://relay.test/cdn",
        )
    }

    #[test]
    fn defaults_with_only_a_channel() {
        let (c, warnings) = with(&[("channel", "demo")]).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(c.channel, "demo");
        assert_eq!(c.feed_url, "wss://relay.test/cdn/feed/demo");
        assert_eq!(c.lines, 3);
        assert_eq!(c.fade_secs, 8.0);
        assert_eq!(c.position, Position::default());
        assert_eq!(c.position.classes(), "bottom center");
        assert_eq!(c.placement, Placement::Overlay);
    }

    #[test]
    fn all_attributes_set() {
        let (c, warnings) = with(&[
            ("channel", " stream_2 "),
            ("server", "http://127.0.0.1:8080/"),
            ("lines", "5"),
            ("fade", "2.5"),
            ("position", "TOP-Right"),
            ("placement", "inline"),
        ])
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.feed_url, "ws://127.0.0.1:8080/feed/stream_2");
        assert_eq!((c.lines, c.fade_secs), (5, 2.5));
        assert_eq!(c.position.classes(), "top right");
        assert_eq!(c.placement, Placement::Inline);
    }

    #[test]
    fn missing_or_hostile_channels_are_errors() {
        for bad in ["", "   ", "Demo", "../x", "<script>", "a b", "demo?x=1", "\u{202e}demo"] {
            let err = with(&[("channel", bad)]).unwrap_err();
            assert!(matches!(err, ConfigError::Channel(_)), "{bad:?}");
            assert!(err.to_string().contains("channel"), "{err}");
        }
        assert!(matches!(with(&[]), Err(ConfigError::Channel(InvalidInput::Empty { .. }))));
    }

    #[test]
    fn hostile_servers_are_errors() {
        for bad in [
            "javascript:alert(1)",
            "ws://relay.test",
            "ftp://relay.test",
            "https://",
            "https:///path",
            "https://a b.test",
            "https://relay.test/?x=1",
            "https://relay.test/#x",
            "https://user:pw@relay.test",
            "https://relay.test/\u{0}",
            "//relay.test",
            "/relative",
            "https://<img>",
        ] {
            let err = with(&[("channel", "demo"), ("server", bad)]).unwrap_err();
            assert!(matches!(err, ConfigError::Server(_)), "{bad:?}");
        }
    }

    #[test]
    fn empty_server_means_base_and_bad_base_is_an_error() {
        let (c, _) = with(&[("channel", "demo"), ("server", " ")]).unwrap();
        assert_eq!(c.feed_url, "wss://relay.test/cdn/feed/demo");
        let err = parse(|n| (n == "channel").then(|| "demo".into()), "file:///x").unwrap_err();
        assert!(matches!(err, ConfigError::Server(_)));
    }

    #[test]
    fn numbers_clamp_with_warnings() {
        let cases = [
            ("lines", "0", 1usize, 8.0),
            ("lines", "-5", 1, 8.0),
            ("lines", "99999999999999999999", 3, 8.0),
            ("lines", "11", 10, 8.0),
            ("lines", "2.5", 3, 8.0),
            ("lines", "three", 3, 8.0),
            ("fade", "1", 3, 2.0),
            ("fade", "1e9", 3, 120.0),
            ("fade", "NaN", 3, 8.0),
            ("fade", "inf", 3, 8.0),
            ("fade", "", 3, 8.0),
        ];
        for (name, value, lines, fade) in cases {
            let (c, warnings) = with(&[("channel", "demo"), (name, value)]).unwrap();
            assert_eq!((c.lines, c.fade_secs), (lines, fade), "{name}={value}");
            assert_eq!(warnings.len(), 1, "{name}={value}: {warnings:?}");
        }
    }

    #[test]
    fn unknown_keywords_fall_back_with_warnings() {
        for (name, value) in [
            ("position", "middle"),
            ("position", "bottom"),
            ("position", "bottom-center-left"),
            ("position", "<b>"),
            ("placement", "floating"),
            ("placement", ""),
        ] {
            let (c, warnings) = with(&[("channel", "demo"), (name, value)]).unwrap();
            assert_eq!(c.position, Position::default());
            assert_eq!(c.placement, Placement::Overlay);
            assert_eq!(warnings.len(), 1, "{name}={value}");
        }
    }

    #[test]
    fn every_position_parses() {
        for v in ["top", "bottom"] {
            for h in ["left", "center", "right"] {
                let p = Position::parse(&format!("{v}-{h}")).unwrap();
                assert_eq!(p.classes(), format!("{v} {h}"));
            }
        }
    }
}
