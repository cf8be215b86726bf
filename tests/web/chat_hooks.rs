//! What the captions do for the full chat (a second module): the Chat button
//! only in bridged channels, stepping aside while the chat is shown, the
//! chat's mutes, and the note when the chat module could not load.

use super::*;
use chyron_protocol::BridgeState;

/// Whether `selector`'s element takes up space on screen (CSS decides).
fn shown(shadow: &ShadowRoot, selector: &str) -> bool {
    shadow
        .query_selector(selector)
        .unwrap()
        .is_some_and(|e| e.get_bounding_client_rect().width() > 0.0)
}

#[wasm_bindgen_test]
async fn the_chat_button_needs_a_bridged_channel_and_chat_replaces_the_buttons() {
    let m = setup(&[("channel", "hooks")]);
    m.widget.push(initial(vec![msg("a", "Ada", "hello")]));
    settle().await;
    assert!(shown(&m.shadow, "[part~=toggle]"));
    assert!(
        !shown(&m.shadow, "[part~=chat-open]"),
        "no chat without Matrix"
    );
    m.widget.push(ServerFrame::Bridge {
        state: BridgeState::Live,
    });
    settle().await;
    assert!(
        shown(&m.shadow, "[part~=chat-open]"),
        "bridged: chat offered"
    );
    m.widget.set_mode("chat");
    settle().await;
    assert!(!shown(&m.shadow, "[part~=toggle]"));
    assert!(!shown(&m.shadow, "[part~=chat-open]"));
    assert!(
        texts(&m.shadow, "[part~=caption-body]").is_empty(),
        "captions step aside"
    );
    m.widget.set_mode("captions");
    settle().await;
    assert!(shown(&m.shadow, "[part~=toggle]"));
    assert!(shown(&m.shadow, "[part~=chat-open]"));
    assert_eq!(texts(&m.shadow, "[part~=caption-body]"), ["hello"]);
}

#[wasm_bindgen_test]
async fn muted_senders_leave_the_captions_and_a_failed_chat_says_so() {
    let m = setup(&[("channel", "hooks2")]);
    m.widget.push(initial(vec![
        msg("a", "Ada", "one"),
        msg("b", "Bob", "two"),
    ]));
    settle().await;
    m.widget.set_mutes("ada\nnobody");
    settle().await;
    assert_eq!(texts(&m.shadow, "[part~=caption-body]"), ["two"]);
    m.widget.push(message(1, "c", "Ada", "three"));
    m.widget.push(message(2, "d", "Bob", "four"));
    settle().await;
    assert_eq!(texts(&m.shadow, "[part~=caption-body]"), ["two", "four"]);
    m.widget.set_mode("failed");
    settle().await;
    assert!(texts(&m.shadow, "[part~=status]")
        .concat()
        .contains("Chat could not be loaded"));
    assert_eq!(texts(&m.shadow, "[part~=caption-body]"), ["two", "four"]);
}
