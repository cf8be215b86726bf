//! Sanitising chat HTML (a Matrix event's `formatted_body`) to the allow-list
//! the Matrix client-server spec gives for `org.matrix.custom.html`, with
//! ammonia. Whatever comes out is safe to put into a page as HTML: no script,
//! no event handler, no style, no URL but the schemes listed, images only from
//! `mxc://` (which the relay proxies; never fetched from arbitrary hosts).
//!
//! The relay keeps the plain `body` as the text every viewer sees; this HTML
//! is carried beside it for clients that render rich text. [`escape`] turns
//! plain text into HTML (the overlay page, messages the bridge sends).

use ammonia::{Builder, UrlRelative};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Tags the Matrix spec permits in `formatted_body`.
const TAGS: &[&str] = &[
    "font",
    "del",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "p",
    "a",
    "ul",
    "ol",
    "sup",
    "sub",
    "li",
    "b",
    "i",
    "u",
    "strong",
    "em",
    "s",
    "code",
    "hr",
    "br",
    "div",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
    "pre",
    "span",
    "img",
    "details",
    "summary",
];

/// Attributes the spec permits, per tag. `rel` on links is set by us.
const TAG_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("font", &["data-mx-bg-color", "data-mx-color", "color"]),
    (
        "span",
        &["data-mx-bg-color", "data-mx-color", "data-mx-spoiler"],
    ),
    ("a", &["name", "target", "href"]),
    ("img", &["width", "height", "alt", "title", "src"]),
    ("ol", &["start"]),
];

/// Link schemes the spec permits, plus `mxc` for images.
const URL_SCHEMES: &[&str] = &["http", "https", "ftp", "mailto", "magnet", "mxc"];

/// Elements dropped with everything inside them: reply fallbacks (the relay
/// shows replies its own way) and anything executable or styling.
const DROP_WITH_CONTENT: &[&str] = &["mx-reply", "script", "style", "template", "svg", "math"];

static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut b = Builder::empty();
    b.tags(TAGS.iter().copied().collect())
        .tag_attributes(
            TAG_ATTRIBUTES
                .iter()
                .map(|(tag, attrs)| (*tag, attrs.iter().copied().collect::<HashSet<_>>()))
                .collect::<HashMap<_, _>>(),
        )
        .allowed_classes(HashMap::from([("code", code_classes())]))
        .url_schemes(URL_SCHEMES.iter().copied().collect())
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean_content_tags(DROP_WITH_CONTENT.iter().copied().collect())
        .strip_comments(true)
        .attribute_filter(filter_attribute);
    b
});

/// `language-*` classes on `<code>` (syntax highlighting hints), for the
/// languages clients commonly highlight.
fn code_classes() -> HashSet<&'static str> {
    [
        "language-rust",
        "language-js",
        "language-javascript",
        "language-ts",
        "language-typescript",
        "language-python",
        "language-go",
        "language-c",
        "language-cpp",
        "language-java",
        "language-json",
        "language-toml",
        "language-yaml",
        "language-html",
        "language-css",
        "language-bash",
        "language-sh",
        "language-sql",
        "language-diff",
        "language-markdown",
    ]
    .into_iter()
    .collect()
}

/// Values the allow-list alone cannot judge: image sources must be `mxc://`,
/// links may not be `mxc://`, colours must be `#rrggbb`, sizes and list starts
/// must be small numbers, and `target` may only open a new tab.
fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    let ok = match (element, attribute) {
        ("img", "src") => value.starts_with("mxc://"),
        ("a", "href") => !value.starts_with("mxc:"),
        ("a", "target") => value == "_blank",
        (_, "data-mx-color" | "data-mx-bg-color" | "color") => is_hex_colour(value),
        ("img", "width" | "height") => value.parse::<u16>().is_ok_and(|n| n <= 4096),
        ("ol", "start") => value.parse::<u32>().is_ok(),
        _ => true,
    };
    ok.then_some(Cow::Borrowed(value))
}

fn is_hex_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// The HTML made safe; `None` when nothing visible is left.
pub fn sanitize(html: &str) -> Option<String> {
    let clean = SANITIZER.clean(html).to_string();
    (!clean.trim().is_empty()).then_some(clean)
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
