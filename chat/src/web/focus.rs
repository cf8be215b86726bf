//! Managed focus. After the viewer acts (opens the chat, joins, signs in,
//! accepts the rules, opens or leaves a form) the footer's first field takes
//! the focus, so a keyboard or screen reader user goes on where the new
//! controls are instead of from the top of the page; leaving the chat gives
//! the focus to the captions' button that brings it back.

use super::app::App;
use gloo_timers::future::TimeoutFuture;
use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, ShadowRoot};

/// The first of these the footer holds gets the focus, in this order.
const FIELDS: [&str; 4] = [
    "textarea",
    "input",
    "[part~=\"chat-rules-accept\"]",
    "button",
];

/// Focuses the first of `selectors` that `find` finds, after the current
/// render has reached the page; `then` runs when one was focused.
fn focus_first(
    find: impl Fn(&str) -> Option<Element> + 'static,
    selectors: &'static [&'static str],
    then: impl FnOnce() + 'static,
) {
    spawn_local(async move {
        TimeoutFuture::new(0).await;
        let found = selectors.iter().find_map(|s| find(s));
        if let Some(el) = found.and_then(|e| e.dyn_into::<HtmlElement>().ok()) {
            let _ = el.focus();
            then();
        }
    });
}

/// Gives the focus to the captions' element with this part (the chat has
/// just stepped aside).
pub fn focus_captions(shadow: ShadowRoot, part: &'static [&'static str]) {
    focus_first(
        move |s| shadow.query_selector(s).ok().flatten(),
        part,
        || (),
    );
}

/// Moves the focus into the footer whenever it changes after an action that
/// asked for it (`App::want_focus`).
pub fn use_footer_focus(app: App, foot: NodeRef<Div>) {
    Effect::new(move |_| {
        app.me.track();
        app.screen.track();
        app.current.track();
        app.channels.track();
        app.prefs.track();
        app.open.track();
        if !app.focus.get_value() {
            return;
        }
        if let Some(foot) = foot.get() {
            // Cleared only once something took the focus: the footer may
            // still say "Loading the chat…".
            let foot: Element = foot.unchecked_into();
            focus_first(
                move |s| foot.query_selector(s).ok().flatten(),
                &FIELDS,
                move || app.focus.set_value(false),
            );
        }
    });
}
