use super::sanitize;

fn clean(html: &str) -> String {
    sanitize(html).unwrap_or_default()
}

#[test]
fn allowed_markup_stays() {
    assert_eq!(
        clean("<b>bold</b> and <em>em</em>"),
        "<b>bold</b> and <em>em</em>"
    );
    assert_eq!(
        clean(r##"<font data-mx-color="#ff00aa">pink</font>"##),
        r##"<font data-mx-color="#ff00aa">pink</font>"##
    );
    assert_eq!(
        clean(r#"<code class="language-rust">fn main() {}</code>"#),
        r#"<code class="language-rust">fn main() {}</code>"#
    );
    assert_eq!(
        clean(r#"<a href="https://example.org/x">x</a>"#),
        r#"<a href="https://example.org/x" rel="noopener noreferrer nofollow">x</a>"#
    );
    assert_eq!(
        clean(r#"<img src="mxc://example.org/abc" alt="cat">"#),
        r#"<img src="mxc://example.org/abc" alt="cat">"#
    );
}

#[test]
fn scripts_and_handlers_go() {
    for (dirty, expected) in [
        ("<script>alert(1)</script>hi", "hi"),
        ("<style>*{display:none}</style>hi", "hi"),
        (r#"<b onclick="alert(1)">x</b>"#, "<b>x</b>"),
        (
            r#"<img src="mxc://a/b" onerror="alert(1)">"#,
            r#"<img src="mxc://a/b">"#,
        ),
        (
            r#"<a href="javascript:alert(1)">x</a>"#,
            r#"<a rel="noopener noreferrer nofollow">x</a>"#,
        ),
        (
            r#"<a href="JaVaScRiPt:alert(1)">x</a>"#,
            r#"<a rel="noopener noreferrer nofollow">x</a>"#,
        ),
        (
            r#"<a href="data:text/html,<script>alert(1)</script>">x</a>"#,
            r#"<a rel="noopener noreferrer nofollow">x</a>"#,
        ),
        (r#"<img src="https://evil.example/track.png">"#, "<img>"),
        (
            r#"<img src="data:image/svg+xml,<svg onload=alert(1)>">"#,
            "<img>",
        ),
        (r#"<iframe src="https://evil.example"></iframe>ok"#, "ok"),
        (
            r#"<span style="position:fixed;inset:0">x</span>"#,
            "<span>x</span>",
        ),
        (
            r#"<font color="red;background:url(x)">x</font>"#,
            "<font>x</font>",
        ),
        (
            r#"<a href="/relative">x</a>"#,
            r#"<a rel="noopener noreferrer nofollow">x</a>"#,
        ),
        (
            r#"<a href="mxc://a/b">x</a>"#,
            r#"<a rel="noopener noreferrer nofollow">x</a>"#,
        ),
        (
            r#"<a target="_top" href="https://e.org">x</a>"#,
            r#"<a rel="noopener noreferrer nofollow" href="https://e.org">x</a>"#,
        ),
    ] {
        assert_eq!(clean(dirty), expected, "for {dirty}");
    }
}

#[test]
fn mutation_tricks_and_broken_markup_end_inert() {
    // Namespace confusion (mXSS): SVG/MathML content and <style> inside them
    // must not come back out as live markup.
    for dirty in [
        "<svg><style><img src=x onerror=alert(1)></style></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
        "<img src=x onerror=alert(1)//",
        "<b><i>unclosed",
        "<<script>script>alert(1)<</script>/script>",
        "<!-- <img src=x onerror=alert(1)> -->",
        "<mx-reply><blockquote>quoted <img src=x onerror=alert(1)></blockquote></mx-reply>answer",
    ] {
        let out = clean(dirty);
        let lower = out.to_ascii_lowercase();
        for bad in [
            "onerror",
            "<script",
            "<style",
            "<svg",
            "<math",
            "javascript:",
            "<!--",
            "src=x",
        ] {
            assert!(
                !lower.contains(bad),
                "{dirty:?} → {out:?} still holds {bad}"
            );
        }
        // Idempotent: cleaning the output changes nothing (no mutation left).
        assert_eq!(clean(&out), out, "not stable for {dirty:?}");
    }
    assert_eq!(clean("<b><i>unclosed"), "<b><i>unclosed</i></b>");
    assert_eq!(clean("<mx-reply>quote</mx-reply>answer"), "answer");
}

#[test]
fn nothing_visible_is_none() {
    assert_eq!(sanitize("<script>x</script>"), None);
    assert_eq!(sanitize("   "), None);
    assert_eq!(sanitize("<p> </p>").as_deref(), Some("<p> </p>"));
}
