//! Private conversations in the app: the signed-in viewer's sync of their
//! private rooms (one loop per session, stopped when it ends), what each
//! sync brought applied to [`Private`] and the conversations' timelines,
//! and what the viewer does: message someone, start a group or their
//! notes, answer invites, block and unblock, leave.

use super::actions::sleep;
use super::app::{session, App, Screen};
use super::storage::{self, keys};
use super::tab_lock;
use crate::matrix::Session;
use crate::matrix_private::{self, Batch};
use crate::private::{self, Change, EPOCH};
use crate::timeline::Timeline;
use chyron_protocol::{ServerFrame, Snapshot, SnapshotReason};
use futures_util::future::{AbortHandle, Abortable};
use leptos::prelude::*;
use leptos::task::spawn_local;
use matrix_sdk::ruma::OwnedRoomId;
use std::cell::RefCell;

/// The key of the private conversations' list in [`App::current`] (channel
/// names cannot start with `@`; a conversation's key is its room id, `!…`).
pub const PRIVATE_LIST: &str = "@private";

/// Whether `key` (an [`App::current`] value) is private: the list or a
/// conversation.
pub fn is_private(key: &str) -> bool {
    key == PRIVATE_LIST || key.starts_with('!')
}

/// What the private side says while another tab has it.
const ELSEWHERE: &str = "Private messages are open in another tab of this browser; \
     they continue here when that tab closes.";

/// How long after the last private event (or send) the sync keeps
/// long-polling.
const ACTIVE_MS: f64 = 120_000.0;
/// How often an idle sync asks.
const IDLE_POLL_MS: u32 = 20_000;

/// Longest pause between failed syncs.
const MAX_PAUSE_MS: u32 = 30_000;

thread_local! {
    /// Stops the running sync loop (signing out, another session).
    static SYNC: RefCell<Option<AbortHandle>> = const { RefCell::new(None) };
}

/// An empty timeline for a private room: its events are numbered by time
/// ([`private::next_seq`]), so read marks hold across reloads.
fn fresh_timeline(room_id: &str) -> Timeline {
    let mut t = Timeline::default();
    t.apply(ServerFrame::Snapshot(Snapshot {
        channel: room_id.to_owned(),
        epoch: EPOCH.to_owned(),
        seq: 0,
        reason: SnapshotReason::Initial,
        messages: Vec::new(),
    }));
    t
}

impl App {
    /// Starts syncing `session`'s private rooms, stopping any earlier loop.
    pub fn start_private(&self, session: Session) {
        self.stop_private();
        if session.saved.guest {
            let blocked = storage::get(keys::BLOCKED).unwrap_or_default();
            self.private.update(|p| {
                p.blocked = blocked.lines().map(str::to_owned).collect();
            });
        }
        let (handle, registration) = AbortHandle::new_pair();
        SYNC.with(|s| *s.borrow_mut() = Some(handle));
        let app = *self;
        spawn_local(async move {
            let _ = Abortable::new(app.sync_forever(session), registration).await;
        });
    }

    /// Stops the sync loop and forgets the private conversations shown.
    pub fn stop_private(&self) {
        if let Some(handle) = SYNC.with(|s| s.borrow_mut().take()) {
            handle.abort();
        }
        let rooms: Vec<String> = self
            .timelines
            .with_untracked(|t| t.keys().filter(|k| is_private(k)).cloned().collect());
        self.timelines.update(|t| {
            for room in &rooms {
                t.remove(room);
            }
        });
        self.private.set(Default::default());
        if is_private(&self.current.get_untracked()) {
            self.switch(self.home.get_value());
        }
    }

    /// The bridged rooms: their timelines come from the feed, not the sync.
    fn bridged_rooms(&self) -> Vec<OwnedRoomId> {
        self.channels.with_untracked(|c| {
            c.iter()
                .filter_map(|i| OwnedRoomId::try_from(i.matrix.as_ref()?.room_id.as_str()).ok())
                .collect()
        })
    }

    async fn sync_forever(self, session: Session) {
        // One tab per device syncs (and uses its keys); see `tab_lock`.
        let store = session.saved.store.clone().unwrap_or_default();
        let _lock = tab_lock::acquire(&format!("chyron:{store}"), || {
            self.private_note.set(ELSEWHERE.to_owned());
        })
        .await;
        self.private_note.set(String::new());
        let mut first = true;
        let mut pause = 1000;
        loop {
            let bridged = self.bridged_rooms();
            let active = first || self.private_active();
            match matrix_private::sync(&session, first, active, &bridged).await {
                Ok(batch) => {
                    if !batch.rooms.is_empty() {
                        self.private_seen.set_value(js_sys::Date::now());
                    }
                    self.apply_private(batch, first);
                    first = false;
                    pause = 1000;
                    if !active {
                        self.idle_wait().await;
                    }
                }
                Err(why) if why.contains("M_UNKNOWN_TOKEN") => {
                    self.notice
                        .set("Your session ended; sign in again.".to_owned());
                    return;
                }
                Err(_) => {
                    sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE_MS);
                }
            }
        }
    }

    /// Whether private messages are in use now: a conversation on screen,
    /// or something private happened lately. Then the sync long-polls
    /// (messages arrive at once); else it asks now and then, because the
    /// homeserver wakes a long-poll for every public message in the viewer's
    /// rooms, which would cost it as much as every chatter syncing them.
    fn private_active(&self) -> bool {
        let shown = self.open.get_untracked() && is_private(&self.current.get_untracked());
        shown || js_sys::Date::now() - self.private_seen.get_value() < ACTIVE_MS
    }

    /// Waits up to [`IDLE_POLL_MS`] between idle syncs, less if the viewer
    /// turns to their private messages meanwhile.
    async fn idle_wait(&self) {
        let mut waited = 0;
        while waited < IDLE_POLL_MS && !self.private_active() {
            sleep(1000).await;
            waited += 1000;
        }
    }

    /// Applies what a sync brought: conversations, their lines, the block
    /// list. On the page's `first` sync, each conversation's divider is
    /// placed from its read mark.
    fn apply_private(&self, batch: Batch, first: bool) {
        let me = self.my_id();
        let my_name = self
            .me
            .with_untracked(|m| m.as_ref().map(|m| m.name.clone()));
        let guest = session().is_some_and(|s| s.saved.guest);
        let mut lines: Vec<(String, Vec<Change>)> = Vec::new();
        self.private.update(|p| {
            if let (Some(blocked), false) = (batch.blocked, guest) {
                p.blocked = blocked.into_iter().collect();
            }
            for room in &batch.left {
                p.remove(room);
            }
            for room in batch.rooms {
                p.update(&room.room_id, room.facts);
                let changes = room
                    .events
                    .iter()
                    .filter_map(|(json, utd)| private::event(json, *utd))
                    .filter_map(|change| p.apply(&room.room_id, &me, change))
                    .map(|change| match (change, &my_name) {
                        (Change::Said(mut m), Some(name)) if m.sender_id == me => {
                            m.sender.clone_from(name);
                            Change::Said(m)
                        }
                        (change, _) => change,
                    })
                    .collect();
                lines.push((room.room_id, changes));
            }
        });
        let marks = self.prefs.with_untracked(|p| p.read.clone());
        self.timelines.update(|t| {
            for room in &batch.left {
                t.remove(room);
            }
            for (room_id, changes) in lines {
                let timeline = t
                    .entry(room_id.clone())
                    .or_insert_with(|| fresh_timeline(&room_id));
                for change in changes {
                    apply_line(timeline, change);
                }
                if first {
                    timeline.place_unread(marks.get(&room_id));
                }
            }
        });
        let current = self.current.get_untracked();
        if current.starts_with('!') && self.private.with_untracked(|p| p.get(&current).is_none()) {
            self.current.set(PRIVATE_LIST.to_owned());
        }
    }

    /// Opens the private conversations' list.
    pub fn show_private(&self) {
        self.switch(PRIVATE_LIST.to_owned());
    }

    /// Messages `user_id` privately: their direct conversation, else a new
    /// one. A guest is offered to keep their name first (guests cannot
    /// start conversations on Synapse), then it goes on.
    pub fn message(&self, user_id: String) {
        let existing = self
            .private
            .with_untracked(|p| p.direct_with(&user_id).map(|c| c.room_id.clone()));
        if let Some(room) = existing {
            self.switch(room);
            return;
        }
        self.start_conversation(vec![user_id]);
    }

    /// Opens the viewer's notes, starting them the first time.
    pub fn open_notes(&self) {
        match self
            .private
            .with_untracked(|p| p.notes().map(|c| c.room_id.clone()))
        {
            Some(room) => self.switch(room),
            None => self.start_conversation(Vec::new()),
        }
    }

    /// Starts an encrypted conversation with `users` (none: notes).
    pub fn start_conversation(&self, users: Vec<String>) {
        let Some(session) = session() else { return };
        if session.saved.guest {
            self.after_upgrade.set_value(Some(users));
            self.notice.set(
                "To message privately, keep your name: choose a password and you can start."
                    .to_owned(),
            );
            self.show(Screen::Upgrade);
            return;
        }
        let app = *self;
        self.busy(async move {
            // No new conversations with a DJ while they are live.
            if let Some(name) = app.live_among(&users).await {
                return Err(format!("{name} is live; message them after the show."));
            }
            let room = matrix_private::start(&session, &users).await?;
            app.private.update(|p| p.created(&room, &users));
            app.timelines.update(|t| {
                t.entry(room.clone())
                    .or_insert_with(|| fresh_timeline(&room));
            });
            app.switch(room);
            Ok(())
        });
    }

    /// After a guest kept their name: the conversation they were starting.
    pub fn resume_after_upgrade(&self) {
        if let Some(users) = self.after_upgrade.try_update_value(Option::take).flatten() {
            self.start_conversation(users);
        }
    }

    /// Accepts an invite and opens the conversation.
    pub fn accept_invite(&self, room_id: String) {
        let app = *self;
        self.busy(async move {
            let session = session().ok_or("Sign in first.")?;
            matrix_private::accept(&session, &room_id).await?;
            app.private.update(|p| {
                if let Some(c) = p.room(&room_id) {
                    c.invited_by = None;
                }
            });
            app.switch(room_id);
            Ok(())
        });
    }

    /// Declines an invite, or leaves a conversation.
    pub fn leave_conversation(&self, room_id: String) {
        let app = *self;
        self.busy(async move {
            let session = session().ok_or("Sign in first.")?;
            matrix_private::leave(&session, &room_id).await?;
            app.private.update(|p| p.remove(&room_id));
            app.timelines.update(|t| {
                t.remove(&room_id);
            });
            if app.current.get_untracked() == room_id {
                app.switch(PRIVATE_LIST.to_owned());
            }
            Ok(())
        });
    }

    /// Blocks (or unblocks) `user_id`: no private messages or invites from
    /// them. Accounts keep the list in the account (the homeserver enforces
    /// it); guests in this browser.
    pub fn set_blocked(&self, user_id: String, name: String, blocked: bool) {
        let mut ok = true;
        self.private.update(|p| {
            if blocked {
                ok = p.block(&user_id);
            } else {
                p.blocked.remove(&user_id);
            }
        });
        if !ok {
            self.notice
                .set("Your block list is full; unblock someone first.".to_owned());
            return;
        }
        self.notice.set(if blocked {
            format!("{name} is blocked: they cannot message you privately.")
        } else {
            format!("{name} is unblocked.")
        });
        let Some(session) = session() else { return };
        if session.saved.guest {
            let list = self
                .private
                .with_untracked(|p| p.blocked.iter().cloned().collect::<Vec<_>>().join("\n"));
            storage::set(keys::BLOCKED, &list);
            return;
        }
        let app = *self;
        spawn_local(async move {
            if let Err(why) = matrix_private::set_blocked(&session, &user_id, blocked).await {
                app.notice.set(why);
            }
        });
    }
}

/// Applies one change to a private room's timeline: edits only from the
/// message's own sender.
fn apply_line(timeline: &mut Timeline, change: Change) {
    let seq = match &change {
        Change::Said(m) => private::next_seq(timeline.seq(), m.ts),
        Change::Edited { id, sender_id, .. } => {
            if timeline
                .get(id)
                .is_none_or(|l| &l.message.sender_id != sender_id)
            {
                return;
            }
            timeline.seq() + 1
        }
        _ => timeline.seq() + 1,
    };
    if let Some(frame) = private::frame(change, seq) {
        timeline.apply(frame);
    }
}
