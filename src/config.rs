//! The element's attributes turned into a checked [`Config`].
//!
//! Attributes come from any page that embeds the widget, so every value is
//! treated as hostile: numbers are clamped, unknown keywords fall back to the
//! default (with a warning), and only an unusable channel or server is an
//! error, because without them there is nothing sensible to show.

use chyron_protocol::{validate_channel, InvalidInput};
use std::fmt;

pub use crate::layout::{placement, Horizontal, Placement, Position, Vertical};

/// Caption lines shown at once, when the page does not say.
pub const DEFAULT_LINES: usize = 3;
/// Milliseconds a caption stays, when the page does not say (`fade="8"`).
pub const DEFAULT_FADE_MS: u32 = 8_000;
const LINES_RANGE: (usize, usize) = (1, 10);
/// `fade` bounds, in milliseconds (2 to 120 seconds).
const FADE_RANGE: (u32, u32) = (2_000, 120_000);

/// Everything the widget needs to know about where and how to show a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The validated channel name.
    pub channel: String,
    /// `ws(s)://…/feed/{channel}`, without a query.
    pub feed_url: String,
    /// Most caption lines shown at once.
    pub lines: usize,
    /// Milliseconds a caption stays before it is removed (`fade` is given
    /// in seconds; whole milliseconds keep float formatting out of the wasm).
    pub fade_ms: u32,
    /// Which edge and side of the video the captions sit at.
    pub position: Position,
    /// Over the video, or in the page flow beside it.
    pub placement: Placement,
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
            ConfigError::Channel(e) => {
                // Own wording rather than `InvalidInput`'s, whose `{:?}` of a
                // char would pull Unicode escaping tables into the wasm.
                let why = match e {
                    InvalidInput::Empty { .. } => "it is missing".to_owned(),
                    InvalidInput::TooLong { max, .. } => format!("it is longer than {max} bytes"),
                    InvalidInput::BadCharacter { found, .. } => {
                        format!("it may not contain U+{:04X}", u32::from(*found))
                    }
                };
                write!(
                    f,
                    "Captions unavailable: invalid channel name ({why}; use a-z, 0-9, - and _)."
                )
            }
            ConfigError::Server(why) => {
                write!(f, "Captions unavailable: invalid server URL ({why}).")
            }
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
                    ignored(
                        &mut warnings,
                        "lines",
                        &raw,
                        "is outside 1..=10",
                        clamped as u32,
                    );
                }
                clamped
            }
            Err(_) => {
                ignored(&mut warnings, "lines", &raw, "is not a whole number", 3);
                DEFAULT_LINES
            }
        },
    };

    let fade_ms = match attr("fade") {
        None => DEFAULT_FADE_MS,
        Some(raw) => match parse_seconds_as_ms(&raw) {
            Some(ms) => {
                let (lo, hi) = FADE_RANGE;
                let clamped = ms.clamp(u64::from(lo), u64::from(hi)) as u32;
                if u64::from(clamped) != ms {
                    let secs = clamped / 1000;
                    ignored(
                        &mut warnings,
                        "fade",
                        &raw,
                        "is outside 2..=120 seconds",
                        secs,
                    );
                }
                clamped
            }
            None => {
                ignored(&mut warnings, "fade", &raw, "is not a number of seconds", 8);
                DEFAULT_FADE_MS
            }
        },
    };

    let position = match attr("position") {
        None => Position::default(),
        Some(raw) => Position::parse(&raw).unwrap_or_else(|| {
            let rule = "is not top|bottom-left|center|right";
            ignored(&mut warnings, "position", &raw, rule, "bottom-center");
            Position::default()
        }),
    };

    let raw_placement = attr("placement");
    let placement = placement(raw_placement.as_deref()).unwrap_or_else(|| {
        let raw = raw_placement.as_deref().unwrap_or_default();
        ignored(
            &mut warnings,
            "placement",
            raw,
            "is not overlay|inline",
            "overlay",
        );
        Placement::Overlay
    });

    let config = Config {
        channel: channel.to_owned(),
        feed_url,
        lines,
        fade_ms,
        position,
        placement,
    };
    Ok((config, warnings))
}

/// Notes an attribute value that was replaced. One formatting site for all
/// of them: every `format!` costs wasm bytes.
fn ignored(
    warnings: &mut Vec<String>,
    name: &str,
    raw: &str,
    rule: &str,
    using: impl fmt::Display,
) {
    warnings.push(format!("{name}=\"{raw}\" {rule}; using {using}"));
}

/// Parses a plain decimal number of seconds (`8`, `2.5`) into whole
/// milliseconds. Exponents, signs and words are refused; this stays clear of
/// the standard float parser and its tables, which would cost wasm bytes.
fn parse_seconds_as_ms(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    // Saturate: a huge number is clamped later anyway.
    let mut ms: u64 = 0;
    for b in whole.bytes() {
        ms = ms.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    ms = ms.saturating_mul(1000);
    let mut scale = 100;
    for b in frac.bytes().take(3) {
        ms = ms.saturating_add(u64::from(b - b'0') * scale);
        scale /= 10;
    }
    Some(ms)
}

/// `https://host/dir` → `wss://host/dir/feed/{channel}`. The URL is checked by
/// hand (no URL crate: bytes matter) and strictly: absolute http(s), a host,
/// no credentials, query, fragment, spaces or control characters.
pub fn feed_url(server: &str, channel: &str) -> Result<String, String> {
    let server = server.trim();
    let lower = server.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("https://") {
        ("wss://", server.get(8..).unwrap_or_default())
    } else if lower.starts_with("http://") {
        ("ws://", server.get(7..).unwrap_or_default())
    } else {
        return Err("it must start with http:// or https://".into());
    };
    if let Some(c) = rest
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "?#@\\\"<>`{}|^".contains(*c))
    {
        // U+XXXX rather than `{:?}`, which would pull Unicode tables in.
        return Err(format!("it may not contain U+{:04X}", u32::from(c)));
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
            move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            },
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
        assert_eq!(c.fade_ms, 8000);
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
        assert_eq!((c.lines, c.fade_ms), (5, 2500));
        assert_eq!(c.position.classes(), "top right");
        assert_eq!(c.placement, Placement::Inline);
    }

    #[test]
    fn missing_or_hostile_channels_are_errors() {
        for bad in [
            "",
            "   ",
            "Demo",
            "../x",
            "<script>",
            "a b",
            "demo?x=1",
            "\u{202e}demo",
        ] {
            let err = with(&[("channel", bad)]).unwrap_err();
            assert!(matches!(err, ConfigError::Channel(_)), "{bad:?}");
            assert!(err.to_string().contains("channel"), "{err}");
        }
        assert!(matches!(
            with(&[]),
            Err(ConfigError::Channel(InvalidInput::Empty { .. }))
        ));
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
            ("lines", "0", 1usize, 8000),
            ("lines", "-5", 1, 8000),
            ("lines", "99999999999999999999", 3, 8000),
            ("lines", "11", 10, 8000),
            ("lines", "2.5", 3, 8000),
            ("lines", "three", 3, 8000),
            ("fade", "1", 3, 2000),
            ("fade", "1.9999", 3, 2000),
            ("fade", "121", 3, 120_000),
            ("fade", "99999999999999999999999", 3, 120_000),
            ("fade", "1e9", 3, 8000),
            ("fade", "-3", 3, 8000),
            ("fade", "NaN", 3, 8000),
            ("fade", "inf", 3, 8000),
            ("fade", "", 3, 8000),
            ("fade", ".", 3, 8000),
            ("fade", "1.2.3", 3, 8000),
        ];
        for (name, value, lines, fade) in cases {
            let (c, warnings) = with(&[("channel", "demo"), (name, value)]).unwrap();
            assert_eq!((c.lines, c.fade_ms), (lines, fade), "{name}={value}");
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
    fn fade_accepts_plain_decimals() {
        for (raw, ms) in [
            ("8", 8000),
            (" 2.5 ", 2500),
            ("10.", 10_000),
            (".5", 500),
            ("3.14159", 3141),
        ] {
            assert_eq!(parse_seconds_as_ms(raw), Some(ms), "{raw}");
        }
        let (c, warnings) = with(&[("channel", "demo"), ("fade", "12.25")]).unwrap();
        assert_eq!((c.fade_ms, warnings.len()), (12_250, 0));
    }

    #[test]
    fn channel_errors_say_what_is_wrong() {
        let text = |v: &str| with(&[("channel", v)]).unwrap_err().to_string();
        assert!(text("").contains("missing"));
        assert!(text(&"a".repeat(65)).contains("longer than 64"));
        assert!(text("a\u{202e}b").contains("U+202E"));
    }
}
