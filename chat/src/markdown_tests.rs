use super::*;

fn plain(text: &str) -> String {
    format(text).plain
}

fn html(text: &str) -> Option<String> {
    format(text).html
}

#[test]
fn plain_sentences_stay_plain() {
    for text in [
        "hello there",
        "it's 5 > 3 & 2 < 4",
        "line one\nline two",
        "ünïcødé 🎶",
    ] {
        let f = format(text);
        assert_eq!(f.plain, text);
        assert_eq!(f.html, None, "{text}");
    }
}

#[test]
fn emphasis_is_formatted_and_read_without_marks() {
    let f = format("**hello** from _ada_ and ~~nobody~~");
    assert_eq!(f.plain, "hello from ada and nobody");
    assert_eq!(
        f.html.as_deref(),
        Some("<strong>hello</strong> from <em>ada</em> and <del>nobody</del>")
    );
}

#[test]
fn code_keeps_its_text() {
    assert_eq!(plain("run `cargo test` now"), "run cargo test now");
    assert_eq!(
        html("run `cargo test` now").as_deref(),
        Some("run <code>cargo test</code> now")
    );
    let block = "see:\n\n```\nfn main() {}\n```";
    assert_eq!(plain(block), "see:\n\nfn main() {}");
    assert!(html(block)
        .unwrap()
        .contains("<pre><code>fn main() {}\n</code></pre>"));
}

#[test]
fn links_show_where_they_point() {
    assert_eq!(
        plain("the [schedule](https://example.org/s) is up"),
        "the schedule (https://example.org/s) is up"
    );
    assert_eq!(plain("<https://example.org>"), "https://example.org");
    assert_eq!(plain("<ada@example.org>"), "ada@example.org");
    assert_eq!(
        html("[s](https://example.org/s)").as_deref(),
        Some(r#"<a href="https://example.org/s">s</a>"#)
    );
}

#[test]
fn images_become_links() {
    let f = format("![a cat](https://example.org/cat.png)");
    assert_eq!(f.plain, "a cat (https://example.org/cat.png)");
    let html = f.html.unwrap();
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains(r#"<a href="https://example.org/cat.png">a cat</a>"#),
        "{html}"
    );
}

#[test]
fn lists_and_quotes_read_line_by_line() {
    assert_eq!(
        plain("tonight:\n\n- techno\n- house"),
        "tonight:\n• techno\n• house"
    );
    assert_eq!(plain("3. three\n4. four"), "3. three\n4. four");
    assert_eq!(plain("> quoted\n\nreply"), "> quoted\n\nreply");
    let html = html("- a\n- b").unwrap();
    assert_eq!(html, "<ul>\n<li>a</li>\n<li>b</li>\n</ul>");
}

#[test]
fn paragraphs_are_kept_apart() {
    let f = format("one\n\ntwo");
    assert_eq!(f.plain, "one\n\ntwo");
    assert_eq!(f.html.as_deref(), Some("<p>one</p>\n<p>two</p>"));
}

#[test]
fn typed_html_is_text_never_markup() {
    for text in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "hi <b onclick=x>there</b>",
        "<div>\n<iframe src=//evil></iframe>\n</div>",
    ] {
        let f = format(text);
        assert_eq!(f.plain, text, "the plain body is what was typed");
        let html = f.html.unwrap_or_default();
        for tag in ["<script", "<img", "<b ", "<iframe", "<div"] {
            assert!(!html.contains(tag), "{html}");
        }
    }
    assert_eq!(
        html("**bold** <b>x</b>").as_deref(),
        Some("<strong>bold</strong> &lt;b&gt;x&lt;/b&gt;")
    );
}

#[test]
fn escapes_are_read() {
    let f = format(r"\*not bold\*");
    assert_eq!(f.plain, "*not bold*");
    assert_eq!(f.html.as_deref(), Some("*not bold*"));
}

#[test]
fn headings_and_rules() {
    assert_eq!(
        plain("# Set list\n\n---\n\nnext"),
        "Set list\n\n———\n\nnext"
    );
}
