//! A public channel's tabs (Chat, "Links & media", People) and the two
//! information panels, thin: what they show is read by `web/info`, the
//! rules are in [`crate::info`]. The tabs follow the ARIA tabs pattern:
//! one tab stop, arrows (and Home, End) move and select, each panel is
//! labelled by its tab.

use super::app::App;
use super::moderation_view::{hidden_image, menu, Target};
use super::private::is_private;
use crate::commands::senders;
use crate::info::{when, LinkItem, Tab};
use chyron::browser::use_interval;
use chyron::media::media_url;
use leptos::ev::KeyboardEvent;
use leptos::html::Div;
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::JsCast;

/// How often the People panel reads the counts again while shown.
const PEOPLE_EVERY: Duration = Duration::from_secs(15);

/// The id of a tab's button and of its panel.
pub fn tab_id(tab: Tab) -> String {
    format!("chyron-tab-{}", tab.slug())
}

/// The id of a tab's panel.
pub fn panel_id(tab: Tab) -> String {
    format!("chyron-panel-{}", tab.slug())
}

/// The tab list, on a public channel only.
pub fn tabs(app: App) -> impl IntoView {
    let list = NodeRef::<Div>::new();
    let shown = move || Tab::shown(app.standing.with(|s| s.role.moderates()));
    let keydown = move |ev: KeyboardEvent| {
        let tabs = Tab::shown(app.standing.with_untracked(|s| s.role.moderates()));
        let Some(to) = app.tab.get_untracked().after_key(&ev.key(), &tabs) else {
            return;
        };
        ev.prevent_default();
        app.tab.set(to);
        let found = list
            .get_untracked()
            .and_then(|l| l.query_selector(&format!("#{}", tab_id(to))).ok().flatten());
        if let Some(el) = found.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.focus();
        }
    };
    move || {
        (!is_private(&app.current.get())).then(|| {
            let buttons = shown().into_iter().map(|tab| {
                let selected = move || app.tab.get() == tab;
                view! {
                    <button part=format!("chat-tab chat-tab-{}", tab.slug()) class="tab" type="button" role="tab"
                        id=tab_id(tab) aria-controls=panel_id(tab)
                        aria-selected=move || selected().to_string()
                        tabindex=move || if selected() { "0" } else { "-1" }
                        on:click=move |_| app.tab.set(tab)>
                        {tab.label()}
                    </button>
                }
            }).collect_view();
            view! {
                <div part="chat-tabs" class="tabs" role="tablist" aria-label="Channel views"
                    node_ref=list on:keydown=keydown>
                    {buttons}
                </div>
            }
        })
    }
}

/// The "Links & media" panel: read again each time it is opened.
pub fn links_panel(app: App) -> impl IntoView {
    app.load_links(false);
    let server = app.server.get_value();
    let items = move || app.links.with(|l| l.items.clone());
    let state = move || {
        app.links.with(|l| match (l.loaded, l.items.is_empty()) {
            (false, _) => Some("Loading links…"),
            (true, true) => Some("No links or media posted here yet."),
            (true, false) => None,
        })
    };
    view! {
        <div part="chat-links" class="info" role="tabpanel" id=panel_id(Tab::Links)
            aria-labelledby=tab_id(Tab::Links) tabindex="0">
            {move || state().map(|s| view! { <p part="chat-empty" class="hint empty">{s}</p> })}
            <ul class="items">
                <For each=items key=|i: &LinkItem| format!("{}|{:?}", i.key(), i.mark) let:item>
                    {link_row(app, item, &server)}
                </For>
            </ul>
            {move || app.links.with(|l| l.older.is_some()).then(|| view! {
                <button part="chat-links-older" class="act" type="button" on:click=move |_| app.load_links(true)>
                    "Load older"
                </button>
            })}
        </div>
    }
}

/// The viewer's local time of `ts` (today: the clock; else with the day).
pub fn local_when(ts: i64) -> String {
    let now = js_sys::Date::now();
    let offset =
        -(js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(now)).get_timezone_offset() as i64);
    when(ts, now as i64, offset)
}

fn link_row(app: App, item: LinkItem, server: &str) -> impl IntoView {
    let what = match (item.kind.as_str(), item.href()) {
        ("link", Some(url)) => {
            let url = url.to_owned();
            view! {
                <a part="chat-link-url" class="url" href=url.clone() target="_blank"
                    rel="noopener noreferrer nofollow">{url.clone()}</a>
            }
            .into_any()
        }
        ("image", _) => {
            let src = item.thumbnail.as_deref().and_then(|p| media_url(server, p));
            let name = item.name.clone().unwrap_or_else(|| "image".to_owned());
            match src {
                Some(src) => {
                    hidden_image(app, item.message_id.clone(), src, name, item.hidden(), None)
                        .into_any()
                }
                None => view! { <span class="file">{format!("Image: {name}")}</span> }.into_any(),
            }
        }
        (kind, _) => {
            let name = item.name.clone().unwrap_or_default();
            view! { <span class="file">{format!("{kind}: {name}")}</span> }.into_any()
        }
    };
    let meta = format!("{} · {}", item.sender, local_when(item.ts));
    view! {
        <li part="chat-link" class="item" data-kind=item.kind.clone()>
            {what}
            <span part="chat-link-meta" class="meta">{meta}</span>
        </li>
    }
}

/// The People panel: counts for everyone, every 15 s while shown; for
/// moderators and up, who is here now and who was seen, each with the
/// Moderate menu.
pub fn people_panel(app: App) -> impl IntoView {
    app.load_people();
    use_interval(PEOPLE_EVERY, move || app.load_people());
    // A role learnt after opening (the standing arrives) brings the lists.
    let moderates = Memo::new(move |_| app.standing.with(|s| s.role.moderates()));
    Effect::new(move |was: Option<bool>| {
        let now = moderates.get();
        if was.is_some_and(|w| w != now) {
            app.load_people();
        }
        now
    });
    let counts = move || {
        app.people.with(|p| {
            p.as_ref()
                .map_or_else(|| "Counting…".to_owned(), |p| p.sentence())
        })
    };
    let lists = move || {
        let (present, seen) = app.people.with(|p| {
            let p = p.as_ref()?;
            Some((p.present.clone()?, p.seen_list.clone().unwrap_or_default()))
        })?;
        let here = present
            .into_iter()
            .map(|p| person(app, p.user_id, None))
            .collect_view();
        let seen = seen
            .into_iter()
            .map(|s| {
                let note = format!(
                    "{}seen {}",
                    if s.posted { "posted · " } else { "" },
                    local_when(s.last_seen)
                );
                person(app, s.user_id, Some(note))
            })
            .collect_view();
        Some(view! {
            <h2 class="info-head">"Here now"</h2>
            <ul part="chat-people-here" class="items">{here}</ul>
            <h2 class="info-head">"Seen during this event"</h2>
            <ul part="chat-people-seen" class="items">{seen}</ul>
        })
    };
    view! {
        <div part="chat-people" class="info" role="tabpanel" id=panel_id(Tab::People)
            aria-labelledby=tab_id(Tab::People) tabindex="0">
            <p part="chat-people-counts" class="counts">{counts}</p>
            {lists}
        </div>
    }
}

/// One person of a moderator's list: their name (from the channel's
/// lines, else their id), a note, and the Moderate menu (not on oneself).
fn person(app: App, user_id: String, note: Option<String>) -> impl IntoView {
    let channel = app.current.get_untracked();
    let name = app
        .timelines
        .with_untracked(|t| {
            t.get(&channel).and_then(|t| {
                senders(t.lines())
                    .into_iter()
                    .find(|(id, _)| *id == user_id)
                    .map(|(_, n)| n)
            })
        })
        .unwrap_or_else(|| user_id.clone());
    let me = app.my_id() == user_id;
    let target = (!me).then(|| Target {
        key: format!("person:{user_id}"),
        sender_id: user_id.clone(),
        name: name.clone(),
        message: None,
        image: None,
        label: format!("Moderate {name}"),
    });
    view! {
        <li part="chat-person" class="item" data-user=user_id.clone()>
            <span class="person">{name}</span>
            {note.map(|n| view! { <span class="meta">{n}</span> })}
            {target.map(|t| menu(app, t))}
        </li>
    }
}
