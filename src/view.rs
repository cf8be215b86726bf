//! The widget's components. Thin: state and rules live in [`Captions`],
//! [`Announcer`], [`Status`] and [`Mode`]; this file only renders them and
//! wires events.
//!
//! Chat text reaches the DOM only as text nodes (Leptos `{…}` children) or
//! attribute values, never as HTML, so a body like `<img onerror=…>` is
//! shown, not run; a message's `html` is never rendered at all. The only
//! images are thumbnails and avatars from the widget's own relay
//! ([`media_url`]).

use crate::announce::Announcer;
use crate::browser::{now, stored_mutes, use_interval, use_stored_mode};
use crate::captions::{Captions, Line};
use crate::config::Config;
use crate::media::{kind_label, media_url, spoken_body};
use crate::mode::Mode;
use crate::status::Status;
use chyron_protocol::{Media, ServerFrame};
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::prelude::*;

/// The status line when the chat module could not be loaded.
const CHAT_FAILED: &str = "Chat could not be loaded; captions go on";

/// How often expiry and throttled announcements are checked.
const TICK: Duration = Duration::from_millis(250);

thread_local! {
    /// Every thumbnail's and avatar's `onload` and `onerror`: a broken image
    /// hides itself, and shows again once a new `src` loads (an avatar after
    /// a profile change). One for the page, owned by JS, so a late event on a
    /// removed image still finds it. (A property rather than `on:error`: a
    /// second Leptos listener type costs more wasm than this closure.)
    static SHOW_IF_LOADED: JsValue = Closure::<dyn FnMut(JsValue)>::new(|event: JsValue| {
        let event = event.unchecked_into::<web_sys::Event>();
        if let Some(img) = event.target() {
            let failed = event.type_() == "error";
            img.unchecked_into::<web_sys::HtmlElement>().set_hidden(failed);
        }
    })
    .into_js_value();
}

/// The reactive state of a mounted widget. `Copy`: signals are handles.
#[derive(Clone, Copy)]
pub struct Model {
    captions: RwSignal<Captions>,
    announcer: StoredValue<Announcer>,
    announcement: RwSignal<String>,
    mode: RwSignal<Mode>,
    status: StoredValue<Status>,
    /// The status line's text; empty (and then not displayed) for none.
    status_line: RwSignal<String>,
    /// The channel is bridged to Matrix (a `bridge` frame came): the chat
    /// can be opened.
    bridged: RwSignal<bool>,
}

impl Model {
    /// Applies one feed frame. Safe to call after unmount (does nothing).
    pub fn apply(&self, frame: ServerFrame) {
        let now = now();
        let shown = self
            .mode
            .try_get_untracked()
            .is_some_and(Mode::shows_captions);
        if let ServerFrame::Bridge { state } = frame {
            self.bridged.set(true);
            if let Some(Some(said)) = self.status.try_update_value(|s| s.set(state)) {
                let line = self.status.get_value().text().unwrap_or_default();
                self.status_line.set(line.to_owned());
                if shown {
                    self.announcer.update_value(|a| a.note_status(said));
                }
            }
        } else {
            let added = self
                .captions
                .try_update(|c| c.apply(frame, now))
                .unwrap_or(0);
            if added > 0 && shown {
                self.captions.with_untracked(|c| {
                    if let Some(line) = c.lines().last() {
                        self.announcer
                            .update_value(|a| a.note(added, &line.sender, &spoken_body(line)));
                    }
                });
            }
        }
        self.announce(now);
    }

    /// Switches the display (the chat module's request): `chat` once it is
    /// ready, `captions` or `hidden` when the viewer leaves it, `failed` when
    /// it could not load (captions, and the status line says so).
    pub fn set_mode(&self, mode: &str) {
        if mode == "failed" {
            self.status_line.set(CHAT_FAILED.to_owned());
            self.announcer.update_value(|a| a.note_status(CHAT_FAILED));
        }
        let mode = Mode::parse(mode).unwrap_or_default();
        self.announcer.update_value(Announcer::reset);
        self.mode.set(mode);
    }

    /// Hides the lines of these senders (one id per line; the chat's mutes).
    pub fn set_mutes(&self, ids: &str) {
        let ids = ids.lines().map(str::to_owned).collect();
        self.captions.update(|c| c.set_muted(ids));
    }

    /// Removes expired lines and makes any announcement that is due.
    fn tick(&self) {
        let now = now();
        let due = self
            .captions
            .try_with_untracked(|c| c.next_expiry().is_some_and(|t| t <= now))
            .unwrap_or(false);
        if due {
            self.captions.update(|c| {
                c.expire(now);
            });
        }
        self.announce(now);
    }

    fn announce(&self, now: f64) {
        if let Some(Some(text)) = self.announcer.try_update_value(|a| a.poll(now)) {
            self.announcement.set(text);
        }
    }
}

/// The captions widget for a valid configuration. `ready` receives the model
/// so a frame source (the feed socket, or a test) can drive it.
pub fn widget(config: &Config, ready: &dyn Fn(Model)) -> impl IntoView {
    let (mode, set_mode) = use_stored_mode(&config.channel);
    let mut captions = Captions::new(config.lines, f64::from(config.fade_ms));
    captions.set_muted(stored_mutes());
    let model = Model {
        captions: RwSignal::new(captions),
        announcer: StoredValue::new(Announcer::default()),
        announcement: RwSignal::new(String::new()),
        mode,
        status: StoredValue::new(Status::default()),
        status_line: RwSignal::new(String::new()),
        bridged: RwSignal::new(false),
    };
    use_interval(TICK, move || model.tick());
    ready(model);
    let toggle = move || {
        let next = mode.get_untracked().toggled();
        if !next.shows_captions() {
            model.announcer.update_value(Announcer::reset);
        }
        set_mode(next);
    };
    let class = format!(
        "chyron {} {}",
        config.placement.class(),
        config.position.classes()
    );
    let server = config.server.clone();
    // In chat the toggle and the Chat button step aside; the Chat button
    // shows only once the channel is known to be bridged (CSS).
    let root_class = move || {
        let chat = if mode.get() == Mode::Chat {
            " in-chat"
        } else {
            ""
        };
        let bridged = if model.bridged.get() { " bridged" } else { "" };
        format!("{class}{chat}{bridged}")
    };
    view! {
        <div class=root_class>
            <div class="sr-only" aria-live="polite" aria-atomic="true">
                {model.announcement}
            </div>
            {move || {
                mode.get()
                    .shows_captions()
                    .then(|| caption_lines(model.captions, server.clone(), model.status_line))
            }}
            {toggle_button(mode, toggle)}
            {chat_button()}
        </div>
    }
}

/// The caption lines, oldest first, then the status line. Lines are keyed
/// by message id, so an edit or a rename changes only a text node and a line
/// keeps its fade timing. `server` is the relay's base URL, for thumbnails.
///
/// The status line is not a live region itself: changes are announced through
/// the widget's one throttled region. Empty, it is not displayed (CSS).
fn caption_lines(
    captions: RwSignal<Captions>,
    server: String,
    status: RwSignal<String>,
) -> impl IntoView {
    let rows = move || {
        captions.with(|c| {
            c.lines()
                .iter()
                .map(|l| (l.id.clone(), l.slot, l.media.clone()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div part="captions" class="captions">
            <For
                each=rows
                // A marked attachment is a new row: its thumbnail goes or comes.
                key=|row| (row.0.clone(), row.2.as_ref().is_some_and(Media::hidden))
                children=move |(id, slot, media)| caption(captions, id, slot, media, &server)
            />
        </div>
        <div part="status" class="status">{status}</div>
    }
}

/// One line: avatar, sender, the attachment if any, body. Avatar, sender
/// and body follow the model (profile changes, edits); the attachment never
/// changes.
fn caption(
    captions: RwSignal<Captions>,
    id: String,
    slot: u8,
    media: Option<Media>,
    server: &str,
) -> impl IntoView {
    // One image for the line's life; its `src` follows the sender's avatar
    // (none: no `src`, not displayed).
    let avatar = {
        let (id, server) = (id.clone(), server.to_string());
        move || {
            captions.with(|c| {
                let path = c.get(&id)?.avatar.as_deref()?;
                media_url(&server, path)
            })
        }
    };
    let text = move |get: fn(&Line) -> &String| {
        let id = id.clone();
        move || captions.with(|c| c.get(&id).map(|l| get(l).clone()))
    };
    // `m`: room for a thumbnail within the line limit.
    let class = if media.is_some() {
        "caption m"
    } else {
        "caption"
    };
    let media = media.map(|media| {
        // A hidden attachment (NSFW, or not yet reviewed where the
        // organiser says so) never shows in captions: only its kind word.
        let src = media
            .thumbnail
            .as_deref()
            .filter(|_| !media.hidden())
            .and_then(|path| media_url(server, path));
        let thumbnail = src.map(|src| {
            view! {
                <img
                    part="caption-media"
                    class="thumb"
                    src=src
                    alt=media.name
                    prop:onerror=SHOW_IF_LOADED.with(JsValue::clone)
                />
            }
        });
        view! {
            <span part="caption-media-kind" class="kind">{kind_label(media.kind)}</span>
            {thumbnail}
        }
    });
    view! {
        <div part="caption" class=class>
            <img
                part="caption-avatar"
                class="avatar"
                src=avatar
                alt=""
                prop:onload=SHOW_IF_LOADED.with(JsValue::clone)
                prop:onerror=SHOW_IF_LOADED.with(JsValue::clone)
            />
            <span part="caption-sender" class=format!("sender s{slot}")>{text(|l| &l.sender)}</span>
            " "
            {media}
            <span part="caption-body" class="body">{text(|l| &l.body)}</span>
        </div>
    }
}

/// Shows or hides the captions; the label says what pressing it does. Being
/// an action button with a changing label, it has no `aria-pressed` (a
/// pressed state with a changing label would contradict itself).
fn toggle_button(mode: RwSignal<Mode>, on_toggle: impl Fn() + 'static) -> impl IntoView {
    view! {
        <button
            part="toggle"
            class="toggle"
            type="button"
            on:click=move |_| on_toggle()
        >
            {move || mode.get().toggle_label()}
        </button>
    }
}

/// Opens the full chat. embed.js sees the click on the element (its part
/// name) and loads the chat module; the chat then switches the mode.
fn chat_button() -> impl IntoView {
    view! { <button part="chat-open" class="toggle chat-open" type="button">"Chat"</button> }
}

/// The message shown instead of captions when the attributes are unusable;
/// `placement_class` keeps it visible over the video in overlay placement.
pub fn error_view(message: String, placement_class: &'static str) -> impl IntoView {
    view! {
        <div class=format!("chyron error-box top left {placement_class}")>
            <div part="error" class="error" role="alert">{message}</div>
        </div>
    }
}
