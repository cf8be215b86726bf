//! The panel's footer: the composer when the viewer can post, else the
//! form that gets them there (join as a guest, sign in, create an account,
//! keep a guest's name), the channel's rules, the mute list.

use super::app::{App, Screen};
use super::moderation_view::{appoint_form, silenced, standing_banner};
use super::private::is_private;
use super::private_view::private_footer;
use crate::compose::{key_action, KeyAction};
use leptos::ev::KeyboardEvent;
use leptos::html::Textarea;
use leptos::prelude::*;

/// The footer for the current channel and viewer.
pub fn footer(app: App) -> impl IntoView {
    move || {
        let channel = app.current.get();
        if is_private(&channel) {
            return private_footer(app, channel).into_any();
        }
        let Some(info) = app
            .channels
            .with(|c| c.iter().find(|i| i.channel == channel).cloned())
        else {
            return view! { <p class="hint">"Loading the chat…"</p> }.into_any();
        };
        let Some(room) = info.matrix.clone() else {
            return view! {
                <p part="chat-readonly" class="hint">"This channel is read-only: it has no chat room."</p>
            }
            .into_any();
        };
        let screen = app.screen.get();
        let me = app.me.get();
        if let (Some(_), Screen::SignOut) = (&me, screen) {
            return sign_out_confirm(app).into_any();
        }
        match (me, screen) {
            (None, Screen::SignIn) => sign_in(app).into_any(),
            (None, Screen::Register) => register(app, false).into_any(),
            (None, _) => join(app, room.guests_can_post).into_any(),
            (Some(_), Screen::Upgrade) => register(app, true).into_any(),
            (Some(_), Screen::Mutes) => mutes(app).into_any(),
            (Some(_), Screen::Appoint) => appoint_form(app).into_any(),
            (Some(me), _) => {
                let rules = info
                    .rules
                    .clone()
                    .filter(|r| !app.prefs.with(|p| p.accepted(&channel, &r.version)));
                match rules {
                    Some(rules) if rules.required => {
                        rules_gate(app, rules.text, rules.version, true).into_any()
                    }
                    Some(rules) => view! {
                        {rules_gate(app, rules.text, rules.version, false)}
                        {composer(app, format!("Message #{channel}"))}
                        {account_bar(app, me.name, me.guest)}
                    }
                    .into_any(),
                    None => view! {
                        {composer(app, format!("Message #{channel}"))}
                        {account_bar(app, me.name, me.guest)}
                    }
                    .into_any(),
                }
            }
        }
    }
}

fn storage_note(app: App) -> impl IntoView {
    (!app.remembers).then(|| {
        view! {
            <p part="chat-storage-note" class="hint">
                "This browser does not let the chat store anything: you will be signed out when you leave the page."
            </p>
        }
    })
}

fn join(app: App, guests: bool) -> impl IntoView {
    let name = RwSignal::new(app.draft_name.get_value());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        app.join_as_guest(name.get_untracked());
    };
    view! {
        <div part="chat-join" class="form">
            {guests.then(|| view! {
                <form on:submit=submit>
                    <label for="chyron-name">"Your name in the chat"</label>
                    <div class="row">
                        <input id="chyron-name" part="chat-name" type="text" maxlength="64" autocomplete="nickname"
                            prop:value=move || name.get() on:input=move |ev| {
                                let typed = event_target_value(&ev);
                                app.draft_name.set_value(typed.clone());
                                name.set(typed);
                            } />
                        <button part="chat-join-button" class="primary" type="submit" disabled=move || app.busy.get()>
                            "Join chat"
                        </button>
                    </div>
                    <p class="hint">"You chat as a guest: no e-mail, no password."</p>
                </form>
            })}
            {(!guests).then(|| view! {
                <p class="hint">"Guests cannot post in this channel: sign in or create an account."</p>
            })}
            <p class="links">
                <button class="link" type="button" on:click=move |_| app.show(Screen::SignIn)>"Sign in"</button>
                " · "
                <button class="link" type="button" on:click=move |_| app.show(Screen::Register)>"Create an account"</button>
            </p>
            {storage_note(app)}
        </div>
    }
}

fn sign_in(app: App) -> impl IntoView {
    let (user, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        app.sign_in(user.get_untracked(), password.get_untracked());
    };
    view! {
        <form part="chat-sign-in" class="form" on:submit=submit>
            <label for="chyron-user">"Username"</label>
            <input id="chyron-user" type="text" autocomplete="username" autocapitalize="none"
                on:input=move |ev| user.set(event_target_value(&ev)) />
            <label for="chyron-password">"Password"</label>
            <input id="chyron-password" type="password" autocomplete="current-password"
                on:input=move |ev| password.set(event_target_value(&ev)) />
            <div class="row">
                <button class="primary" type="submit" disabled=move || app.busy.get()>"Sign in"</button>
                <button class="link" type="button" on:click=move |_| app.show(Screen::Chat)>"Back"</button>
            </div>
        </form>
    }
}

/// A new account, or (`upgrade`) the guest's own account made permanent.
fn register(app: App, upgrade: bool) -> impl IntoView {
    let (user, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let user = (!upgrade).then(|| user.get_untracked());
        app.register(user, password.get_untracked());
    };
    let id = app.my_id();
    view! {
        <form part="chat-register" class="form" on:submit=submit>
            {upgrade.then(|| view! {
                <p class="hint">{format!("Keep your name and messages: your guest account {id} becomes a full account with a password.")}</p>
            })}
            {(!upgrade).then(|| view! {
                <label for="chyron-new-user">"Username"</label>
                <input id="chyron-new-user" type="text" autocomplete="username" autocapitalize="none"
                    on:input=move |ev| user.set(event_target_value(&ev)) />
            })}
            <label for="chyron-new-password">"Password (at least 8 characters)"</label>
            <input id="chyron-new-password" type="password" autocomplete="new-password"
                on:input=move |ev| password.set(event_target_value(&ev)) />
            <div class="row">
                <button class="primary" type="submit" disabled=move || app.busy.get()>
                    {if upgrade { "Keep my name" } else { "Create account" }}
                </button>
                <button class="link" type="button" on:click=move |_| app.show(Screen::Chat)>"Back"</button>
            </div>
        </form>
    }
}

fn rules_gate(app: App, text: String, version: String, required: bool) -> impl IntoView {
    view! {
        <div part="chat-rules" class="rules" role="region" aria-label="Channel rules">
            <p class="rules-text">{text}</p>
            <button part="chat-rules-accept" class="primary" type="button"
                on:click=move |_| app.accept_rules(version.clone())>
                {if required { "I accept the rules" } else { "OK" }}
            </button>
            {required.then(|| view! { <p class="hint">"Accept the rules to post here."</p> })}
        </div>
    }
}

fn mutes(app: App) -> impl IntoView {
    let list = move || {
        app.prefs
            .with(|p| p.mutes.iter().cloned().collect::<Vec<_>>())
    };
    view! {
        <div part="chat-mutes" class="form">
            <p>"Muted people: their messages are hidden for you, in chat and captions."</p>
            <ul class="mutes">
                <For each=list key=|id| id.clone() let:id>
                    {
                        // The name their newest line carries, beside the id
                        // (a name can be copied; the id cannot).
                        let name = app.timelines.with_untracked(|t| {
                            t.values()
                                .flat_map(|t| t.lines().iter().rev())
                                .find(|l| l.message.sender_id == id)
                                .map(|l| l.message.sender.clone())
                        });
                        let label = format!("Unmute {}", name.as_deref().unwrap_or(&id));
                        let shown = match name {
                            Some(name) => format!("{name} ({id})"),
                            None => id.clone(),
                        };
                        let who = id.clone();
                        view! {
                            <li>
                                <span>{shown}</span>
                                " "
                                <button class="act" type="button" aria-label=label on:click=move |_| app.unmute(who.clone())>
                                    "Unmute"
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
            {move || app.prefs.with(|p| p.mutes.is_empty()).then(|| view! { <p class="hint">"Nobody is muted."</p> })}
            <button class="link" type="button" on:click=move |_| app.show(Screen::Chat)>"Back to chat"</button>
        </div>
    }
}

pub(super) fn account_bar(app: App, name: String, guest: bool) -> impl IntoView {
    view! {
        <p part="chat-account" class="account">
            <span>{format!("You are {name}")}{guest.then_some(" (guest)")}</span>
            {guest.then(|| view! {
                " · "
                <button class="link" type="button" on:click=move |_| app.show(Screen::Upgrade)>"Keep your name"</button>
            })}
            " · "
            <button class="link" type="button" on:click=move |_| app.show(Screen::Mutes)>
                {move || format!("Muted ({})", app.prefs.with(|p| p.mutes.len()))}
            </button>
            {move || app.standing.with(|s| s.role.appoints()).then(|| view! {
                " · "
                <button part="chat-moderators" class="link" type="button" on:click=move |_| app.show(Screen::Appoint)>
                    "Appoint moderator"
                </button>
            })}
            " · "
            <button part="chat-sign-out" class="link" type="button" on:click=move |_| {
                // Signing out takes this device's keys: say so first when
                // there are private conversations to lose.
                if app.private.with_untracked(|p| p.list().is_empty()) {
                    app.sign_out();
                } else {
                    app.show(Screen::SignOut);
                }
            }>"Sign out"</button>
        </p>
    }
}

/// The message box: Enter posts, Shift+Enter breaks the line, Up in an
/// empty box edits the last own message, Escape cancels the edit.
pub(super) fn composer(app: App, label: String) -> impl IntoView {
    let text = RwSignal::new(String::new());
    // Editing: (event id, what was typed before).
    let editing = RwSignal::new(None::<(String, String)>);
    let area = NodeRef::<Textarea>::new();
    let keydown = move |ev: KeyboardEvent| {
        let value = text.get_untracked();
        let action = key_action(
            &ev.key(),
            ev.shift_key(),
            ev.is_composing(),
            value.is_empty(),
            editing.with_untracked(Option::is_some),
        );
        match action {
            KeyAction::Default => {}
            KeyAction::Send => {
                ev.prevent_default();
                let result = match editing.get_untracked() {
                    Some((event_id, draft)) => app.edit(event_id, value).map(|()| {
                        editing.set(None);
                        draft
                    }),
                    None => app.submit(value).map(|()| String::new()),
                };
                match result {
                    Ok(next) => {
                        text.set(next);
                        app.notice.set(String::new());
                    }
                    Err(why) => app.notice.set(why),
                }
            }
            KeyAction::EditLast => {
                let channel = app.current.get_untracked();
                let me = app.my_id();
                let last = app.timelines.with_untracked(|t| {
                    let t = t.get(&channel)?;
                    t.last_own(&me).map(|l| {
                        (
                            l.message.matrix_event_id().unwrap_or_default().to_owned(),
                            t.edit_text(l),
                        )
                    })
                });
                if let Some((event_id, body)) = last {
                    ev.prevent_default();
                    editing.set(Some((event_id, value)));
                    text.set(body);
                }
            }
            KeyAction::CancelEdit => {
                ev.prevent_default();
                if let Some((_, draft)) = editing.get_untracked() {
                    text.set(draft);
                }
                editing.set(None);
            }
        }
    };
    view! {
        {standing_banner(app)}
        <div part="chat-composer" class="composer">
            {move || editing.with(Option::is_some).then(|| view! {
                <p class="hint" id="chyron-editing">"Editing your message: Enter saves, Escape cancels."</p>
            })}
            <textarea
                part="chat-input"
                node_ref=area
                disabled=move || silenced(app)
                rows="2"
                aria-label=label
                placeholder="Say something (Enter sends, Shift+Enter for a new line)"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=keydown
            ></textarea>
        </div>
    }
}

/// Signing out with private conversations: this device's keys go too.
fn sign_out_confirm(app: App) -> impl IntoView {
    view! {
        <div part="chat-sign-out-confirm" class="form" role="group" aria-label="Sign out">
            <p>
                "Signing out removes this device's encryption keys: private messages sent to it "
                "cannot be read here again (your other Matrix devices keep theirs)."
            </p>
            <button part="chat-sign-out" class="primary" type="button" on:click=move |_| app.sign_out()>
                "Sign out and remove keys"
            </button>
            <button class="link" type="button" on:click=move |_| app.show(Screen::Chat)>"Cancel"</button>
        </div>
    }
}
