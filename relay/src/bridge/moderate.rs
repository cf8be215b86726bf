//! Does the moderation queue's work ([`crate::moderation::tasks`]) in Matrix
//! as the bridge's bot: power levels that silence a timed-out person, bans,
//! moderators' power, redactions, and each owner's private moderators' room.
//!
//! Runs beside the outbox in a bridge session, so only where the link runs
//! (one relay, or the bridge lease holder in clustered mode, which reads
//! the queue every node writes in Redis).
//!
//! Tasks are done one at a time, oldest first. What the homeserver refuses
//! (no power, no such event) finishes the task as [`Outcome::Failed`] with a
//! sentence for the moderator; a channel with no bridged room finishes as
//! [`Outcome::NotBridged`]; anything worth retrying (homeserver down, 5xx,
//! 429) keeps the task first in the queue and is tried again after a
//! backoff (1 s doubling to 60 s). A refused login ends the loop (the
//! session logs in again).
//!
//! Power levels are read from the homeserver (not the SDK's copy, which may
//! not have synced the previous change yet) and written back with only the
//! one user's entry changed. A silenced person's level before is kept in
//! the bot's memory (`silenced:{room}:{user}`, [`crate::bridge::memory`]), so
//! unsilencing restores exactly it
//! and silencing twice keeps the first.

use crate::bridge::config::MatrixConfig;
use crate::bridge::memory::Memory;
use crate::bridge::rooms::Joined;
use crate::moderation::tasks::{MatrixTask, Outcome, Tasks};
use crate::store::{self, Store};
use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::api::client::room::Visibility;
use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId, RoomId};
use matrix_sdk::{Client, Room};
use std::convert::Infallible;
use std::time::Duration;

mod levels;
mod marker;

pub use marker::EVENT_TYPE as MODS_EVENT_TYPE;

use levels::{in_room, Levels};

/// Power level given to a moderator.
const MODERATOR: i64 = 50;
/// First wait before a task that failed for now is tried again.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest wait between two tries.
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How often the queue is looked at with no wake-up (a safety net).
const POLL: Duration = Duration::from_secs(5);

/// Why one try of a task did not finish it.
enum Step {
    /// Finished: record this.
    Finish(Outcome),
    /// Worth another try later; the task stays first.
    Retry(String),
    /// The homeserver refused the bot's login: the session logs in again.
    Auth(String),
}

/// What the executor works with.
pub struct Executor<'a> {
    /// The logged-in bot.
    pub client: &'a Client,
    /// Which channels are bridged at all.
    pub config: &'a MatrixConfig,
    /// The rooms joined now, by channel.
    pub joined: &'a Joined,
    /// The queue.
    pub tasks: &'a Tasks,
    /// The database, whose id makes the Matrix transaction ids.
    pub store: &'a Store,
    /// Remembered levels and moderators' rooms ([`Memory`]).
    pub memory: &'a Memory,
}

impl Executor<'_> {
    /// Does queued tasks until the bot's login is refused; returns why.
    pub async fn run(&self) -> Result<Infallible, String> {
        let mut delay = BACKOFF_MIN;
        loop {
            while let Some((id, task)) = self.tasks.next().await {
                match self.try_task(id, &task).await {
                    Step::Finish(outcome) => {
                        tracing::info!(id, ?task, ?outcome, "matrix moderation task");
                        self.tasks.finish(id, outcome).await;
                        delay = BACKOFF_MIN;
                    }
                    Step::Auth(why) => return Err(why),
                    Step::Retry(why) => {
                        tracing::warn!(id, "matrix moderation: {why}; retrying in {delay:?}");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(BACKOFF_MAX);
                    }
                }
            }
            let _ = tokio::time::timeout(POLL, self.tasks.queued()).await;
        }
    }

    /// One try of task `id`.
    async fn try_task(&self, id: i64, task: &MatrixTask) -> Step {
        use MatrixTask as T;
        match task {
            T::Silence { channel, user_id } => {
                self.in_room(channel, user_id, "silence", |r, u| self.silence(r, u))
                    .await
            }
            T::Unsilence { channel, user_id } => {
                self.in_room(channel, user_id, "unsilence", |r, u| self.unsilence(r, u))
                    .await
            }
            T::Promote { channel, user_id } => {
                self.in_room(channel, user_id, "promote", |r, u| async move {
                    Levels::read(&r).await?.set(&r, &u, MODERATOR).await
                })
                .await
            }
            T::Demote { channel, user_id } => {
                self.in_room(channel, user_id, "demote", |r, u| async move {
                    let mut levels = Levels::read(&r).await?;
                    match levels.of(&u) {
                        MODERATOR => levels.set(&r, &u, levels.users_default).await,
                        _ => Ok(()),
                    }
                })
                .await
            }
            T::Ban {
                channel,
                user_id,
                reason,
            } => {
                self.in_room(channel, user_id, "ban", |r, u| async move {
                    r.ban_user(&u, reason.as_deref()).await
                })
                .await
            }
            T::Unban { channel, user_id } => {
                self.in_room(channel, user_id, "unban", |r, u| async move {
                    r.unban_user(&u, None).await
                })
                .await
            }
            T::Redact {
                channel,
                event_id,
                reason,
            } => {
                let Ok(event) = OwnedEventId::try_from(event_id.as_str()) else {
                    return Step::Finish(Outcome::Failed(format!("{event_id:?} is no event id")));
                };
                let Some(room) = self.room(channel) else {
                    return self.unjoined(channel);
                };
                let txn = match self.txn(id).await {
                    Ok(txn) => txn,
                    Err(step) => return step,
                };
                let done = room.redact(&event, reason.as_deref(), Some(txn)).await;
                let done = done
                    .map(|_| ())
                    .map_err(|e| matrix_sdk::Error::Http(Box::new(e)));
                judge(done, "redact in", room.room_id())
            }
            T::ModLog { owner, line } => match self.mod_room(owner).await {
                Ok(room) => {
                    let txn = match self.txn(id).await {
                        Ok(txn) => txn,
                        Err(step) => return step,
                    };
                    let notice = RoomMessageEventContent::notice_plain(line);
                    let sent = room.send(notice).with_transaction_id(txn).await;
                    let sent = sent.map(|_| ());
                    judge(sent, "post in", room.room_id())
                }
                Err(step) => step,
            },
            T::ModRoom {
                owner,
                user_id,
                member,
            } => {
                let Ok(user) = OwnedUserId::try_from(user_id.as_str()) else {
                    return Step::Finish(Outcome::Failed(format!("{user_id:?} is no Matrix ID")));
                };
                let room = match self.mod_room(owner).await {
                    Ok(room) => room,
                    Err(step) => return step,
                };
                let inside = match in_room(&room, &user).await {
                    Ok(inside) => inside,
                    Err(e) => return judge(Err(e), "read the members of", room.room_id()),
                };
                let done = match (member, inside) {
                    (true, false) => room.invite_user_by_id(&user).await,
                    (false, true) => room.kick_user(&user, None).await,
                    _ => Ok(()),
                };
                judge(done, "invite or remove in", room.room_id())
            }
        }
    }

    /// The Matrix transaction id of task `id`, so a send retried after a
    /// cut connection is not done twice (the database's id keeps a new
    /// database from reusing an old one's, as in the outbox).
    async fn txn(&self, id: i64) -> Result<OwnedTransactionId, Step> {
        let database = self.store.call(store::identity::database_id).await;
        let database = database.map_err(|e| Step::Retry(e.to_string()))?;
        Ok(format!("chyron-mod-{database}-{id}").into())
    }

    /// Runs `act` in `channel`'s room on `user_id`, judging its result.
    async fn in_room<F, Fut>(&self, channel: &str, user_id: &str, verb: &str, act: F) -> Step
    where
        F: FnOnce(Room, OwnedUserId) -> Fut,
        Fut: std::future::Future<Output = matrix_sdk::Result<()>>,
    {
        let Ok(user) = OwnedUserId::try_from(user_id) else {
            return Step::Finish(Outcome::Failed(format!("{user_id:?} is no Matrix ID")));
        };
        let Some(room) = self.room(channel) else {
            return self.unjoined(channel);
        };
        let room_id = room.room_id().to_owned();
        judge(act(room, user).await, &format!("{verb} in"), &room_id)
    }

    /// The joined room of `channel`.
    fn room(&self, channel: &str) -> Option<Room> {
        self.joined.room(channel)
    }

    /// The outcome for a channel whose room is not joined now.
    fn unjoined(&self, channel: &str) -> Step {
        if self.config.rooms.iter().any(|r| r.channel == channel) {
            Step::Finish(Outcome::Failed(format!(
                "the relay's Matrix account is not in the room of {channel} now"
            )))
        } else {
            Step::Finish(Outcome::NotBridged)
        }
    }

    /// Lowers `user`'s level below what posting needs, remembering it
    /// (silencing twice keeps the first level).
    async fn silence(&self, room: Room, user: OwnedUserId) -> matrix_sdk::Result<()> {
        let mut levels = Levels::read(&room).await?;
        let key = silenced_key(room.room_id(), &user);
        let now = levels.of(&user).to_string();
        if let Err(e) = self.memory.keep_first(&key, &now).await {
            return Err(matrix_sdk::Error::UnknownError(e.to_string().into()));
        }
        let post = levels.post;
        levels.set(&room, &user, post - 1).await
    }

    /// Gives `user` back the level remembered when they were silenced.
    async fn unsilence(&self, room: Room, user: OwnedUserId) -> matrix_sdk::Result<()> {
        let key = silenced_key(room.room_id(), &user);
        let before = self.memory.get(&key).await;
        let before = before.map_err(|e| matrix_sdk::Error::UnknownError(e.to_string().into()))?;
        let Some(before) = before else {
            return Ok(());
        };
        let mut levels = Levels::read(&room).await?;
        let level = before.parse::<i64>().unwrap_or(levels.users_default);
        levels.set(&room, &user, level).await?;
        if let Err(e) = self.memory.forget(&key).await {
            tracing::warn!("forgetting {key}: {e}");
        }
        Ok(())
    }

    /// The owner's moderators' room, created (private, invite-only, the
    /// owner invited) and remembered on first use.
    async fn mod_room(&self, owner: &str) -> Result<Room, Step> {
        let key = format!("modroom:{owner}");
        let known = self.memory.get(&key).await;
        let known = known.map_err(|e| Step::Retry(e.to_string()))?;
        if let Some(id) = known.and_then(|id| OwnedRoomId::try_from(id).ok()) {
            let room = self.client.get_room(&id).ok_or_else(|| {
                Step::Retry(format!("the moderators' room {id} is not synced yet"))
            })?;
            self.mark(owner, &room).await?;
            return Ok(room);
        }
        let Ok(owner_id) = OwnedUserId::try_from(owner) else {
            return Err(Step::Finish(Outcome::Failed(format!(
                "{owner:?} is no Matrix ID"
            ))));
        };
        let mut request = CreateRoom::new();
        request.name = Some(format!("Moderators: {owner}"));
        request.preset = Some(RoomPreset::PrivateChat);
        request.visibility = Visibility::Private;
        request.invite = vec![owner_id];
        let room = self.client.create_room(request).await;
        let room = room.map_err(|e| match judge(Err(e), "create", owner) {
            Step::Finish(Outcome::Done) => Step::Retry("no room".into()),
            step => step,
        })?;
        let id = room.room_id().to_string();
        let saved = self.memory.set(&key, &id).await;
        saved.map_err(|e| Step::Retry(e.to_string()))?;
        self.mark(owner, &room).await?;
        Ok(room)
    }
}

/// The settings key remembering a silenced user's level in a room.
fn silenced_key(room: &RoomId, user: &OwnedUserId) -> String {
    format!("silenced:{room}:{user}")
}

/// The step for a homeserver's answer to doing `what` in `room`.
fn judge(
    result: matrix_sdk::Result<()>,
    what: &str,
    room: &(impl std::fmt::Display + ?Sized),
) -> Step {
    let Err(e) = result else {
        return Step::Finish(Outcome::Done);
    };
    if super::auth_failed(&e) {
        return Step::Auth(e.to_string());
    }
    if !super::refused_for_good(&e) {
        return Step::Retry(format!("{what} {room}: {e}"));
    }
    let status = e.as_client_api_error().map(|a| a.status_code.as_u16());
    Step::Finish(Outcome::Failed(if status == Some(403) {
        format!("the relay's Matrix account lacks the power to {what} {room}: {e}")
    } else {
        format!("the homeserver refused to {what} {room}: {e}")
    }))
}
