//! Small wrappers around browser resources, each cleaned up with the
//! component that uses it. Browser failures (no storage, blocked timers) are
//! never fatal: the widget lives on someone else's page.

use crate::mode::Mode;
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::JsValue;

/// Milliseconds since the Unix epoch (the clock captions expire by).
pub fn now() -> f64 {
    js_sys::Date::now()
}

/// Uniform in `[0, 1)`, for backoff jitter (no getrandom needed).
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// `console.warn("chyron: …")`.
pub fn warn(text: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&format!("chyron: {text}")));
}

/// `console.error("chyron: …")`.
pub fn error(text: &str) {
    web_sys::console::error_1(&JsValue::from_str(&format!("chyron: {text}")));
}

/// Calls `tick` every `period` while the calling component is mounted.
pub fn use_interval(period: Duration, tick: impl Fn() + 'static) {
    match set_interval_with_handle(tick, period) {
        Ok(handle) => on_cleanup(move || handle.clear()),
        Err(_) => warn("could not start a timer"),
    }
}

fn storage() -> Option<web_sys::Storage> {
    // Both the getter and the storage itself can throw (privacy modes,
    // sandboxed iframes); treat any failure as "no storage".
    web_sys::window()?.local_storage().ok().flatten()
}

/// The viewer's display mode for `channel`, read from localStorage, and a
/// setter that also stores it. Storage errors are ignored: the choice then
/// lasts only for this page view.
pub fn use_stored_mode(channel: &str) -> (RwSignal<Mode>, impl Fn(Mode) + 'static) {
    let key = Mode::storage_key(channel);
    let stored = storage().and_then(|s| s.get_item(&key).ok().flatten());
    // Chat is shown once the chat module says it is ready (embed.js loads
    // it when this is the stored choice); captions until then.
    let initial = match stored.as_deref().and_then(Mode::parse) {
        Some(Mode::Chat) | None => Mode::Captions,
        Some(mode) => mode,
    };
    let mode = RwSignal::new(initial);
    let set = move |next: Mode| {
        mode.set(next);
        if let Some(s) = storage() {
            let _ = s.set_item(&key, next.as_str());
        }
    };
    (mode, set)
}

/// The sender ids muted in the chat (stored by the chat module, one per
/// line), whose lines the captions leave out.
pub fn stored_mutes() -> Vec<String> {
    let text = storage().and_then(|s| s.get_item("chyron:mutes").ok().flatten());
    text.unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}
