//! The chat's state and what the viewer's actions do to it. Signals hold
//! what the view shows; the Matrix client (not `Send` in the browser) lives
//! in a thread-local beside them. Every action that talks to the
//! homeserver runs in `spawn_local` and reports back through signals.

use super::focus::focus_captions;
use super::storage::{self, keys};
use crate::compose::suggest_name;
use crate::info::{Links, People, Tab};
use crate::matrix::{self, Saved, Session};
use crate::moderation::Standing;
use crate::modlog::{Appointment, Log};
use crate::prefs::Prefs;
use crate::private::Private;
use crate::timeline::Timeline;
use chyron_protocol::ChannelInfo;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use wasm_bindgen::JsValue;
use web_sys::ShadowRoot;

thread_local! {
    /// The signed-in viewer's Matrix client, if any.
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// The session, if signed in.
pub fn session() -> Option<Session> {
    SESSION.with(|s| s.borrow().clone())
}

/// Who is chatting, as the view needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    /// Matrix user id.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// A guest (cannot delete, cannot keep settings in an account).
    pub guest: bool,
}

/// Which form the panel's footer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    /// The conversation with the composer (or the join form when signed out).
    #[default]
    Chat,
    /// Username and password.
    SignIn,
    /// A new account.
    Register,
    /// A guest keeps their name: becomes an account.
    Upgrade,
    /// The muted people.
    Mutes,
    /// "Sign out?": this device's encryption keys go with the session.
    SignOut,
    /// An owner appoints a moderator.
    Appoint,
}

/// The chat's reactive state. `Copy`: signals are handles.
#[derive(Clone, Copy)]
pub struct App {
    /// The relay's `http(s)://` base.
    pub server: StoredValue<String>,
    /// The channels the relay offers, main first.
    pub channels: RwSignal<Vec<ChannelInfo>>,
    /// The channel shown.
    pub current: RwSignal<String>,
    /// Each channel's lines and pending posts.
    pub timelines: RwSignal<HashMap<String, Timeline>>,
    /// Mutes, read marks, accepted rules.
    pub prefs: RwSignal<Prefs>,
    /// The signed-in viewer.
    pub me: RwSignal<Option<Me>>,
    /// The footer's form.
    pub screen: RwSignal<Screen>,
    /// A message for the viewer (an error, or what just happened).
    pub notice: RwSignal<String>,
    /// A request to the homeserver is in flight (forms disable their button).
    pub busy: RwSignal<bool>,
    /// Whether the browser will remember anything.
    pub remembers: bool,
    /// The overlay's handle (`set_mode`, `set_mutes`), from embed.js.
    pub overlay: StoredValue<JsValue, LocalStorage>,
    /// The element's own channel: the display mode is remembered for it.
    pub home: StoredValue<String>,
    /// Whether the panel is shown (hidden while the viewer is on captions).
    pub open: RwSignal<bool>,
    /// The name in the join form: suggested once, then what the viewer
    /// typed (kept when the form re-renders for another channel).
    pub draft_name: StoredValue<String>,
    /// The viewer acted: the footer's first field takes the focus when it
    /// next renders (see `focus`).
    pub focus: StoredValue<bool>,
    /// The shadow root shared with the captions: leaving the chat focuses
    /// their button.
    pub shadow: StoredValue<ShadowRoot, LocalStorage>,
    /// Private conversations, invites and blocks.
    pub private: RwSignal<Private>,
    /// Why private messages are not live here (another tab has them).
    pub private_note: RwSignal<String>,
    /// When something private last happened (ms): the sync long-polls
    /// for a while after (see `private`).
    pub private_seen: StoredValue<f64>,
    /// Whom a guest wanted to message privately: the conversation starts
    /// once they kept their name (guests cannot start one).
    pub after_upgrade: StoredValue<Option<Vec<String>>>,
    /// The viewer's role and standing in the current channel (the relay's
    /// word): moderation controls, the timed-out banner, the composer.
    pub standing: RwSignal<Standing>,
    /// The message whose menu was opened last: what `/nsfw`, `/safe` and
    /// `/delete` act on.
    pub selected: RwSignal<Option<String>>,
    /// The line whose moderation menu is open.
    pub menu: RwSignal<Option<String>>,
    /// Hidden images the viewer chose to see (this page only).
    pub revealed: RwSignal<HashSet<String>>,
    /// The public channel's view shown: chat, links or people.
    pub tab: RwSignal<Tab>,
    /// The current channel's links and media, as read last.
    pub links: RwSignal<Links>,
    /// Who is in the current channel, as read last.
    pub people: RwSignal<Option<People>>,
    /// The current channel's moderation log, as read last (moderators).
    pub modlog: RwSignal<Log>,
    /// The current channel's moderators, as read last (moderators).
    pub moderators: RwSignal<Vec<Appointment>>,
}

impl App {
    /// Fresh state for the relay at `server`, starting on `channel`.
    pub fn new(server: String, channel: String, overlay: JsValue, shadow: ShadowRoot) -> App {
        let remembers = storage::available();
        let prefs = storage::get(keys::PREFS)
            .map(|p| Prefs::parse(&p))
            .unwrap_or_default();
        App {
            server: StoredValue::new(server),
            channels: RwSignal::new(Vec::new()),
            current: RwSignal::new(channel.clone()),
            timelines: RwSignal::new(HashMap::new()),
            prefs: RwSignal::new(prefs),
            me: RwSignal::new(None),
            screen: RwSignal::new(Screen::Chat),
            notice: RwSignal::new(String::new()),
            busy: RwSignal::new(false),
            remembers,
            overlay: StoredValue::new_local(overlay),
            home: StoredValue::new(channel.clone()),
            open: RwSignal::new(true),
            draft_name: StoredValue::new(suggest_name(js_sys::Math::random())),
            focus: StoredValue::new(false),
            shadow: StoredValue::new_local(shadow),
            private: RwSignal::new(Private::default()),
            private_note: RwSignal::new(String::new()),
            private_seen: StoredValue::new(0.0),
            after_upgrade: StoredValue::new(None),
            standing: RwSignal::new(Standing::default()),
            selected: RwSignal::new(None),
            menu: RwSignal::new(None),
            revealed: RwSignal::new(HashSet::new()),
            tab: RwSignal::new(Tab::Chat),
            links: RwSignal::new(Links::default()),
            people: RwSignal::new(None),
            modlog: RwSignal::new(Log::default()),
            moderators: RwSignal::new(Vec::new()),
        }
    }

    /// The channel's directory entry.
    pub fn info(&self, channel: &str) -> Option<ChannelInfo> {
        self.channels
            .with_untracked(|c| c.iter().find(|i| i.channel == channel).cloned())
    }

    /// Leaves (or returns to) the chat: `captions`, `hidden` or `chat`;
    /// remembered for the element's channel.
    pub fn set_mode(&self, mode: &str) {
        if mode != "chat" {
            self.mark_read();
            self.leave_presence(false);
        }
        self.open.set(mode == "chat");
        storage::set(&format!("chyron:mode:{}", self.home.get_value()), mode);
        self.tell_overlay("set_mode", mode);
        match mode {
            // Only when the viewer is in the widget (pressed "Chat"), not
            // when a reload reopens the chat: no focus taken on page load.
            "chat" => {
                self.focus.set_value(self.in_widget());
                self.refresh_standing();
            }
            "captions" => focus_captions(self.shadow.get_value(), &["[part~=\"chat-open\"]"]),
            _ => focus_captions(self.shadow.get_value(), &["[part~=\"toggle\"]"]),
        }
    }

    /// The signed-in viewer's Matrix ID; empty when nobody is signed in.
    pub fn my_id(&self) -> String {
        self.me
            .with_untracked(|m| m.as_ref().map(|m| m.user_id.clone()))
            .unwrap_or_default()
    }

    /// Whether the page's focus is in this widget.
    fn in_widget(&self) -> bool {
        let host = self.shadow.with_value(|s| s.host());
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|active| active == host)
    }

    /// Shows a form (or the chat) in the footer and moves the focus there.
    pub fn show(&self, screen: Screen) {
        self.focus.set_value(true);
        self.screen.set(screen);
    }

    /// Tells the overlay (captions) something: `set_mode("chat")` etc.
    pub fn tell_overlay(&self, method: &str, arg: &str) {
        let overlay = self.overlay.get_value();
        if let Ok(f) = js_sys::Reflect::get(&overlay, &JsValue::from_str(method)) {
            if let Some(f) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(&f) {
                let _ = f.call1(&overlay, &JsValue::from_str(arg));
            }
        }
    }

    /// Hands `prefs`' mutes to the captions: now (the overlay's handle) and
    /// after a reload (the browser's copy they read at start).
    pub fn show_mutes(&self, prefs: &Prefs) {
        let text = prefs.mutes_text();
        storage::set(keys::MUTES, &text);
        self.tell_overlay("set_mutes", &text);
    }

    /// Stores the preferences: in the browser always (the captions read the
    /// mutes there), and in the account for accounts.
    pub fn save_prefs(&self) {
        let prefs = self.prefs.get_untracked();
        self.show_mutes(&prefs);
        match session() {
            Some(s) if !s.saved.guest => {
                spawn_local(async move {
                    let _ = matrix::save_prefs(&s, &prefs).await;
                });
            }
            _ => storage::set(keys::PREFS, &prefs.to_json()),
        }
    }

    /// Becomes signed in as `session` (stored for reloads).
    pub fn signed_in(&self, session: Session, name: String) {
        if let Ok(json) = serde_json::to_string(&session.saved) {
            storage::set(keys::SESSION, &json);
        }
        self.me.set(Some(Me {
            user_id: session.user_id(),
            name,
            guest: session.saved.guest,
        }));
        SESSION.with(|s| *s.borrow_mut() = Some(session));
        self.show(Screen::Chat);
    }

    /// The stored session, if any.
    pub fn saved_session() -> Option<Saved> {
        serde_json::from_str(&storage::get(keys::SESSION)?).ok()
    }

    /// Forgets the session here and on the homeserver, with this device's
    /// encryption keys (the panel warned: private messages sent to this
    /// device cannot be read again here).
    pub fn sign_out(&self) {
        self.stop_private();
        let session = SESSION.with(|s| s.borrow_mut().take());
        storage::remove(keys::SESSION);
        storage::remove(keys::BLOCKED);
        // An account's settings stay in the account; the browser's copy goes.
        if session.as_ref().is_some_and(|s| !s.saved.guest) {
            storage::remove(keys::PREFS);
            self.prefs.set(Prefs::default());
            storage::remove(keys::MUTES);
            self.tell_overlay("set_mutes", "");
        }
        self.me.set(None);
        self.leave_presence(false);
        super::moderation::forget_relay();
        self.standing.set(Standing::default());
        self.show(Screen::Chat);
        self.notice.set("Signed out.".to_owned());
        if let Some(session) = session {
            spawn_local(async move {
                matrix::sign_out(&session).await;
                let store = session.saved.store.clone();
                // Only once the client is gone: an open database would block
                // its deletion.
                drop(session);
                if let Some(store) = store {
                    storage::delete_databases(&matrix::store_databases(&store));
                }
            });
        }
    }
}
