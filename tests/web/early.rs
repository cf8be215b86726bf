//! The feed socket embed.js opens while the wasm loads: the widget adopts it
//! when it goes where the widget would connect (its handlers then get what
//! embed.js replays), and closes it otherwise.

use super::*;
use wasm_bindgen::JsValue;
use web_sys::WebSocket;

/// What embed.js does after `mount`: a frame it received before, handed to
/// the socket's `onmessage` handler as `{ data }`; nothing if there is none.
fn replay(ws: &WebSocket, frame: &ServerFrame) {
    let Some(handler) = ws.onmessage() else {
        return;
    };
    let event = js_sys::Object::new();
    let data = JsValue::from_str(&serde_json::to_string(frame).unwrap());
    js_sys::Reflect::set(&event, &"data".into(), &data).unwrap();
    handler.call1(ws, &event).unwrap();
}

/// Port 9 (discard) refuses: the socket fails soon, and the widget then
/// reconnects on its own, which these tests do not wait for.
fn early(query: &str) -> WebSocket {
    WebSocket::new(&format!("ws://127.0.0.1:9/feed/early{query}")).unwrap()
}

#[wasm_bindgen_test]
async fn a_socket_to_the_widgets_own_url_is_adopted_with_its_frames() {
    let ws = early("?limit=2");
    let source = FrameSource::Relay(Some(ws.clone()));
    let m = setup_with(&[("channel", "early"), ("lines", "2")], source);
    // The widget's handlers are set (embed.js never sets onclose).
    assert!(ws.onmessage().is_some() && ws.onclose().is_some());
    replay(&ws, &initial(vec![msg("a", "Ada", "before the wasm")]));
    replay(&ws, &message(1, "b", "Bob", "also early"));
    settle().await;
    assert_eq!(
        texts(&m.shadow, "[part=caption-body]"),
        ["before the wasm", "also early"]
    );
}

#[wasm_bindgen_test]
async fn a_socket_to_another_url_is_closed_and_ignored() {
    // lines=2 wants ?limit=2: a socket asking for 5 is not the widget's.
    let ws = early("?limit=5");
    let source = FrameSource::Relay(Some(ws.clone()));
    let m = setup_with(&[("channel", "early"), ("lines", "2")], source);
    assert!(ws.onmessage().is_none() && ws.onclose().is_none());
    assert!(ws.ready_state() >= WebSocket::CLOSING);
    replay(&ws, &initial(vec![msg("a", "Ada", "not for this widget")]));
    settle().await;
    assert!(texts(&m.shadow, "[part=caption-body]").is_empty());
}
