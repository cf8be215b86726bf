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
    /// The relay's `http(s)://` base URL, without a trailing slash: where
    /// thumbnails load from (`{server}/media/…`).
    pub server: String,
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
    let server = server_url(server).map_err(ConfigError::Server)?;
    // `http…` → `ws…`: "https://h" → "wss://h", "http://h" → "ws://h".
    let feed_url = format!("ws{}/feed/{channel}", server.get(4..).unwrap_or_default());

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
        server,
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

/// ` HTTPS://host/dir/ ` → `https://host/dir`. The URL is checked by hand
/// (no URL crate: bytes matter) and strictly: absolute http(s), a host, no
/// credentials, query, fragment, spaces or control characters.
pub fn server_url(server: &str) -> Result<String, String> {
    let server = server.trim();
    let lower = server.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("https://") {
        ("https://", server.get(8..).unwrap_or_default())
    } else if lower.starts_with("http://") {
        ("http://", server.get(7..).unwrap_or_default())
    } else {
        return Err("it must start with http:// or https://".into());
    };
    // `matches!` rather than `"…".contains(c)`: the str search cost 0.7 KB
    // of compressed wasm.
    let refused = |c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '?' | '#' | '@' | '\\' | '"' | '<' | '>' | '`' | '{' | '}' | '|' | '^'
            )
    };
    if let Some(c) = rest.chars().find(|c| refused(*c)) {
        // U+XXXX rather than `{:?}`, which would pull Unicode tables in.
        return Err(format!("it may not contain U+{:04X}", u32::from(c)));
    }
    // `split_once` rather than `split_at`: no panicking path, whose message
    // formatting (char boundaries, `{:?}` of a char) cost 3.4 KB of
    // compressed wasm.
    let (host, path) = match rest.split_once('/') {
        Some((host, path)) => (host, path),
        None => (rest, ""),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'));
    if !host_ok {
        return Err("it has no valid host".into());
    }
    let path = path.trim_end_matches('/');
    let slash = if path.is_empty() { "" } else { "/" };
    Ok(format!("{scheme}{host}{slash}{path}"))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
