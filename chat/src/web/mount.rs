//! Mounting the chat panel beside the captions in a `<chyron-chat>`'s
//! shadow root, and taking it down.

use super::app::App;
use super::directory;
use super::private_view::use_chat_button_count;
use super::storage::{self, keys};
use super::view::panel;
use chyron::announce::Announcer;
use chyron::browser::use_interval;
use chyron::socket::use_feed;
use chyron_protocol::ChannelInfo;
use chyron_protocol::ServerFrame;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRoot};

/// The panel's stylesheet (the `--chyron-*` theming contract, continued).
const CSS: &str = include_str!("../../style/chat.css");

/// Messages asked for in each channel's snapshot.
const HISTORY: usize = 100;

/// A mounted chat. `unmount()` takes it down; `open()` shows it again after
/// the viewer went back to captions.
#[wasm_bindgen]
pub struct ChatHandle {
    /// The app: its `open` signal shows the panel.
    app: App,
    /// The container in the shadow root.
    container: HtmlElement,
    /// Leptos's mount; dropping it removes the view, sockets and timers.
    handle: Option<Box<dyn std::any::Any>>,
}

#[wasm_bindgen]
impl ChatHandle {
    /// Shows the panel again (the overlay's "Chat" button).
    pub fn open(&self) {
        self.app.set_mode("chat");
    }

    /// Removes the panel, its sockets and timers.
    pub fn unmount(&mut self) {
        self.app.leave_presence(true);
        self.handle = None;
        self.container.remove();
    }
}

/// Renders the chat into `shadow` next to the captions of `host`.
/// `overlay` is the captions' handle (`set_mode`, `set_mutes`).
#[wasm_bindgen]
pub fn mount_chat(
    host: HtmlElement,
    shadow: ShadowRoot,
    base: String,
    overlay: JsValue,
) -> Result<ChatHandle, JsValue> {
    let (config, _) = chyron::config::parse(|name| host.get_attribute(name), &base)
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let container: HtmlElement = document.create_element("div")?.unchecked_into();
    container.set_class_name("chat-root");
    let style = document.create_element("style")?;
    style.set_text_content(Some(CSS));
    container.append_child(&style)?;
    shadow.append_child(&container)?;
    let inner: HtmlElement = document.create_element("div")?.unchecked_into();
    container.append_child(&inner)?;

    let app = App::new(
        config.server.clone(),
        config.channel.clone(),
        overlay,
        shadow.clone(),
    );
    let open = app.open;
    let wanted = config.channel.clone();
    let handle = mount_to(inner, move || {
        start(app, wanted);
        use_chat_button_count(app);
        view! {
            <Show when=move || open.get()>
                {panel(app)}
            </Show>
            <div class="sr-only" aria-live="polite" aria-atomic="true">{announcements(app, open)}</div>
            {feeds(app)}
        }
    });
    Ok(ChatHandle {
        app,
        container,
        handle: Some(Box::new(handle)),
    })
}

/// Loads the channel list and the stored session.
fn start(app: App, wanted: String) {
    let server = app.server.get_value();
    spawn_local(async move {
        match directory::fetch(&server, directory::Freshness::Cached).await {
            Ok(directory) => {
                let stored = storage::get(keys::CHANNEL);
                let has = |c: &str| directory.channels.iter().any(|i| i.channel == c);
                let current = [Some(wanted), stored]
                    .into_iter()
                    .flatten()
                    .find(|c| has(c))
                    .or_else(|| directory.channels.first().map(|c| c.channel.clone()));
                if let Some(current) = current {
                    app.current.set(current);
                }
                app.channels.set(directory.channels);
                app.restore();
            }
            Err(why) => {
                app.notice.set(why);
                app.tell_overlay("set_mode", "failed");
            }
        }
    });
    // The read position is kept when the page goes away or is hidden.
    let on_hide = Closure::<dyn FnMut()>::new(move || {
        app.mark_read();
        app.leave_presence(true);
    });
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback("pagehide", on_hide.as_ref().unchecked_ref());
    }
    on_hide.forget();
    use_interval(Duration::from_secs(15), move || app.mark_read());
}

/// One feed socket per listed channel: switching is instant and the tabs
/// count unread lines. The first snapshot of the shown channel places its
/// unread divider and tells the overlay the chat is ready.
fn feeds(app: App) -> impl IntoView {
    let list = move || app.channels.get();
    view! {
        <For each=list key=|c: &ChannelInfo| c.channel.clone() let:info>
            {
                let channel = info.channel.clone();
                let url = format!("{}/feed/{}", app.server.get_value().replacen("http", "ws", 1), channel);
                use_feed(url, HISTORY, None, move |frame| on_frame(app, &channel, frame));
            }
        </For>
    }
}

fn on_frame(app: App, channel: &str, frame: ServerFrame) {
    let first = matches!(frame, ServerFrame::Snapshot(_))
        && app
            .timelines
            .with_untracked(|t| t.get(channel).is_none_or(|t| t.epoch().is_none()));
    let announce = match &frame {
        ServerFrame::Message { message, .. } if channel == app.current.get_untracked() => {
            let me = app
                .me
                .with_untracked(|m| m.as_ref().map(|m| m.user_id.clone()));
            let muted = app
                .prefs
                .with_untracked(|p| p.mutes.contains(&message.sender_id));
            (me.as_deref() != Some(message.sender_id.as_str()) && !muted)
                .then(|| (message.sender.clone(), message.body.clone()))
        }
        _ => None,
    };
    app.timelines
        .update(|t| t.entry(channel.to_owned()).or_default().apply(frame));
    if let Some((sender, body)) = announce {
        ANNOUNCER.with(|a| a.borrow_mut().note(1, &sender, &body));
    }
    if first {
        let mark = app.prefs.with_untracked(|p| p.read.get(channel).cloned());
        app.timelines.update(|t| {
            if let Some(t) = t.get_mut(channel) {
                t.place_unread(mark.as_ref());
            }
        });
        if channel == app.current.get_untracked() && app.open.get_untracked() {
            app.set_mode("chat");
        }
    }
}

thread_local! {
    /// New lines waiting to be read out, throttled like the captions'.
    static ANNOUNCER: std::cell::RefCell<Announcer> = std::cell::RefCell::new(Announcer::default());
}

/// The polite live region's text: the newest line, at most every 2.5 s,
/// only while the panel is open.
fn announcements(app: App, open: RwSignal<bool>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    use_interval(Duration::from_millis(250), move || {
        let due = ANNOUNCER.with(|a| a.borrow_mut().poll(js_sys::Date::now()));
        if let Some(said) = due {
            if open.get_untracked() {
                text.set(said);
            }
        }
    });
    let _ = app;
    move || text.get()
}
