//! What a typed post becomes on Matrix: the plain `body` every client and the
//! captions show, and, when the viewer used markdown, a `formatted_body`.
//!
//! Markdown (CommonMark plus ~~strikethrough~~) is read by pulldown-cmark.
//! The plain body is the text as a person reads it (no `**`, links as
//! "text (address)", list items on their own lines), not the markdown
//! source: captions and clients without HTML show it as is. Raw HTML in
//! what was typed is text, escaped, never markup. Plain Rust, tested natively.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// A post ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatted {
    /// The message as plain text (Matrix `body`).
    pub plain: String,
    /// The message as HTML (Matrix `formatted_body`), only when the markdown
    /// formatted something: a plain sentence is sent as plain text.
    pub html: Option<String>,
}

/// Reads `text` as markdown.
pub fn format(text: &str) -> Formatted {
    let events: Vec<Event<'_>> = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH)
        .map(|event| match event {
            // Typed HTML is shown as typed, never interpreted.
            Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
            // A line break typed is a line break shown (as Matrix clients do).
            Event::SoftBreak => Event::HardBreak,
            // Images would load from anywhere: a link to them instead.
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }),
            Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
            other => other,
        })
        .collect();
    let plain = plain_text(&events);
    let html = (formats(&events) || plain != text.trim()).then(|| {
        let mut html = String::with_capacity(text.len() * 2);
        pulldown_cmark::html::push_html(&mut html, events.into_iter());
        strip_single_paragraph(html.trim_end())
    });
    Formatted { plain, html }
}

/// Whether the events hold anything but one paragraph of text and breaks.
fn formats(events: &[Event<'_>]) -> bool {
    let mut paragraphs = 0;
    for event in events {
        match event {
            Event::Start(Tag::Paragraph) => paragraphs += 1,
            Event::End(TagEnd::Paragraph) | Event::Text(_) | Event::HardBreak => {}
            _ => return true,
        }
    }
    paragraphs > 1
}

/// `<p>one paragraph</p>` as Matrix clients send it: without the `<p>`.
fn strip_single_paragraph(html: &str) -> String {
    match html
        .strip_prefix("<p>")
        .and_then(|h| h.strip_suffix("</p>"))
    {
        Some(inner) if !inner.contains("<p>") => inner.to_owned(),
        _ => html.to_owned(),
    }
}

/// The text a person reads, without markdown's marks.
fn plain_text(events: &[Event<'_>]) -> String {
    let mut out = String::new();
    // For each open list: the next number (ordered) or None (bullets).
    let mut lists: Vec<Option<u64>> = Vec::new();
    // Where each open link's text starts in `out`, and where it points.
    let mut links: Vec<(usize, CowStr<'_>)> = Vec::new();
    for event in events {
        match event {
            Event::Text(s) | Event::Code(s) => out.push_str(s),
            Event::HardBreak => out.push('\n'),
            Event::Rule => {
                block_break(&mut out, 2);
                out.push_str("———");
            }
            Event::Start(tag) => match tag {
                Tag::Paragraph => block_break(&mut out, if lists.is_empty() { 2 } else { 1 }),
                Tag::Heading { .. } | Tag::CodeBlock(_) => block_break(&mut out, 2),
                Tag::BlockQuote(_) => {
                    block_break(&mut out, 2);
                    out.push_str("> ");
                }
                Tag::List(first) => {
                    block_break(&mut out, 1);
                    lists.push(*first);
                }
                Tag::Item => {
                    block_break(&mut out, 1);
                    match lists.last_mut() {
                        Some(Some(n)) => {
                            out.push_str(&format!("{n}. "));
                            *n += 1;
                        }
                        _ => out.push_str("• "),
                    }
                }
                Tag::Link { dest_url, .. } => links.push((out.len(), dest_url.clone())),
                _ => {}
            },
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::End(TagEnd::Link) => {
                if let Some((start, dest)) = links.pop() {
                    let shown = out[start..].trim();
                    if shown.is_empty() {
                        out.push_str(&dest);
                    } else if shown != dest.as_ref() && !dest.ends_with(&format!(":{shown}")) {
                        out.push_str(&format!(" ({dest})"));
                    }
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                while out.ends_with('\n') {
                    out.pop();
                }
            }
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// Ends the text so far with `newlines` line breaks (none at the start).
fn block_break(out: &mut String, newlines: usize) {
    if out.is_empty() || out.ends_with("> ") {
        return;
    }
    let have = out.len() - out.trim_end_matches('\n').len();
    for _ in have..newlines {
        out.push('\n');
    }
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;
