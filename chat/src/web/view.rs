//! The chat panel: channel tabs, the conversation, and the footer (composer
//! or a form). Thin: state and rules are in [`App`] and the plain modules.
//!
//! Bodies and names reach the DOM as text nodes; a formatted body is built
//! from the inert parse of its HTML by the allow-list (`render`), never
//! assigned as HTML. The log is not a live region itself (a snapshot of a
//! hundred lines would be read out); new lines are announced one at a time
//! through the panel's own throttled polite region, and the captions are
//! silent while chat is open, so nothing is announced twice.

use super::app::App;
use super::focus::use_footer_focus;
use super::forms::footer;
use super::info_view::{links_panel, panel_id, people_panel, tab_id, tabs};
use super::modlog_view::moderation_panel;
use super::private::{is_private, PRIVATE_LIST};
use super::private_view::{conversation_head, mods_tabs, private_list, private_tab};
use super::render::render;
use super::scroll::use_scroll;
use crate::info::Tab;
use crate::timeline::{PostState, Row};
use chyron::media::media_url;
use chyron_protocol::{sender_color_slot, Message, Source};
use leptos::html::{Div, Span};
use leptos::prelude::*;

/// The whole panel.
pub fn panel(app: App) -> impl IntoView {
    let foot = NodeRef::<Div>::new();
    use_footer_focus(app, foot);
    // What fills the panel: the private list, the log, or a public
    // channel's information tab (re-created only when that changes).
    let body = Memo::new(move |_| {
        let key = app.current.get();
        match (key == PRIVATE_LIST, is_private(&key)) {
            (true, _) => Body::List,
            (false, true) => Body::Conversation,
            (false, false) => match app.tab.get() {
                // The role went: back to the chat.
                Tab::Moderation if !app.standing.with(|s| s.role.moderates()) => {
                    Body::Tab(Tab::Chat)
                }
                tab => Body::Tab(tab),
            },
        }
    });
    view! {
        <section part="chat" class="chat" aria-label="Chat">
            {header(app)}
            {tabs(app)}
            {move || {
                let key = app.current.get();
                key.starts_with('!').then(|| conversation_head(app, key))
            }}
            {move || match body.get() {
                Body::List => private_list(app).into_any(),
                Body::Conversation | Body::Tab(Tab::Chat) => log(app).into_any(),
                Body::Tab(Tab::Links) => links_panel(app).into_any(),
                Body::Tab(Tab::People) => people_panel(app).into_any(),
                Body::Tab(Tab::Moderation) => moderation_panel(app).into_any(),
            }}
            <p part="chat-notice" class="notice" role="status">{move || app.notice.get()}</p>
            <div class="foot" node_ref=foot>
                {move || matches!(body.get(), Body::List | Body::Conversation | Body::Tab(Tab::Chat)).then(|| footer(app))}
            </div>
        </section>
    }
}

/// What fills the panel below the header.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    /// The private conversations' list.
    List,
    /// A private conversation.
    Conversation,
    /// A public channel's tab.
    Tab(Tab),
}

fn header(app: App) -> impl IntoView {
    let tabs = move || {
        app.channels.with(|channels| {
            channels
                .iter()
                .map(|c| (c.channel.clone(), c.title.clone()))
                .collect::<Vec<_>>()
        })
    };
    let unread = move |channel: String| {
        move || {
            let me = app
                .me
                .with(|m| m.as_ref().map(|m| m.user_id.clone()))
                .unwrap_or_default();
            let count = app.prefs.with(|p| {
                app.timelines.with(|t| {
                    t.get(&channel)
                        .map_or(0, |t| t.unread_count(p.read.get(&channel), &me, &p.mutes))
                })
            });
            let here = app.current.get() == channel;
            (count > 0 && !here).then(|| {
                let label = format!("{count} unread");
                view! { <span part="chat-unread-count" class="count" aria-label=label>{count.min(99)}</span> }
            })
        }
    };
    view! {
        <header part="chat-header" class="head">
            <nav part="chat-channels" class="channels" aria-label="Channels">
                <For each=tabs key=|t| t.0.clone() let:tab>
                    {
                        let (channel, title) = tab;
                        let here = {
                            let channel = channel.clone();
                            move || (app.current.get() == channel).then_some("page")
                        };
                        let pick = channel.clone();
                        view! {
                            <button
                                part="chat-channel"
                                class="channel"
                                type="button"
                                aria-current=here
                                on:click=move |_| app.switch(pick.clone())
                            >
                                {title}
                                {unread(channel)}
                            </button>
                        }
                    }
                </For>
                {private_tab(app)}
                {mods_tabs(app)}
            </nav>
            <div class="modes">
                <button part="chat-close" class="mode" type="button"
                    on:click=move |_| app.set_mode("captions")>
                    "Captions"
                </button>
                <button part="chat-hide" class="mode" type="button"
                    on:click=move |_| app.set_mode("hidden")>
                    "Hide"
                </button>
            </div>
        </header>
    }
}

/// The conversation: lines, the unread divider, own pending posts.
fn log(app: App) -> impl IntoView {
    let server = app.server.get_value();
    let rows = move || {
        let channel = app.current.get();
        // Who is looking: a line's buttons (mute, delete) depend on it.
        let viewer = app.me.with(|m| {
            m.as_ref()
                .map_or_else(String::new, |m| format!("{}|{}", m.user_id, m.guest))
        });
        app.prefs.with(|p| {
            app.timelines.with(|t| {
                t.get(&channel)
                    .map(|t| {
                        t.rows(&p.mutes)
                            .into_iter()
                            .map(|row| match row {
                                Row::Line(l) => {
                                    Item::Line(Box::new(l.message.clone()), viewer.clone())
                                }
                                Row::Unread => Item::Unread,
                                Row::Post(p) => {
                                    Item::Post(p.txn.clone(), p.text.clone(), p.state.clone())
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        })
    };
    let node = NodeRef::<Div>::new();
    let on_scroll = use_scroll(app, node);
    // The log role is on a wrapper: on the list itself it would take the
    // list semantics (and with them the lines' "item n of m") away.
    // On a public channel the log is the Chat tab's panel.
    let public = !is_private(&app.current.get_untracked());
    view! {
        <div class="tabpanel" role=public.then_some("tabpanel") id=public.then(|| panel_id(Tab::Chat))
            aria-labelledby=public.then(|| tab_id(Tab::Chat))>
        <div part="chat-log" class="log" role="log" aria-live="off" aria-label="Messages" tabindex="0"
            node_ref=node on:scroll=on_scroll>
            <ol class="rows">
                <For each=rows key=Item::key let:item>
                    {item.view(app, &server)}
                </For>
            </ol>
            {move || empty_log(app)}
        </div>
        </div>
    }
}

/// What an empty log says: still loading, or nothing said yet.
fn empty_log(app: App) -> Option<impl IntoView> {
    let channel = app.current.get();
    let state = app.timelines.with(|t| {
        t.get(&channel)
            .map(|t| (t.epoch().is_some(), t.lines().is_empty()))
    });
    let text = match state {
        None | Some((false, _)) => "Loading messages…",
        Some((true, true)) => "No messages here yet.",
        Some((true, false)) => return None,
    };
    Some(view! { <p part="chat-empty" class="hint empty">{text}</p> })
}

/// One row of the log, owned (the view outlives the timeline borrow).
#[derive(Clone, PartialEq)]
enum Item {
    /// A message, and who is looking (user id and guest flag).
    Line(Box<Message>, String),
    Unread,
    Post(String, String, PostState),
}

impl Item {
    /// Keyed by what changes the row: an edit, a rename or another viewer
    /// (signing in) re-renders it.
    fn key(&self) -> String {
        match self {
            Item::Line(m, viewer) => format!(
                "m{}|{}|{}|{:?}|{}|{:?}|{:?}|{viewer}",
                m.id,
                m.edited,
                m.body,
                m.html,
                m.sender,
                m.avatar,
                m.media.as_ref().map(|m| m.mark)
            ),
            Item::Unread => "unread".to_owned(),
            Item::Post(txn, _, state) => format!("p{txn}|{state:?}"),
        }
    }

    fn view(self, app: App, server: &str) -> AnyView {
        match self {
            Item::Unread => view! {
                <li part="chat-unread" class="unread">
                    "New messages"
                </li>
            }
            .into_any(),
            Item::Line(message, _) => line(app, *message, server).into_any(),
            Item::Post(txn, text, state) => post(app, txn, text, state).into_any(),
        }
    }
}

fn line(app: App, message: Message, server: &str) -> impl IntoView {
    let avatar = message.avatar.as_deref().and_then(|p| media_url(server, p));
    let slot = sender_color_slot(&message.sender_id);
    let body = NodeRef::<Span>::new();
    if let Some(html) = message.html.clone() {
        body.on_load(move |span| {
            render(&html, &span);
        });
    }
    let own = app
        .me
        .with_untracked(|m| m.as_ref().is_some_and(|m| m.user_id == message.sender_id));
    let actions = line_actions(app, &message, own);
    let image = super::moderation_view::image(app, &message, server);
    let menu = (!own && !is_private(&app.current.get_untracked())).then(|| {
        let message = message.clone();
        move || {
            app.standing
                .with(|s| s.role.moderates())
                .then(|| super::moderation_view::line_menu(app, &message))
        }
    });
    view! {
        <li part="chat-line" class="line" class:own=own>
            {avatar.map(|src| view! { <img part="chat-avatar" class="avatar" src=src alt="" /> })}
            <span part="chat-sender" class=format!("sender s{slot}")>{message.sender.clone()}</span>
            " "
            <span part="chat-body" class="body" node_ref=body>{message.body.clone()}</span>
            {message.edited.then(|| view! { <span part="chat-edited" class="edited">" (edited)"</span> })}
            {image}
            {actions}
            {menu}
        </li>
    }
}

/// Why a guest's Delete does nothing.
const GUEST_DELETE: &str =
    "Guests cannot delete messages on this server. Keep your name (create an account) to delete.";

fn line_actions(app: App, message: &Message, own: bool) -> impl IntoView {
    let guest = app
        .me
        .with_untracked(|m| m.as_ref().is_some_and(|m| m.guest));
    let event_id = message.matrix_event_id().map(str::to_owned);
    let (sender_id, name) = (message.sender_id.clone(), message.sender.clone());
    let mute_label = format!("Mute {name}");
    let message_label = format!("Message {name} privately");
    let public = !is_private(&app.current.get_untracked());
    let other = !own && app.me.with_untracked(Option::is_some) && public;
    let to = sender_id.clone();
    view! {
        <span class="actions">
            {(other && message.source == Source::Matrix).then(|| view! {
                <button part="chat-message" class="act" type="button" aria-label=message_label.clone()
                    title=message_label on:click=move |_| app.message(to.clone())>
                    "Message"
                </button>
            })}
            {other.then(|| {
                view! {
                    <button part="chat-mute" class="act" type="button" aria-label=mute_label.clone() title=mute_label
                        on:click=move |_| app.mute(sender_id.clone(), name.clone())>
                        "Mute"
                    </button>
                }
            })}
            {(own && event_id.is_some()).then(|| {
                let id = event_id.clone().unwrap_or_default();
                if guest {
                    // Synapse refuses guests' redactions: the button says
                    // why instead of failing.
                    view! {
                        <button part="chat-delete" class="act off" type="button" aria-disabled="true"
                            aria-label="Delete your message (needs an account)"
                            on:click=move |_| app.notice.set(GUEST_DELETE.to_owned())>
                            "Delete"
                        </button>
                    }
                    .into_any()
                } else {
                    view! {
                        <button part="chat-delete" class="act" type="button" aria-label="Delete your message"
                            on:click=move |_| app.delete(id.clone())>
                            "Delete"
                        </button>
                    }
                    .into_any()
                }
            })}
        </span>
    }
}

fn post(app: App, txn: String, text: String, state: PostState) -> impl IntoView {
    let name = app
        .me
        .with_untracked(|m| m.as_ref().map(|m| m.name.clone()))
        .unwrap_or_default();
    let status = match &state {
        PostState::Sending | PostState::Sent(_) => view! {
            <span part="chat-pending" class="pending">" Sending…"</span>
        }
        .into_any(),
        PostState::Held(why) => {
            let why = format!(" Held: {why}");
            view! { <span part="chat-held" class="pending" role="status">{why}</span> }.into_any()
        }
        PostState::Failed(why) => {
            let why = format!(" Not sent: {why}");
            view! {
                <span part="chat-failed" class="failed" role="alert">{why}</span>
                <button part="chat-retry" class="act" type="button" on:click=move |_| app.retry(txn.clone())>
                    "Retry"
                </button>
            }
            .into_any()
        }
    };
    view! {
        <li part="chat-line" class="line own pending-line">
            <span part="chat-sender" class="sender">{name}</span>
            " "
            <span part="chat-body" class="body">{text}</span>
            {status}
        </li>
    }
}
