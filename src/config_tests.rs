//! Attributes in, `Config` (or an error) out.

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
    assert_eq!(c.server, "https://relay.test/cdn");
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
    assert_eq!(c.server, "http://127.0.0.1:8080");
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
fn the_scheme_is_normalised_and_the_path_kept() {
    for (given, server, feed) in [
        (
            "HTTPS://Relay.test/",
            "https://Relay.test",
            "wss://Relay.test/feed/demo",
        ),
        (
            "Http://[::1]:8080//",
            "http://[::1]:8080",
            "ws://[::1]:8080/feed/demo",
        ),
        (
            " https://relay.test/chat/ ",
            "https://relay.test/chat",
            "wss://relay.test/chat/feed/demo",
        ),
    ] {
        let (c, _) = with(&[("channel", "demo"), ("server", given)]).unwrap();
        assert_eq!((c.server.as_str(), c.feed_url.as_str()), (server, feed));
    }
}

#[test]
fn channel_errors_say_what_is_wrong() {
    let text = |v: &str| with(&[("channel", v)]).unwrap_err().to_string();
    assert!(text("").contains("missing"));
    assert!(text(&"a".repeat(65)).contains("longer than 64"));
    assert!(text("a\u{202e}b").contains("U+202E"));
}
