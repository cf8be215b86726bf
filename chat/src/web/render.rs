//! Formatted messages into DOM nodes, by [`crate::rich`]'s allow-list.
//!
//! The HTML is parsed by `DOMParser` into a separate, inert document
//! (scripts never run there and nothing loads), then walked: each allowed
//! element is created anew in the page's document with only its allowed
//! attributes, text is copied as text nodes. Nothing is ever assigned as
//! HTML to the live page.

use crate::rich::{safe_href, safe_start, tag_rule, Tag, MAX_DEPTH, MAX_NODES};
use wasm_bindgen::JsCast;
use web_sys::{Document, DomParser, Element, Node, SupportedType};

/// Builds `html`'s allowed content into `into` (emptied first). Returns
/// false if it could not be parsed; the caller then shows the plain body.
pub fn render(html: &str, into: &Element) -> bool {
    let Some(live) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    let Ok(parser) = DomParser::new() else {
        return false;
    };
    let Ok(parsed) = parser.parse_from_string(html, SupportedType::TextHtml) else {
        return false;
    };
    let Some(body) = parsed.body() else {
        return false;
    };
    into.set_text_content(None);
    let mut budget = MAX_NODES;
    copy_children(&live, &body, into, 0, &mut budget);
    true
}

fn copy_children(live: &Document, from: &Node, to: &Node, depth: usize, budget: &mut usize) {
    let children = from.child_nodes();
    for i in 0..children.length() {
        if *budget == 0 {
            return;
        }
        let Some(child) = children.item(i) else {
            continue;
        };
        *budget -= 1;
        match child.node_type() {
            Node::TEXT_NODE => {
                let text = child.text_content().unwrap_or_default();
                let _ = to.append_child(&live.create_text_node(&text));
            }
            Node::ELEMENT_NODE => {
                let element: Element = child.unchecked_into();
                copy_element(live, &element, to, depth, budget);
            }
            // Comments, processing instructions, CDATA: left out.
            _ => {}
        }
    }
}

fn copy_element(live: &Document, element: &Element, to: &Node, depth: usize, budget: &mut usize) {
    let rule = tag_rule(&element.tag_name());
    let name = match rule {
        Tag::Drop => return,
        Tag::Keep(name) if depth < MAX_DEPTH => name,
        // Too deep, or not allowed: its content, flattened in place.
        _ => {
            copy_children(live, element, to, depth + 1, budget);
            return;
        }
    };
    let Ok(copy) = live.create_element(name) else {
        return;
    };
    match name {
        "a" => {
            if let Some(href) = element.get_attribute("href").as_deref().and_then(safe_href) {
                let _ = copy.set_attribute("href", href);
                let _ = copy.set_attribute("target", "_blank");
                let _ = copy.set_attribute("rel", "noopener noreferrer nofollow ugc");
            }
        }
        "ol" => {
            if let Some(start) = element
                .get_attribute("start")
                .as_deref()
                .and_then(safe_start)
            {
                let _ = copy.set_attribute("start", &start.to_string());
            }
        }
        _ => {}
    }
    copy_children(live, element, &copy, depth + 1, budget);
    let _ = to.append_child(&copy);
}
