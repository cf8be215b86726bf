//! The private side of the panel: the "Private" tab with its count, the
//! list of conversations and invites, a conversation's heading (who, that it
//! is encrypted, block, leave) and its footer, and the count on the
//! captions' Chat button while the chat is closed.

use super::app::App;
use super::private::{is_private, PRIVATE_LIST};
use crate::matrix_private::MAX_INVITES;
use crate::private::{Conversation, Kind};
use leptos::prelude::*;

/// Unread lines of private conversation `room_id` (tracked: the view
/// updates with it).
fn conversation_unread(app: App, room_id: &str) -> usize {
    let me = app.my_id();
    app.prefs.with(|prefs| {
        app.timelines.with(|t| {
            t.get(room_id).map_or(0, |t| {
                app.private
                    .with(|p| t.unread_count(prefs.read.get(room_id), &me, &p.blocked))
            })
        })
    })
}

/// Unread private lines plus invites waiting: the count on the tab and on
/// the captions' Chat button. The conversation on screen counts while the
/// chat is closed only.
pub fn private_unread(app: App) -> usize {
    let shown = app.open.get().then(|| app.current.get());
    let (invites, rooms) = app.private.with(|p| {
        let rooms: Vec<String> = p
            .list()
            .iter()
            .map(|c| c.room_id.clone())
            .filter(|r| shown.as_deref() != Some(r.as_str()))
            .collect();
        (p.invites().len(), rooms)
    });
    invites
        + rooms
            .iter()
            .map(|r| conversation_unread(app, r))
            .sum::<usize>()
}

/// The "Private" tab (signed-in viewers only).
pub fn private_tab(app: App) -> impl IntoView {
    move || {
        app.me.with(Option::is_some).then(|| {
            // A moderators' room has its own button.
            let here = move || {
                let key = app.current.get();
                let mods = app.private.with(|p| p.get(&key).is_some_and(|c| c.mods_owner.is_some()));
                (is_private(&key) && !mods).then_some("page")
            };
            let count = move || {
                let n = private_unread(app);
                (n > 0).then(|| {
                    let label = format!("{n} unread");
                    view! { <span part="chat-unread-count" class="count" aria-label=label>{n.min(99)}</span> }
                })
            };
            view! {
                <button part="chat-channel chat-private-tab" class="channel" type="button"
                    aria-current=here on:click=move |_| app.show_private()>
                    "Private"
                    {count}
                </button>
            }
        })
    }
}

/// Keeps the captions' Chat button telling how many private messages wait
/// (an attribute the overlay's stylesheet shows as a badge, and its label).
pub fn use_chat_button_count(app: App) {
    Effect::new(move |_| {
        let n = private_unread(app);
        let root = app.shadow.get_value();
        let Ok(Some(button)) = root.query_selector("[part~=\"chat-open\"]") else {
            return;
        };
        if n == 0 {
            let _ = button.remove_attribute("data-unread");
            let _ = button.remove_attribute("aria-label");
        } else {
            let _ = button.set_attribute("data-unread", &n.min(99).to_string());
            let _ = button.set_attribute("aria-label", &format!("Chat: {n} new private"));
        }
    });
}

/// The list: notes, invites, conversations, most recent first.
pub fn private_list(app: App) -> impl IntoView {
    let invites = move || {
        app.private.with(|p| {
            p.invites()
                .into_iter()
                .map(|c| {
                    (
                        c.room_id.clone(),
                        c.title(),
                        c.invited_by.clone().unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    let conversations = move || {
        app.private
            .with(|p| p.list().into_iter().map(summary).collect::<Vec<_>>())
    };
    view! {
        <div part="chat-private" class="private">
            <h2 class="private-head">"Private messages"</h2>
            <p part="chat-private-note" class="hint" role="status">{move || app.private_note.get()}</p>
            <p class="hint">
                "End-to-end encrypted: only the people in a conversation can read it. "
                "Start one from someone's line (Message), or keep notes for yourself."
            </p>
            <ul class="invites" aria-label="Invitations">
                <For each=invites key=|i| i.0.clone() let:invite>
                    {invite_row(app, invite.0, invite.1, invite.2)}
                </For>
            </ul>
            <ul class="conversations" aria-label="Conversations">
                <For each=conversations key=|c| c.clone() let:c>
                    {conversation_row(app, c)}
                </For>
            </ul>
            {move || app.private.with(|p| p.notes().is_none()).then(|| view! {
                <button part="chat-notes" class="act" type="button" on:click=move |_| app.open_notes()>
                    "Start your notes"
                </button>
            })}
            {new_conversation(app)}
        </div>
    }
}

/// What a row of the list shows, owned: (room id, title, kind, alone).
type Summary = (String, String, bool, bool);

fn summary(c: &Conversation) -> Summary {
    (
        c.room_id.clone(),
        c.title(),
        c.kind() == Kind::Notes,
        c.alone(),
    )
}

fn conversation_row(app: App, (room_id, title, notes, alone): Summary) -> impl IntoView {
    let unread = {
        let room_id = room_id.clone();
        move || {
            let n = conversation_unread(app, &room_id);
            (n > 0).then(|| view! { <span part="chat-unread-count" class="count" aria-label=format!("{n} unread")>{n.min(99)}</span> })
        }
    };
    let label = if notes {
        "Notes (only you)".to_owned()
    } else {
        title.clone()
    };
    view! {
        <li>
            <button part="chat-conversation" class="conversation" type="button"
                on:click=move |_| app.switch(room_id.clone())>
                {label}
                {alone.then(|| view! { <span class="hint">" (left)"</span> })}
                {unread}
            </button>
        </li>
    }
}

fn invite_row(app: App, room_id: String, title: String, from: String) -> impl IntoView {
    let (accept, decline) = (room_id.clone(), room_id);
    let block = from.clone();
    let name = title.clone();
    view! {
        <li part="chat-invite" class="invite">
            <span>{format!("{title} invited you to a private conversation.")}</span>
            <button class="act" type="button" on:click=move |_| app.accept_invite(accept.clone())>"Accept"</button>
            <button class="act" type="button" on:click=move |_| app.leave_conversation(decline.clone())>"Decline"</button>
            <button class="act" type="button" aria-label=format!("Block {name}")
                on:click=move |_| app.set_blocked(block.clone(), name.clone(), true)>
                "Block"
            </button>
        </li>
    }
}

/// A conversation's heading: its title, that it is encrypted (or not),
/// back to the list, and block / leave.
pub fn conversation_head(app: App, room_id: String) -> impl IntoView {
    move || {
        let c = app.private.with(|p| p.get(&room_id).cloned())?;
        let blocked = app.private.with(|p| p.is_blocked(&room_id));
        let other = (c.kind() == Kind::Direct)
            .then(|| {
                c.others
                    .iter()
                    .next()
                    .map(|(id, m)| (id.clone(), m.name.clone()))
            })
            .flatten();
        let lock = if c.encrypted {
            "End-to-end encrypted"
        } else {
            "Not encrypted"
        };
        let leave = c.room_id.clone();
        Some(view! {
            <div part="chat-conversation-head" class="conversation-head">
                <button class="act" type="button" on:click=move |_| app.switch(PRIVATE_LIST.to_owned())>
                    "← All private"
                </button>
                <h2 class="private-head">{c.title()}</h2>
                <span part="chat-encrypted" class="hint">{lock}</span>
                {other.map(|(id, name)| {
                    let (text, label) = if blocked {
                        ("Unblock", format!("Unblock {name}"))
                    } else {
                        ("Block", format!("Block {name}: no private messages from them"))
                    };
                    view! {
                        <button part="chat-block" class="act" type="button" aria-label=label
                            on:click=move |_| app.set_blocked(id.clone(), name.clone(), !blocked)>
                            {text}
                        </button>
                    }
                })}
                {(c.kind() != Kind::Notes).then(|| view! {
                    <button class="act" type="button" on:click=move |_| app.leave_conversation(leave.clone())>
                        "Leave"
                    </button>
                })}
                {c.alone().then(|| view! {
                    <p part="chat-alone" class="hint">"Everyone else left: messages here reach nobody."</p>
                })}
                {blocked.then(|| view! {
                    <p part="chat-blocked" class="hint">"You blocked them: unblock to write here again."</p>
                })}
            </div>
        })
    }
}

/// The footer in the private side: the composer in a conversation one can
/// write in, else why not; the viewer's account bar.
pub fn private_footer(app: App, key: String) -> impl IntoView {
    let me = app.me.get()?;
    let bar = super::forms::account_bar(app, me.name, me.guest);
    if key == PRIVATE_LIST {
        return Some(bar.into_any());
    }
    // Only blocking or unblocking swaps the composer: a sync (names,
    // members, new lines) must never rebuild it and lose a draft.
    let blocked = {
        let key = key.clone();
        Memo::new(move |_| app.private.with(|p| p.is_blocked(&key)))
    };
    let title = app
        .private
        .with_untracked(|p| p.get(&key).map(Conversation::title).unwrap_or_default());
    let label = format!("Message {title}");
    Some(
        view! {
            {move || (!blocked.get()).then(|| super::forms::composer(app, label.clone()))}
            {bar}
        }
        .into_any(),
    )
}

/// "Start a conversation with…": one or more Matrix IDs.
fn new_conversation(app: App) -> impl IntoView {
    let people = RwSignal::new(String::new());
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let me = app.my_id();
        match crate::private::parse_people(&people.get_untracked(), &me, MAX_INVITES) {
            Ok(list) => {
                people.set(String::new());
                app.start_conversation(list);
            }
            Err(why) => app.notice.set(why),
        }
    };
    view! {
        <form part="chat-new-conversation" class="form" on:submit=start>
            <label for="chyron-people">"Start a conversation with (Matrix IDs, e.g. @name:server)"</label>
            <div class="row">
                <input id="chyron-people" part="chat-new-people" type="text" autocomplete="off"
                    prop:value=move || people.get() on:input=move |ev| people.set(event_target_value(&ev)) />
                <button part="chat-new-start" class="primary" type="submit" disabled=move || app.busy.get()>"Start"</button>
            </div>
        </form>
    }
}

/// The owners' moderators' rooms the viewer is in or invited to, listed
/// with the channels as "Moderators: <owner>"; opening an invite accepts
/// it. Inside it is a private conversation like any other.
pub fn mods_tabs(app: App) -> impl IntoView {
    move || {
        let rooms = app.private.with(|p| {
            p.mods_rooms()
                .into_iter()
                .map(|c| (c.room_id.clone(), c.title(), c.invited_by.is_some()))
                .collect::<Vec<_>>()
        });
        rooms
            .into_iter()
            .map(|(room_id, title, invited)| {
                let here = {
                    let room_id = room_id.clone();
                    move || (app.current.get() == room_id).then_some("page")
                };
                let label = if invited {
                    format!("{title} (invited: opening it joins)")
                } else {
                    title.clone()
                };
                view! {
                    <button part="chat-channel chat-mods-room" class="channel" type="button"
                        data-room=room_id.clone() aria-current=here aria-label=label
                        on:click=move |_| if invited { app.accept_invite(room_id.clone()) } else { app.switch(room_id.clone()) }>
                        {title}
                    </button>
                }
            })
            .collect_view()
    }
}
