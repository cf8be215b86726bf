//! The wasm entry points that `embed.js` calls; everything else is in the
//! library.

use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRoot, WebSocket};

/// What `mount` returns: keep it, and call `unmount()` when the element goes.
#[wasm_bindgen]
pub struct Handle(chyron::Widget);

#[wasm_bindgen]
impl Handle {
    /// Takes the widget down: view, socket and timers.
    pub fn unmount(&mut self) {
        self.0.unmount();
    }

    /// The chat module's requests: `chat` (it is ready: captions step
    /// aside), `captions`, `hidden`, or `failed` (it could not load).
    pub fn set_mode(&self, mode: &str) {
        self.0.set_mode(mode);
    }

    /// The chat's mutes, one sender id per line: their captions go.
    pub fn set_mutes(&self, ids: &str) {
        self.0.set_mutes(ids);
    }
}

/// Renders the widget for `host` (a `<chyron-chat>`) into `shadow`, connected
/// to the relay; `base` is the URL of the directory embed.js came from.
/// `early` is the feed socket embed.js opened while the wasm loaded, if any:
/// the widget adopts it when it goes where the widget would connect.
#[wasm_bindgen]
pub fn mount(
    host: HtmlElement,
    shadow: ShadowRoot,
    base: String,
    early: Option<WebSocket>,
) -> Handle {
    Handle(chyron::mount(
        &host,
        &shadow,
        &base,
        chyron::FrameSource::Relay(early),
    ))
}

fn main() {
    // Readable panics while developing; release builds abort without the
    // formatting code, to save bytes.
    #[cfg(debug_assertions)]
    std::panic::set_hook(Box::new(|info| chyron::browser::error(&info.to_string())));
}
