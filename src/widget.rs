//! Mounting the widget into a shadow root, and taking it down again.

use crate::browser::{error, warn};
use crate::config::{self, Config};
use crate::socket::use_feed;
use crate::style::CSS;
use crate::view::{error_view, widget, Model};
use chyron_protocol::ServerFrame;
use leptos::prelude::*;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, ShadowRoot, WebSocket};

/// Where a mounted widget's frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameSource {
    /// The relay's feed websocket (what pages get), maybe one embed.js
    /// already opened: adopted if it goes where the widget would connect.
    Relay(Option<WebSocket>),
    /// Only [`Widget::push`] (tests, demos): no network.
    Manual,
}

/// A mounted widget. [`Widget::unmount`], or dropping it, takes it down.
pub struct Widget {
    shadow: ShadowRoot,
    teardown: Option<Box<dyn FnOnce()>>,
    model: Option<Model>,
}

impl Widget {
    /// Applies a frame as if it came from the feed (no cursor checks).
    pub fn push(&self, frame: ServerFrame) {
        if let Some(model) = self.model {
            model.apply(frame);
        }
    }

    /// Switches the display: `chat`, `captions`, `hidden` or `failed` (see
    /// the view's `Model::set_mode`). The chat module calls it.
    pub fn set_mode(&self, mode: &str) {
        if let Some(model) = self.model {
            model.set_mode(mode);
        }
    }

    /// Hides the captions of these senders (one id per line).
    pub fn set_mutes(&self, ids: &str) {
        if let Some(model) = self.model {
            model.set_mutes(ids);
        }
    }

    /// Removes the view, closes the socket, stops timers and empties the
    /// shadow root. Calling it twice is harmless.
    pub fn unmount(&mut self) {
        self.model = None;
        if let Some(teardown) = self.teardown.take() {
            teardown();
            clear(&self.shadow);
        }
    }
}

/// Also when JS frees the handle (or its finalizer does): nothing outlives it.
impl Drop for Widget {
    fn drop(&mut self) {
        self.unmount();
    }
}

fn clear(shadow: &ShadowRoot) {
    while let Some(child) = shadow.first_child() {
        let _ = shadow.remove_child(&child);
    }
}

/// Reads `host`'s attributes and renders into `shadow` (emptied first, so a
/// re-mount after an attribute change starts clean). `base` is the directory
/// embed.js came from, the default server. Never panics on bad input: an
/// unusable configuration renders an error message instead.
pub fn mount(host: &HtmlElement, shadow: &ShadowRoot, base: &str, source: FrameSource) -> Widget {
    clear(shadow);
    let mut mounted = Widget {
        shadow: shadow.clone(),
        teardown: None,
        model: None,
    };
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return mounted;
    };
    let (Ok(style), Ok(container)) = (
        document.create_element("style"),
        document.create_element("div"),
    ) else {
        return mounted;
    };
    // In the shadow root, so host page styles and ours never mix.
    style.set_text_content(Some(CSS));
    let container: HtmlElement = container.unchecked_into();
    let _ = shadow.append_child(&style);
    let _ = shadow.append_child(&container);

    let parsed = config::parse(|name| host.get_attribute(name), base);
    let handle: Box<dyn FnOnce()> = match parsed {
        Err(e) => {
            let message = e.to_string();
            error(&message);
            let placement = config::placement(host.get_attribute("placement").as_deref());
            let class = placement.unwrap_or_default().class();
            let handle = mount_to(container, move || error_view(message, class));
            Box::new(move || drop(handle))
        }
        Ok((config, warnings)) => {
            for w in &warnings {
                warn(w);
            }
            let _ = container
                .style()
                .set_property("--chyron-life", &format!("{}ms", config.fade_ms));
            let slot = Rc::new(Cell::new(None));
            let out = slot.clone();
            // Taken (not cloned) by the one render: fewer wasm bytes.
            let feed = match source {
                FrameSource::Relay(early) => Some(Cell::new(early)),
                FrameSource::Manual => None,
            };
            let handle = mount_to(container, move || {
                widget(&config, &|model| {
                    out.set(Some(model));
                    if let Some(early) = &feed {
                        start_feed(&config, model, early.take());
                    }
                })
            });
            mounted.model = slot.take();
            Box::new(move || drop(handle))
        }
    };
    mounted.teardown = Some(handle);
    mounted
}

fn start_feed(config: &Config, model: Model, early: Option<WebSocket>) {
    use_feed(config.feed_url.clone(), config.lines, early, move |frame| {
        model.apply(frame)
    });
}
