//! Moderation's components, thin: a line's menu for moderators, the
//! timed-out viewer's banner, an image (blurred while hidden, with "Show
//! image"), and the owner's "Appoint moderator" form. Rules are in
//! [`crate::moderation`]; actions in `web/moderation`.

use super::app::{App, Screen};
use crate::moderation::{self, banner, countdown, length_label, preselect, Action};
use chyron::browser::use_interval;
use chyron::media::media_url;
use chyron_protocol::{MediaKind, Message};
use leptos::ev::KeyboardEvent;
use leptos::html::{Button, Div};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use wasm_bindgen::JsCast;

/// Whom (and which message) a Moderate menu acts on.
pub struct Target {
    /// Which menu is open (`app.menu`): a message id, or `person:` + id.
    pub key: String,
    /// Their sender id.
    pub sender_id: String,
    /// Their name as shown.
    pub name: String,
    /// The message (Delete, marks), when the menu is a line's.
    pub message: Option<String>,
    /// Whether the message's image is hidden now, when it has one.
    pub image: Option<bool>,
    /// The menu button's label.
    pub label: String,
}

/// The moderation menu's button for a line, and the menu when open.
pub fn line_menu(app: App, message: &Message) -> impl IntoView {
    let image = message
        .media
        .as_ref()
        .filter(|m| m.kind == MediaKind::Image)
        .map(|m| m.hidden());
    menu(
        app,
        Target {
            key: message.id.clone(),
            sender_id: message.sender_id.clone(),
            name: message.sender.clone(),
            message: Some(message.id.clone()),
            image,
            label: format!("Moderate {}'s message", message.sender),
        },
    )
}

/// A Moderate button and its menu for `target`: time out (karma and the
/// suggested length read on opening), lift, ban, and for a message delete
/// and mark.
pub fn menu(app: App, target: Target) -> impl IntoView {
    let Target {
        key: id,
        sender_id,
        name,
        message,
        image,
        label,
    } = target;
    let button = NodeRef::<Button>::new();
    let menu = NodeRef::<Div>::new();
    let open = {
        let id = id.clone();
        Memo::new(move |_| app.menu.with(|m| m.as_deref() == Some(id.as_str())))
    };
    // Karma and the suggested length, read when the menu opens.
    let info = RwSignal::new(None::<moderation::UserInfo>);
    let toggle = {
        let (id, sender_id) = (id.clone(), sender_id.clone());
        move |_| {
            if open.get_untracked() {
                app.menu.set(None);
                return;
            }
            app.menu.set(Some(id.clone()));
            app.selected.set(Some(id.clone()));
            let who = sender_id.clone();
            spawn_local(async move {
                info.set(app.user_info(who).await);
                focus_in(menu, "[data-suggested]");
            });
            focus_in(menu, "button");
        }
    };
    let close = move || {
        app.menu.set(None);
        if let Some(b) = button.get_untracked() {
            let _ = b.focus();
        }
    };
    let keydown = move |ev: KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close();
        }
        "ArrowDown" | "ArrowUp" => {
            ev.prevent_default();
            step(menu, ev.key() == "ArrowDown");
        }
        _ => {}
    };
    let act = move |action: Action, label: String| {
        close();
        app.moderate(action, label);
    };
    view! {
        <button part="chat-moderate" class="act" type="button" node_ref=button aria-haspopup="menu"
            aria-expanded=move || open.get().to_string() aria-label=label.clone() title=label on:click=toggle>
            "Moderate"
        </button>
        <Show when=move || open.get()>
            {
                let (sender_id, name) = (sender_id.clone(), name.clone());
                let heading = {
                    let name = name.clone();
                    move || match info.get() {
                        Some(i) => format!("{name} · karma {}", i.karma),
                        None => name.clone(),
                    }
                };
                let timeouts = moderation::TIMEOUT_CHOICES.map(|secs| {
                    let (who, name) = (sender_id.clone(), name.clone());
                    let suggested = move || info.with(|i| preselect(i.as_ref().and_then(|i| i.suggested_seconds)) == secs);
                    view! {
                        <button part="chat-timeout" class="item" type="button" role="menuitem"
                            data-suggested=move || suggested().then_some("")
                            on:click=move |_| act(Action::Timeout(who.clone(), Some(secs), None), name.clone())>
                            {length_label(secs)}
                            {move || suggested().then_some(" (suggested)")}
                        </button>
                    }
                });
                let (lift, lift_name) = (sender_id.clone(), name.clone());
                let (ban, ban_name) = (sender_id.clone(), name.clone());
                let del_name = format!("{name}'s message");
                view! {
                    <div part="chat-menu" class="menu" role="menu" aria-label=format!("Moderate {name}")
                        node_ref=menu on:keydown=keydown>
                        <p class="menu-head">{heading}</p>
                        {timeouts}
                        <button class="item" type="button" role="menuitem"
                            on:click=move |_| act(Action::Untimeout(lift.clone()), lift_name.clone())>"Lift timeout"</button>
                        <button class="item" type="button" role="menuitem"
                            on:click=move |_| act(Action::Ban(ban.clone(), None), ban_name.clone())>"Ban"</button>
                        {message.clone().map(|del| view! {
                            <button class="item" type="button" role="menuitem"
                                on:click=move |_| act(Action::Delete(del.clone()), del_name.clone())>"Delete"</button>
                        })}
                        {image.zip(message.clone()).map(|(hidden, id)| {
                            let (nsfw, label) = if hidden { (false, "Mark safe") } else { (true, "Mark NSFW") };
                            let what = format!("{name}'s image");
                            view! {
                                <button part="chat-mark" class="item" type="button" role="menuitem"
                                    on:click=move |_| act(Action::Mark(id.clone(), nsfw), what.clone())>{label}</button>
                            }
                        })}
                    </div>
                }
            }
        </Show>
    }
}

/// Moves the focus to the next (or previous) item of the menu, wrapping.
fn step(menu: NodeRef<Div>, down: bool) {
    let Some(menu) = menu.get_untracked() else {
        return;
    };
    let Ok(items) = menu.query_selector_all("[role=\"menuitem\"]") else {
        return;
    };
    let count = items.length();
    if count == 0 {
        return;
    }
    let active = menu
        .get_root_node()
        .dyn_into::<web_sys::ShadowRoot>()
        .ok()
        .and_then(|r| r.active_element());
    let at = (0..count).find(|&i| {
        items
            .item(i)
            .is_some_and(|n| Some(n) == active.clone().map(Into::into))
    });
    let next = match (at, down) {
        (Some(i), true) => (i + 1) % count,
        (Some(i), false) => (i + count - 1) % count,
        (None, true) => 0,
        (None, false) => count - 1,
    };
    if let Some(el) = items
        .item(next)
        .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// Focuses the first element matching `selector` in `node` once rendered.
fn focus_in(node: NodeRef<Div>, selector: &'static str) {
    spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(0).await;
        let found = node
            .get_untracked()
            .and_then(|n| n.query_selector(selector).ok().flatten());
        if let Some(el) = found.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.focus();
        }
    });
}

/// An image attachment: blurred while hidden (NSFW, unreviewed) until the
/// viewer presses "Show image" (this image, this page).
pub fn image(app: App, message: &Message, server: &str) -> Option<impl IntoView> {
    let media = message
        .media
        .as_ref()
        .filter(|m| m.kind == MediaKind::Image)?;
    let src = media_url(server, media.thumbnail.as_deref()?)?;
    let size = media.width.zip(media.height);
    Some(hidden_image(
        app,
        message.id.clone(),
        src,
        media.name.clone(),
        media.hidden(),
        size,
    ))
}

/// The largest box an image is shown in (CSS pixels; `.image` in the CSS).
const IMAGE_BOX: (u32, u32) = (240, 160);

/// An image at `src` (of message `id`, named `alt`), blurred while
/// `hidden` until the viewer chooses to see it. With its `size` the
/// blurred placeholder keeps the picture's shape.
pub fn hidden_image(
    app: App,
    id: String,
    src: String,
    alt: String,
    hidden: bool,
    size: Option<(u32, u32)>,
) -> impl IntoView {
    let shown = {
        let id = id.clone();
        Memo::new(move |_| !hidden || app.revealed.with(|r| r.contains(&id)))
    };
    let show = move |_| {
        app.revealed.update(|r| {
            r.insert(id.clone());
        })
    };
    let label = format!("Show image {alt} (marked not safe or not reviewed)");
    let fitted = size.map(|s| crate::info::fit(s, IMAGE_BOX));
    let (width, height) = (fitted.map(|s| s.0), fitted.map(|s| s.1));
    view! {
        <span class="media">
            <img part="chat-image" class="image" class:blurred=move || !shown.get() src=src width=width height=height
                alt=move || if shown.get() { alt.clone() } else { "Hidden image".to_owned() } />
            {move || (!shown.get()).then(|| view! {
                <button part="chat-show-image" class="act" type="button" aria-label=label.clone() on:click=show.clone()>
                    "Show image"
                </button>
            })}
        </span>
    }
}

/// The timed-out (or banned) viewer's banner: why, once, as a status; a
/// countdown beside it that is not announced. At the end the composer
/// comes back by itself.
pub fn standing_banner(app: App) -> impl IntoView {
    move || {
        let standing = app.standing.get();
        if standing.banned {
            return Some(view! {
                <div part="chat-banned" class="banner" role="status">"You are banned from this channel."</div>
            }
            .into_any());
        }
        let timeout = standing.timeout?;
        let now = RwSignal::new(js_sys::Date::now() as i64);
        let until = timeout.until;
        use_interval(Duration::from_secs(1), move || {
            let t = js_sys::Date::now() as i64;
            now.set(t);
            if t >= until {
                app.standing.update(|s| s.timeout = None);
                app.notice
                    .set("Your timeout is over: you can post again.".to_owned());
                app.refresh_standing();
            }
        });
        let at = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(until as f64));
        let sentence = format!(
            "{} (at {:02}:{:02})",
            banner(&timeout),
            at.get_hours(),
            at.get_minutes()
        );
        Some(view! {
            <div part="chat-timed-out" class="banner">
                <p role="status">{sentence}</p>
                <p class="countdown" aria-hidden="true">{move || countdown(until, now.get())}</p>
            </div>
        }
        .into_any())
    }
}

/// Whether the composer is off (timed out or banned).
pub fn silenced(app: App) -> bool {
    app.standing.with(|s| s.banned || s.timeout.is_some())
}

/// The owner's form: appoint a moderator for this event (until a time
/// today or tomorrow) or in general.
pub fn appoint_form(app: App) -> impl IntoView {
    let user = RwSignal::new(String::new());
    let general = RwSignal::new(false);
    let until = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let user = user
            .get_untracked()
            .trim()
            .trim_start_matches('@')
            .to_owned();
        let term = if general.get_untracked() {
            "general".to_owned()
        } else {
            format!("until {}", until.get_untracked())
        };
        match app.submit(format!("/mod @{user} {term}")) {
            Ok(()) => app.show(Screen::Chat),
            Err(why) => app.notice.set(why),
        }
    };
    view! {
        <form part="chat-appoint" class="form" aria-label="Appoint moderator" on:submit=submit>
            <label>"Matrix ID" <input part="chat-appoint-user" type="text" placeholder="@name:server" required
                prop:value=move || user.get() on:input=move |ev| user.set(event_target_value(&ev)) /></label>
            <fieldset>
                <legend>"For how long"</legend>
                <label><input type="radio" name="term" prop:checked=move || !general.get()
                    on:change=move |_| general.set(false) />" This event, until "</label>
                <input part="chat-appoint-until" type="time" aria-label="Until (local time)" prop:value=move || until.get()
                    on:input=move |ev| until.set(event_target_value(&ev)) disabled=move || general.get() />
                <label><input type="radio" name="term" prop:checked=move || general.get()
                    on:change=move |_| general.set(true) />" All my channels, until removed"</label>
            </fieldset>
            <button part="chat-appoint-button" class="primary" type="submit" disabled=move || app.busy.get()>"Appoint"</button>
            <button class="link" type="button" on:click=move |_| app.show(Screen::Chat)>"Cancel"</button>
        </form>
    }
}
