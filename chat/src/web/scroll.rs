//! Keeps the conversation where a reader expects it: at the newest line while
//! they are there, still while they scroll back to read, and at the first
//! unseen line (the "New messages" divider) when the chat opens or another
//! channel is shown.

use super::app::App;
use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::ResizeObserver;

/// Closer than this to the end (CSS pixels) counts as "at the newest line".
const NEAR_END_PX: i32 = 48;

/// Whether a scroll position is at the end of the log.
fn near_end(top: i32, height: i32, visible: i32) -> bool {
    height - top - visible <= NEAR_END_PX
}

/// Follows the log's rows: call once with the log's node; returns the
/// scroll handler to put on it.
pub fn use_scroll(app: App, log: NodeRef<Div>) -> impl Fn(leptos::ev::Event) + Copy + 'static {
    // Whether the viewer is at the newest line (so new lines keep them there).
    let pinned = StoredValue::new(true);
    // The channel last positioned, and whether the panel was open then: a
    // change means "show the first unseen line" again.
    let placed = StoredValue::new((String::new(), false));
    // The log shrinks when a form opens below it (or the window resizes):
    // a reader at the newest line stays there.
    let observer = StoredValue::new_local(None::<(ResizeObserver, Closure<dyn FnMut()>)>);
    log.on_load(move |el| {
        let el: web_sys::Element = el.unchecked_into();
        let target = el.clone();
        let keep = Closure::<dyn FnMut()>::new(move || {
            if pinned.try_get_value() == Some(true) {
                target.set_scroll_top(target.scroll_height());
            }
        });
        if let Ok(o) = ResizeObserver::new(keep.as_ref().unchecked_ref()) {
            o.observe(&el);
            observer.set_value(Some((o, keep)));
        }
    });
    on_cleanup(move || {
        if let Some(Some((o, _))) = observer.try_update_value(Option::take) {
            o.disconnect();
        }
    });
    Effect::new(move |_| {
        let channel = app.current.get();
        let open = app.open.get();
        app.timelines.track();
        app.prefs.track();
        let Some(el) = log.get() else { return };
        let el: &web_sys::Element = el.unchecked_ref();
        let fresh = placed.with_value(|(c, o)| *c != channel || (open && !*o));
        if fresh && el.query_selector("li").ok().flatten().is_none() {
            // Nothing to place yet: the channel's first lines are on the way.
            return;
        }
        placed.set_value((channel, open));
        if fresh {
            let divider = el.query_selector("[part~=\"chat-unread\"]").ok().flatten();
            if let Some(divider) = divider {
                let offset =
                    divider.get_bounding_client_rect().top() - el.get_bounding_client_rect().top();
                el.set_scroll_top(el.scroll_top() + offset as i32);
                pinned.set_value(near_end(
                    el.scroll_top(),
                    el.scroll_height(),
                    el.client_height(),
                ));
                return;
            }
            pinned.set_value(true);
        }
        if pinned.get_value() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    move |_| {
        if let Some(el) = log.get_untracked() {
            let el: &web_sys::Element = el.unchecked_ref();
            pinned.set_value(near_end(
                el.scroll_top(),
                el.scroll_height(),
                el.client_height(),
            ));
        }
    }
}
