//! The allow-list for formatted messages, checked again in the browser.
//!
//! The relay already sanitised every `html` it sends (relay/src/html.rs);
//! the chat does not trust that alone. It parses the HTML into an inert
//! document (no scripts run, nothing loads) and builds new DOM nodes from it
//! by these rules, never assigning HTML to the live page: a tag not listed
//! here is unwrapped (its text kept) or dropped with its content, and only
//! the attributes below survive. Plain Rust; the DOM walk is `render`.

/// Deepest nesting rendered; deeper content is flattened to its text.
pub const MAX_DEPTH: usize = 16;
/// Most nodes built for one message; the rest is left out.
pub const MAX_NODES: usize = 2000;

/// What to do with an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Build this element (the name to create, lower case).
    Keep(&'static str),
    /// Leave the element out but keep its content.
    Unwrap,
    /// Leave the element and everything in it out.
    Drop,
}

/// The rule for an element of this (any case) name.
pub fn tag_rule(name: &str) -> Tag {
    const KEEP: [&str; 21] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "del",
        "s",
        "strike",
        "code",
        "pre",
        "blockquote",
        "p",
        "br",
        "ul",
        "ol",
        "li",
        "a",
        "sup",
        "sub",
        "hr",
        "span",
    ];
    let name = name.to_ascii_lowercase();
    if let Some(keep) = KEEP.iter().find(|k| **k == name) {
        return Tag::Keep(keep);
    }
    match name.as_str() {
        // Headings would shout over a chat: shown as bold text.
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => Tag::Keep("strong"),
        "script" | "style" | "template" | "iframe" | "object" | "embed" | "svg" | "math"
        | "noscript" | "textarea" | "select" | "img" | "video" | "audio" | "picture"
        | "mx-reply" => Tag::Drop,
        _ => Tag::Unwrap,
    }
}

/// A link target that may be followed: `http:`, `https:` or `mailto:`
/// (any case, surrounding white space ignored), else `None`.
pub fn safe_href(href: &str) -> Option<&str> {
    let href = href.trim();
    let scheme_end = href.find(':')?;
    let scheme = href[..scheme_end].to_ascii_lowercase();
    matches!(scheme.as_str(), "http" | "https" | "mailto").then_some(href)
}

/// An ordered list's `start`, if it is a sensible number.
pub fn safe_start(start: &str) -> Option<u32> {
    start.trim().parse::<u32>().ok().filter(|n| *n < 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(tag_rule("STRONG"), Tag::Keep("strong"));
        assert_eq!(tag_rule("a"), Tag::Keep("a"));
        assert_eq!(tag_rule("h1"), Tag::Keep("strong"));
        for drop in [
            "script", "SCRIPT", "style", "iframe", "img", "svg", "mx-reply",
        ] {
            assert_eq!(tag_rule(drop), Tag::Drop, "{drop}");
        }
        for unwrap in [
            "div", "font", "table", "td", "details", "marquee", "x-custom", "body",
        ] {
            assert_eq!(tag_rule(unwrap), Tag::Unwrap, "{unwrap}");
        }
    }

    #[test]
    fn hrefs() {
        assert_eq!(
            safe_href(" https://example.org/a?b "),
            Some("https://example.org/a?b")
        );
        assert_eq!(safe_href("HTTP://x"), Some("HTTP://x"));
        assert_eq!(safe_href("mailto:a@b"), Some("mailto:a@b"));
        for bad in [
            "javascript:alert(1)",
            " JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "vbscript:x",
            "//evil.example",
            "/relative",
            "",
            "file:///etc/passwd",
        ] {
            assert_eq!(safe_href(bad), None, "{bad}");
        }
        assert_eq!(safe_start("3"), Some(3));
        assert_eq!(safe_start("-1"), None);
        assert_eq!(safe_start("99999999999"), None);
    }
}
