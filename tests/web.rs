//! The real widget in headless Chrome: mounted into a real shadow root and
//! driven by frames pushed directly (no websocket), asserting the DOM.
#![cfg(target_arch = "wasm32")]

use chyron::{mount, FrameSource, Widget};
use chyron_protocol::{Message, ServerFrame, Snapshot, SnapshotReason, Source};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, ShadowRoot, ShadowRootInit, ShadowRootMode};

wasm_bindgen_test_configure!(run_in_browser);

/// Attachments, renames, the Matrix link's status line, and decoding their
/// frames from `JSON.parse` output.
#[path = "web/rich.rs"]
mod rich;

/// Senders' pictures: from the relay only, following profile changes.
#[path = "web/avatars.rs"]
mod avatars;

/// The feed socket embed.js opened while the wasm loaded: adopted or closed.
#[path = "web/early.rs"]
mod early;

/// The captions' side of the full chat: its button, modes and mutes.
#[path = "web/chat_hooks.rs"]
mod chat_hooks;

struct Mounted {
    host: HtmlElement,
    shadow: ShadowRoot,
    widget: Widget,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.widget.unmount();
        self.host.remove();
    }
}

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn setup(attrs: &[(&str, &str)]) -> Mounted {
    setup_with(attrs, FrameSource::Manual)
}

fn setup_with(attrs: &[(&str, &str)], source: FrameSource) -> Mounted {
    let host: HtmlElement = document()
        .create_element("chyron-chat")
        .unwrap()
        .unchecked_into();
    for (name, value) in attrs {
        host.set_attribute(name, value).unwrap();
    }
    document().body().unwrap().append_child(&host).unwrap();
    let shadow = host
        .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
        .unwrap();
    let widget = mount(&host, &shadow, "http://127.0.0.1:9", source);
    Mounted {
        host,
        shadow,
        widget,
    }
}

/// Lets Leptos run its (asynchronous) render effects.
async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 20)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn all(shadow: &ShadowRoot, selector: &str) -> Vec<Element> {
    let list = shadow.query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

fn texts(shadow: &ShadowRoot, selector: &str) -> Vec<String> {
    all(shadow, selector)
        .iter()
        .map(|e| e.text_content().unwrap_or_default())
        .collect()
}

fn msg(id: &str, sender: &str, body: &str) -> Message {
    Message {
        id: id.into(),
        sender: sender.into(),
        sender_id: sender.to_lowercase(),
        body: body.into(),
        ts: 0,
        edited: false,
        source: Source::Api,
        html: None,
        media: None,
        avatar: None,
        event_id: None,
    }
}

fn message(seq: u64, id: &str, sender: &str, body: &str) -> ServerFrame {
    ServerFrame::Message {
        seq,
        message: msg(id, sender, body),
    }
}

fn initial(messages: Vec<Message>) -> ServerFrame {
    ServerFrame::Snapshot(Snapshot {
        channel: "t".into(),
        epoch: "e1".into(),
        seq: 0,
        reason: SnapshotReason::Initial,
        messages,
    })
}

#[wasm_bindgen_test]
async fn lines_appear_newest_last_within_the_limit() {
    let m = setup(&[("channel", "lines"), ("lines", "2")]);
    m.widget
        .push(initial(vec![msg("a", "Ada", "from the snapshot")]));
    settle().await;
    assert_eq!(
        texts(&m.shadow, "[part=caption-body]"),
        ["from the snapshot"]
    );
    for (i, id) in ["b", "c", "d"].into_iter().enumerate() {
        m.widget
            .push(message(i as u64 + 1, id, "Bob", &format!("line {id}")));
    }
    settle().await;
    assert_eq!(
        texts(&m.shadow, "[part=caption-body]"),
        ["line c", "line d"]
    );
    assert_eq!(texts(&m.shadow, "[part=caption-sender]"), ["Bob", "Bob"]);
    assert_eq!(all(&m.shadow, "[part=captions] > [part=caption]").len(), 2);
    let slot = chyron_protocol::sender_color_slot("bob");
    let sender = &all(&m.shadow, "[part=caption-sender]")[0];
    assert!(sender.class_list().contains(&format!("s{slot}")));
}

#[wasm_bindgen_test]
async fn edit_changes_the_line_in_place() {
    let m = setup(&[("channel", "edit")]);
    m.widget.push(message(1, "a", "Ada", "teh typo"));
    m.widget.push(message(2, "b", "Bob", "second"));
    settle().await;
    let before = all(&m.shadow, "[part=caption]");
    m.widget.push(ServerFrame::Edit {
        seq: 3,
        id: "a".into(),
        body: "the typo".into(),
        html: Some("<b>the</b> typo".into()),
    });
    settle().await;
    let after = all(&m.shadow, "[part=caption]");
    assert!(before[0].is_same_node(Some(&after[0])), "line was replaced");
    assert_eq!(
        texts(&m.shadow, "[part=caption-body]"),
        ["the typo", "second"]
    );
}

#[wasm_bindgen_test]
async fn delete_and_clear_remove_lines() {
    let m = setup(&[("channel", "delete"), ("lines", "5")]);
    m.widget.push(message(1, "a", "Ada", "one"));
    m.widget.push(message(2, "s1", "Spam", "buy"));
    m.widget.push(message(3, "b", "Bob", "two"));
    m.widget.push(message(4, "s2", "Spam", "now"));
    settle().await;
    m.widget.push(ServerFrame::Delete {
        seq: 5,
        id: "a".into(),
    });
    settle().await;
    assert_eq!(
        texts(&m.shadow, "[part=caption-body]"),
        ["buy", "two", "now"]
    );
    m.widget.push(ServerFrame::Clear {
        seq: 6,
        sender_id: "spam".into(),
    });
    m.widget.push(ServerFrame::Unknown);
    settle().await;
    assert_eq!(texts(&m.shadow, "[part=caption-body]"), ["two"]);
}

#[wasm_bindgen_test]
async fn hostile_text_renders_as_inert_text() {
    let long_word = "x".repeat(5000);
    let zalgo = format!(
        "Z{}a{}",
        "\u{0336}\u{0337}\u{0489}".repeat(40),
        "\u{0301}".repeat(60)
    );
    let hostile = [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "\u{202e}evil\u{202c} reversed \u{2066}isolate",
        zalgo.as_str(),
        "🦀👩‍👩‍👧‍👦𝕳",
        long_word.as_str(),
        "&lt;b&gt; &amp; <b>bold</b>",
    ];
    let m = setup(&[("channel", "hostile"), ("lines", "10")]);
    for (i, text) in hostile.iter().enumerate() {
        m.widget
            .push(message(i as u64 + 1, &format!("h{i}"), text, text));
    }
    settle().await;
    let bodies = all(&m.shadow, "[part=caption-body]");
    let senders = all(&m.shadow, "[part=caption-sender]");
    assert_eq!(bodies.len(), hostile.len());
    for (i, text) in hostile.iter().enumerate() {
        for el in [&bodies[i], &senders[i]] {
            assert_eq!(el.child_element_count(), 0, "element created for {text:?}");
            assert_eq!(el.text_content().unwrap(), *text);
        }
    }
    assert!(all(
        &m.shadow,
        "img:not([part=caption-avatar]), img[src], script, b"
    )
    .is_empty());
    // The long word wraps and is clipped to a few lines; zalgo cannot grow
    // its line either.
    let viewport = web_sys::window()
        .unwrap()
        .inner_width()
        .unwrap()
        .as_f64()
        .unwrap();
    for i in [3, 5] {
        let rect = all(&m.shadow, "[part=caption]")[i].get_bounding_client_rect();
        assert!(
            rect.width() <= viewport,
            "line {i} is {} wide",
            rect.width()
        );
        assert!(rect.height() < 200.0, "line {i} is {} high", rect.height());
    }
}

#[wasm_bindgen_test]
async fn a_missing_channel_shows_an_error() {
    for attrs in [
        vec![],
        vec![("channel", "Not Valid!")],
        vec![("channel", "ok"), ("server", "javascript:alert(1)")],
    ] {
        let m = setup(&attrs);
        settle().await;
        let errors = all(&m.shadow, "[part=error][role=alert]");
        assert_eq!(errors.len(), 1, "{attrs:?}");
        assert!(errors[0]
            .text_content()
            .unwrap()
            .contains("Captions unavailable"));
        assert!(all(&m.shadow, "[part=toggle]").is_empty());
    }
}

fn stored_mode(channel: &str) -> Option<String> {
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .get_item(&format!("chyron:mode:{channel}"))
        .unwrap()
}

#[wasm_bindgen_test]
async fn the_toggle_hides_captions_and_remembers() {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.remove_item("chyron:mode:toggle").unwrap();
    let m = setup(&[("channel", "toggle")]);
    m.widget.push(message(1, "a", "Ada", "hello"));
    settle().await;
    let toggle: HtmlElement = all(&m.shadow, "button[part=toggle]")[0]
        .clone()
        .unchecked_into();
    assert_eq!(toggle.text_content().unwrap(), "Hide captions");
    // An action button: its label says what pressing does, so no aria-pressed
    // (a toggle whose label changed with its state would be read twice over).
    assert_eq!(toggle.get_attribute("aria-pressed"), None);
    toggle.click();
    settle().await;
    assert!(all(&m.shadow, "[part=captions]").is_empty());
    assert_eq!(toggle.text_content().unwrap(), "Show captions");
    assert_eq!(stored_mode("toggle").as_deref(), Some("hidden"));
    drop(m);

    // A new page view of the same channel starts hidden.
    let m = setup(&[("channel", "toggle")]);
    m.widget.push(message(1, "a", "Ada", "hello"));
    settle().await;
    assert!(all(&m.shadow, "[part=captions]").is_empty());
    let toggle: HtmlElement = all(&m.shadow, "[part=toggle]")[0].clone().unchecked_into();
    toggle.click();
    settle().await;
    assert_eq!(texts(&m.shadow, "[part=caption-body]"), ["hello"]);
    assert_eq!(stored_mode("toggle").as_deref(), Some("captions"));
}

#[wasm_bindgen_test]
async fn new_lines_are_announced_politely() {
    let m = setup(&[("channel", "announce")]);
    m.widget.push(message(1, "a", "Ada", "<b>hi</b>"));
    settle().await;
    let live = &all(&m.shadow, "[aria-live=polite]")[0];
    assert_eq!(live.text_content().unwrap(), "Ada: <b>hi</b>");
    assert_eq!(live.child_element_count(), 0);
    // A burst right after is held back, not read line by line.
    m.widget.push(message(2, "b", "Bob", "two"));
    m.widget.push(message(3, "c", "Cy", "three"));
    settle().await;
    assert_eq!(live.text_content().unwrap(), "Ada: <b>hi</b>");
}

#[wasm_bindgen_test]
async fn unmount_empties_the_shadow_root_and_ignores_later_frames() {
    let mut m = setup(&[("channel", "unmount")]);
    m.widget.push(message(1, "a", "Ada", "bye"));
    settle().await;
    assert_eq!(all(&m.shadow, "[part=caption]").len(), 1);
    m.widget.unmount();
    m.widget.push(message(2, "b", "Bob", "late"));
    settle().await;
    assert_eq!(m.shadow.child_nodes().length(), 0);
    m.widget.unmount();
}

#[wasm_bindgen_test]
fn frames_decode_from_json_parse_like_the_protocol_encodes_them() {
    let frames = [
        initial(vec![
            msg("a", "Ada", "x"),
            msg("b", "Bob", "\u{202e}😀\n<b>"),
        ]),
        message(7, "c", "Cy", "hi"),
        ServerFrame::Edit {
            seq: 8,
            id: "c".into(),
            body: "fixed".into(),
            html: None,
        },
        ServerFrame::Clear {
            seq: 9,
            sender_id: "cy".into(),
        },
    ];
    for frame in frames {
        let text = serde_json::to_string(&frame).unwrap();
        let value = js_sys::JSON::parse(&text).unwrap();
        assert_eq!(chyron::decode::frame(&value), Some(frame));
    }
    let unknown = js_sys::JSON::parse(r#"{"type":"typing"}"#).unwrap();
    assert_eq!(chyron::decode::frame(&unknown), Some(ServerFrame::Unknown));
    let bad = js_sys::JSON::parse(r#"{"type":"delete","seq":"1","id":"x"}"#).unwrap();
    assert_eq!(chyron::decode::frame(&bad), None);
}
