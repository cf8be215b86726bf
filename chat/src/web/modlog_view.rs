//! The Moderation tab (moderators and up): the channel's moderation log,
//! newest first with "Load older", Lift and Unban on the timeouts and bans
//! still in force, and the moderators list, where owners can dismiss. The
//! relay checks every request; the rules are in [`crate::modlog`].

use super::app::App;
use super::info::cursor;
use super::info_view::{local_when, panel_id, tab_id};
use crate::info::Tab;
use crate::moderation::Action;
use crate::modlog::{self, describe, LogPage, Moderators};
use leptos::prelude::*;

impl App {
    /// Reads the newest page of the current channel's moderation log
    /// (`older`: the page below instead).
    pub fn load_log(&self, older: bool) {
        let Some(before) = cursor(older, self.modlog.with_untracked(|l| l.before())) else {
            return;
        };
        self.read_page(
            move |c| modlog::log_call(c, before),
            true,
            move |app, page: LogPage| match older {
                true => app.modlog.update(|l| l.older_page(page)),
                false => app.modlog.update(|l| l.newest(page)),
            },
        );
    }

    /// Reads the current channel's moderators.
    pub fn load_moderators(&self) {
        self.read_page(modlog::moderators_call, true, |app, list: Moderators| {
            app.moderators.set(list.moderators)
        });
    }

    /// Runs `action` from the Moderation tab, then reads the tab again.
    fn moderate_here(&self, action: Action, label: String) {
        let app = *self;
        self.moderate_then(action, label, move || {
            app.load_log(false);
            app.load_moderators();
        });
    }
}

/// The Moderation tab's panel: read again each time it is opened.
pub fn moderation_panel(app: App) -> impl IntoView {
    app.load_log(false);
    app.load_moderators();
    let entries = move || {
        let now = js_sys::Date::now() as i64;
        app.modlog.with(|l| {
            l.entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.clone(), l.undo(i, now)))
                .collect::<Vec<_>>()
        })
    };
    let state = move || {
        app.modlog.with(|l| match (l.loaded, l.entries.is_empty()) {
            (false, _) => Some("Loading the log…"),
            (true, true) => Some("Nothing logged here yet."),
            (true, false) => None,
        })
    };
    view! {
        <div part="chat-moderation" class="info" role="tabpanel" id=panel_id(Tab::Moderation)
            aria-labelledby=tab_id(Tab::Moderation) tabindex="0">
            <h2 class="info-head">"Moderators"</h2>
            {moderators(app)}
            <h2 class="info-head">"Moderation log"</h2>
            {move || state().map(|s| view! { <p part="chat-empty" class="hint empty">{s}</p> })}
            <ul part="chat-log-entries" class="items">
                <For each=entries key=|(e, undo)| format!("{}|{:?}", e.id, undo) let:row>
                    {log_row(app, row.0, row.1)}
                </For>
            </ul>
            {move || app.modlog.with(|l| l.before().is_some()).then(|| view! {
                <button part="chat-log-older" class="act" type="button" on:click=move |_| app.load_log(true)>
                    "Load older"
                </button>
            })}
        </div>
    }
}

fn log_row(app: App, entry: modlog::Entry, undo: Option<Action>) -> impl IntoView {
    let text = describe(&entry, local_when);
    let when = local_when(entry.ts);
    let target = entry.target.clone();
    let button = undo.map(|action| {
        let (word, label) = match action {
            Action::Unban(_) => ("Unban", format!("Unban {target}")),
            _ => ("Lift", format!("Lift the timeout of {target}")),
        };
        let who = target.clone();
        view! {
            <button part="chat-log-undo" class="act" type="button" aria-label=label
                on:click=move |_| app.moderate_here(action.clone(), who.clone())>
                {word}
            </button>
        }
    });
    view! {
        <li part="chat-log-entry" class="item" data-action=entry.action.clone()>
            {text}
            <span class="meta">{when}</span>
            {button}
        </li>
    }
}

/// The moderators list; owners (and admins) can dismiss.
fn moderators(app: App) -> impl IntoView {
    move || {
        let dismisses = app.standing.with(|s| s.role.appoints());
        let list = app.moderators.get();
        if list.is_empty() {
            return view! { <p class="hint">"No moderators appointed."</p> }.into_any();
        }
        let rows = list
            .into_iter()
            .map(|m| {
                let term = match m.until {
                    Some(u) => format!("this event, until {}", local_when(u)),
                    None => "all the owner's channels".to_owned(),
                };
                let who = m.user_id.clone();
                let label = format!("Dismiss {who}");
                view! {
                    <li part="chat-moderator" class="item" data-user=m.user_id.clone()>
                        {m.user_id.clone()}
                        <span class="meta">{term}</span>
                        {dismisses.then(|| view! {
                            <button part="chat-dismiss" class="act" type="button" aria-label=label
                                on:click=move |_| app.moderate_here(Action::Dismiss(who.clone()), who.clone())>
                                "Dismiss"
                            </button>
                        })}
                    </li>
                }
            })
            .collect_view();
        view! { <ul part="chat-moderators-list" class="items">{rows}</ul> }.into_any()
    }
}
