//! What the viewer's actions do: join, sign in, post, edit, delete, mute,
//! accept rules, switch channels. Each talks to the homeserver in
//! `spawn_local` and reports back through the [`App`]'s signals.

use super::app::{session, App, Screen};
use super::storage::{self, keys};
use crate::compose::{check_name, check_post};
use crate::matrix::{self, Session};
use crate::prefs::Prefs;
use leptos::prelude::*;
use leptos::task::spawn_local;
use matrix_sdk::ruma::OwnedRoomId;

/// How long a post keeps retrying while the homeserver cannot be reached,
/// with the same transaction id (so it is delivered once), before it is
/// shown as failed with a retry button.
const SEND_PATIENCE_MS: f64 = 120_000.0;

/// How often an account's settings are read again (other devices' mutes
/// and read positions); one small request, no sync.
const POLL_MS: u32 = 20_000;

fn now() -> f64 {
    js_sys::Date::now()
}

/// A pause in an async task (the browser's setTimeout).
pub(super) async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

impl App {
    fn room_id(&self, channel: &str) -> Option<OwnedRoomId> {
        if channel.starts_with('!') {
            return OwnedRoomId::try_from(channel).ok();
        }
        let info = self.info(channel)?;
        OwnedRoomId::try_from(info.matrix?.room_id.as_str()).ok()
    }

    fn homeserver(&self) -> Option<String> {
        let channel = self.current.get_untracked();
        Some(self.info(&channel)?.matrix?.homeserver)
    }

    /// Runs `work` with the busy flag set and its error shown.
    pub(super) fn busy<F>(&self, work: F)
    where
        F: std::future::Future<Output = Result<(), String>> + 'static,
    {
        let app = *self;
        app.busy.set(true);
        app.notice.set(String::new());
        spawn_local(async move {
            if let Err(why) = work.await {
                app.notice.set(why);
            }
            app.busy.set(false);
        });
    }

    /// Starts the session's background work: the account's settings (read
    /// now, then polled), the display name.
    async fn start_session(self, session: Session, name: Option<String>) {
        let name = match name {
            Some(name) => name,
            None => matrix::name(&session)
                .await
                .unwrap_or_else(|| session.user_id()),
        };
        if !session.saved.guest {
            let mut prefs = matrix::load_prefs(&session)
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            // A guest's settings (from this browser) move into the account.
            let guest = storage::get(keys::PREFS).map(|p| Prefs::parse(&p));
            let merged = guest.as_ref().is_some_and(|g| *g != Prefs::default());
            if let Some(g) = guest {
                prefs.merge(g);
            }
            storage::remove(keys::PREFS);
            self.prefs.set(prefs);
            if merged {
                self.save_prefs();
            } else {
                self.show_mutes(&self.prefs.get_untracked());
            }
            self.keep_polling(session.clone());
        }
        self.start_private(session.clone());
        let user_id = session.user_id();
        self.signed_in(session, name);
        self.watch_standing(user_id);
    }

    /// Reads the account's settings again every [`POLL_MS`] while this
    /// session is the signed-in one: mutes made on another device arrive.
    fn keep_polling(self, session: Session) {
        spawn_local(async move {
            let me = session.user_id();
            loop {
                sleep(POLL_MS).await;
                if super::app::session().map(|s| s.user_id()).as_deref() != Some(me.as_str()) {
                    return;
                }
                if let Ok(Some(prefs)) = matrix::load_prefs(&session).await {
                    if prefs != self.prefs.get_untracked() {
                        self.show_mutes(&prefs);
                        self.prefs.set(prefs);
                    }
                }
            }
        });
    }

    /// Restores a stored session at start, if it still works.
    pub fn restore(&self) {
        let Some(saved) = App::saved_session() else {
            return;
        };
        let app = *self;
        spawn_local(async move {
            match matrix::restore(saved).await {
                Some(session) => app.start_session(session, None).await,
                None => storage::remove(keys::SESSION),
            }
        });
    }

    /// Joins as a guest named `name`.
    pub fn join_as_guest(&self, name: String) {
        let app = *self;
        let Some(homeserver) = self.homeserver() else {
            self.notice.set("This channel has no chat room.".to_owned());
            return;
        };
        self.busy(async move {
            let name = check_name(&name)?;
            let session = matrix::guest(&homeserver).await?;
            matrix::set_name(&session, &name).await?;
            app.start_session(session, Some(name)).await;
            Ok(())
        });
    }

    /// Signs in with a password.
    pub fn sign_in(&self, user: String, password: String) {
        let app = *self;
        let Some(homeserver) = self.homeserver() else {
            return;
        };
        self.busy(async move {
            let user = crate::compose::check_username(&user)?;
            let session = matrix::sign_in(&homeserver, &user, &password).await?;
            if let Some(old) = super::app::session() {
                matrix::sign_out(&old).await;
            }
            app.start_session(session, None).await;
            Ok(())
        });
    }

    /// Creates an account; for a guest, keeps their id, rooms and name.
    pub fn register(&self, user: Option<String>, password: String) {
        let app = *self;
        let Some(homeserver) = self.homeserver() else {
            return;
        };
        let guest = session().filter(|s| s.saved.guest);
        let name = self.me.get_untracked().map(|m| m.name);
        self.busy(async move {
            if password.chars().count() < 8 {
                return Err("Choose a password of at least 8 characters.".to_owned());
            }
            let user = match (&guest, user) {
                (Some(_), _) => None,
                (None, Some(u)) => Some(crate::compose::check_username(&u)?),
                (None, None) => return Err("Enter a username.".to_owned()),
            };
            let session =
                matrix::register(&homeserver, user.as_deref(), &password, guest.as_ref()).await?;
            if guest.is_some() {
                // Guest settings were in this browser: they move to the account.
                storage::set(keys::PREFS, &app.prefs.get_untracked().to_json());
            }
            app.start_session(session, if guest.is_some() { name } else { None })
                .await;
            app.notice.set("Your account is ready.".to_owned());
            app.resume_after_upgrade();
            Ok(())
        });
    }

    /// Posts `text` to the current channel.
    pub fn post(&self, text: String) -> Result<(), String> {
        let text = check_post(&text).map_err(|e| e.message())?.to_owned();
        let channel = self.current.get_untracked();
        if channel.starts_with('!') {
            // A private conversation in use: its answers should come at once.
            self.private_seen.set_value(now());
        }
        let txn = format!(
            "chyron-chat-{}-{}",
            now() as u64,
            (js_sys::Math::random() * 1e9) as u64
        );
        let me = self.my_id();
        self.timelines.update(|t| {
            t.entry(channel.clone())
                .or_default()
                .post(txn.clone(), text.clone(), me)
        });
        self.send(channel, txn, text);
        Ok(())
    }

    /// Sends (or resends) a post, retrying while the homeserver is away.
    fn send(&self, channel: String, txn: String, text: String) {
        let app = *self;
        spawn_local(async move {
            let result = app.send_patiently(&channel, &txn, &text).await;
            if result.is_err() {
                // Refused: perhaps timed out or banned; the banner says so.
                app.refresh_standing();
            }
            app.timelines.update(|t| {
                if let Some(t) = t.get_mut(&channel) {
                    t.settle(&txn, result);
                }
            });
        });
    }

    async fn send_patiently(&self, channel: &str, txn: &str, text: &str) -> Result<String, String> {
        self.hold_while_live(channel, txn).await;
        let session = session().ok_or("Sign in to post.")?;
        let room_id = self
            .room_id(channel)
            .ok_or("This channel has no chat room.")?;
        let started = now();
        let mut pause = 500;
        loop {
            let attempt = async {
                let room = matrix::room(&session, &room_id).await?;
                matrix::post(&room, text, txn).await
            };
            match attempt.await {
                Ok(event_id) => return Ok(event_id),
                // Refusals are final; only an unreachable server is waited for.
                Err(why) if why.contains("M_") || now() - started > SEND_PATIENCE_MS => {
                    return Err(why)
                }
                Err(_) => {
                    sleep(pause).await;
                    pause = (pause * 2).min(8000);
                }
            }
        }
    }

    /// Sends a failed post again, with its original transaction id.
    pub fn retry(&self, txn: String) {
        let channel = self.current.get_untracked();
        let mut text = None;
        self.timelines.update(|t| {
            text = t.get_mut(&channel).and_then(|t| t.retry(&txn));
        });
        if let Some(text) = text {
            self.send(channel, txn, text);
        }
    }

    /// Replaces the viewer's message `event_id` with `text`.
    pub fn edit(&self, event_id: String, text: String) -> Result<(), String> {
        let text = check_post(&text).map_err(|e| e.message())?.to_owned();
        let app = *self;
        let channel = self.current.get_untracked();
        self.busy(async move {
            let session = session().ok_or("Sign in to edit.")?;
            let room_id = app
                .room_id(&channel)
                .ok_or("This channel has no chat room.")?;
            let room = matrix::room(&session, &room_id).await?;
            matrix::edit(&room, &event_id, &text).await?;
            app.timelines.update(|t| {
                if let Some(t) = t.get_mut(&channel) {
                    t.remember_source(event_id, text);
                }
            });
            Ok(())
        });
        Ok(())
    }

    /// Deletes the viewer's message `event_id` (accounts only on Synapse).
    pub fn delete(&self, event_id: String) {
        let app = *self;
        let channel = self.current.get_untracked();
        self.busy(async move {
            let session = session().ok_or("Sign in to delete.")?;
            let room_id = app
                .room_id(&channel)
                .ok_or("This channel has no chat room.")?;
            let room = matrix::room(&session, &room_id).await?;
            matrix::delete(&room, &event_id).await
        });
    }

    /// Hides a person's public lines from this viewer (chat and captions).
    pub fn mute(&self, sender_id: String, name: String) {
        let mut ok = true;
        self.prefs.update(|p| ok = p.mute(&sender_id));
        if ok {
            self.notice.set(format!(
                "{name} is muted: their messages are hidden for you."
            ));
            self.save_prefs();
        } else {
            self.notice
                .set("Your mute list is full; unmute someone first.".to_owned());
        }
    }

    /// Shows a muted person's lines again.
    pub fn unmute(&self, sender_id: String) {
        self.prefs.update(|p| p.unmute(&sender_id));
        self.save_prefs();
    }

    /// The viewer accepted the current channel's rules.
    pub fn accept_rules(&self, version: String) {
        self.focus.set_value(true);
        let channel = self.current.get_untracked();
        self.prefs.update(|p| {
            p.rules.insert(channel, version);
        });
        self.save_prefs();
    }

    /// Remembers the current channel as read up to now (only while the
    /// panel is shown: lines that came in behind the captions are unread).
    pub fn mark_read(&self) {
        if !self.open.get_untracked() {
            return;
        }
        let channel = self.current.get_untracked();
        let mark = self
            .timelines
            .with_untracked(|t| t.get(&channel).and_then(|t| t.read_mark()));
        let Some(mark) = mark else { return };
        if self
            .prefs
            .with_untracked(|p| p.read.get(&channel) == Some(&mark))
        {
            return;
        }
        self.prefs.update(|p| {
            p.read.insert(channel, mark);
        });
        self.save_prefs();
    }

    /// Shows another channel: the one left is marked read, the divider of
    /// the new one is placed from its mark.
    pub fn switch(&self, channel: String) {
        if channel == self.current.get_untracked() {
            return;
        }
        self.mark_read();
        self.leave_presence(false);
        self.links.set(Default::default());
        self.people.set(None);
        self.modlog.set(Default::default());
        self.moderators.set(Vec::new());
        let mark = self.prefs.with_untracked(|p| p.read.get(&channel).cloned());
        self.timelines.update(|t| {
            t.entry(channel.clone())
                .or_default()
                .place_unread(mark.as_ref())
        });
        storage::set(keys::CHANNEL, &channel);
        self.current.set(channel);
        self.screen.set(Screen::Chat);
        self.standing.set(Default::default());
        self.selected.set(None);
        self.refresh_standing();
    }
}
