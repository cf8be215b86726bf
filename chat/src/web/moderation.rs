//! Moderation, browser side: the relay session (an OpenID token from the
//! viewer's homeserver, exchanged at `POST /chat/v1/session`, kept in
//! memory and renewed near expiry or on a 401), the viewer's standing
//! (polled), and running the composer's commands and the line menu's
//! actions. The rules and requests are in [`crate::moderation`] and
//! [`crate::commands`]; the relay checks every action itself.

use super::actions::sleep;
use super::app::{session, App};
use super::private::is_private;
use crate::commands::{self, Command, Input, Term};
use crate::matrix;
use crate::moderation::{self, Action, Call, RelaySession, Standing, UserInfo};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How often the viewer's standing is read again while signed in and the
/// panel is open (ms): a timeout made by a moderator shows within this.
const STANDING_POLL_MS: u32 = 10_000;

/// After the relay refused to make a session (no moderation there, the
/// homeserver away), no new OpenID token is asked for this long (ms): the
/// poll must not cost the homeserver a request every few seconds.
const SESSION_RETRY_MS: f64 = 120_000.0;

thread_local! {
    /// The relay session of the signed-in account, if one was made.
    static RELAY: RefCell<Option<RelaySession>> = const { RefCell::new(None) };
    /// Until when (ms) no session is asked for, after a refusal: (until, why).
    static REFUSED: RefCell<(f64, String)> = const { RefCell::new((0.0, String::new())) };
}

/// Sends `call` to the relay at `server`: (status, body).
pub(super) async fn send(
    server: &str,
    call: &Call,
    bearer: Option<&str>,
) -> Result<(u16, String), String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(call.method);
    let headers = js_sys::Object::new();
    let set = |k: &str, v: &str| js_sys::Reflect::set(&headers, &k.into(), &v.into());
    if let Some(token) = bearer {
        let _ = set("Authorization", &format!("Bearer {token}"));
    }
    if let Some(body) = &call.body {
        let _ = set("Content-Type", "application/json");
        init.set_body(&JsValue::from_str(&body.to_string()));
    }
    init.set_headers(&headers);
    let url = format!("{server}{}", call.path);
    let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| "The relay cannot be reached.".to_owned())?;
    let response: web_sys::Response = response.unchecked_into();
    let text = match response.text() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()),
        Err(_) => None,
    };
    Ok((response.status(), text.unwrap_or_default()))
}

/// The relay session's token, made (or renewed) when needed. Guests have
/// none: Synapse gives them no OpenID token.
async fn relay_token(server: &str, renew: bool) -> Result<String, String> {
    let now = js_sys::Date::now() as i64;
    let mine = session().ok_or("Sign in first.")?;
    let cached = RELAY.with(|r| r.borrow().clone());
    if let Some(s) = cached.filter(|s| !renew && s.fresh(now) && s.user_id == mine.user_id()) {
        return Ok(s.session);
    }
    if mine.saved.guest {
        return Err("Guests cannot moderate; sign in with an account.".to_owned());
    }
    let (until, why) = REFUSED.with(|r| r.borrow().clone());
    if js_sys::Date::now() < until {
        return Err(why);
    }
    let made = make_session(server, &mine).await;
    if let Err(why) = &made {
        let until = js_sys::Date::now() + SESSION_RETRY_MS;
        REFUSED.with(|r| *r.borrow_mut() = (until, why.clone()));
    }
    made
}

/// Exchanges a fresh OpenID token for a relay session, and keeps it.
async fn make_session(server: &str, mine: &matrix::Session) -> Result<String, String> {
    let (token, server_name) = matrix::openid_token(mine).await?;
    let (status, body) = send(
        server,
        &moderation::session_call(&token, &server_name),
        None,
    )
    .await?;
    if !(200..300).contains(&status) {
        return Err(moderation::relay_error(status, &body));
    }
    let made: RelaySession = serde_json::from_str(&body)
        .map_err(|_| "The relay's session answer is malformed.".to_owned())?;
    let token = made.session.clone();
    RELAY.with(|r| *r.borrow_mut() = Some(made));
    Ok(token)
}

/// Sends `call` as the signed-in account (renewing the session once on a
/// 401); the body of a 2xx, else the relay's words.
pub(super) async fn as_me(server: &str, call: &Call) -> Result<String, String> {
    let mut renew = false;
    loop {
        let token = relay_token(server, renew).await?;
        let (status, body) = send(server, call, Some(&token)).await?;
        match status {
            200..=299 => return Ok(body),
            401 if !renew => renew = true,
            _ => return Err(moderation::relay_error(status, &body)),
        }
    }
}

/// The relay session's token if one is held and still good, without
/// asking for one (leaving a channel must not cost an OpenID token).
pub(super) fn cached_token() -> Option<String> {
    let now = js_sys::Date::now() as i64;
    RELAY.with(|r| {
        r.borrow()
            .as_ref()
            .filter(|s| s.expires_at > now)
            .map(|s| s.session.clone())
    })
}

/// Forgets the relay session (sign-out).
pub fn forget_relay() {
    RELAY.with(|r| *r.borrow_mut() = None);
    REFUSED.with(|r| *r.borrow_mut() = (0.0, String::new()));
}

impl App {
    /// Reads the viewer's role and standing in the current channel: `…/me`
    /// for an account, the public `…/standing/{id}` for a guest. Failures
    /// (a relay without moderation, a network blip) keep what was known.
    pub fn refresh_standing(&self) {
        let app = *self;
        let channel = self.current.get_untracked();
        let Some(mine) = session() else { return };
        if is_private(&channel) {
            return;
        }
        let server = self.server.get_value();
        spawn_local(async move {
            let body = if mine.saved.guest {
                let call = moderation::standing_call(&channel, &mine.user_id());
                match send(&server, &call, None).await {
                    Ok((200, body)) => Ok(body),
                    _ => Err(()),
                }
            } else {
                as_me(&server, &moderation::me_call(&channel))
                    .await
                    .map_err(|_| ())
            };
            let Ok(standing) =
                body.and_then(|b| serde_json::from_str::<Standing>(&b).map_err(|_| ()))
            else {
                return;
            };
            let same = app.current.get_untracked() == channel && app.my_id() == mine.user_id();
            if !same {
                return;
            }
            // Accounts say they are here once their role is known: admins
            // read unnoticed.
            if !mine.saved.guest {
                app.presence_for(&channel, standing.role);
            }
            if app.standing.get_untracked() != standing {
                app.standing.set(standing);
            }
        });
    }

    /// Polls the standing while `user_id` stays signed in.
    pub fn watch_standing(&self, user_id: String) {
        let app = *self;
        spawn_local(async move {
            loop {
                if app.open.get_untracked() {
                    app.refresh_standing();
                }
                sleep(STANDING_POLL_MS).await;
                if app.my_id() != user_id {
                    return;
                }
            }
        });
    }

    /// The composer's text: posted, or run as a command.
    pub fn submit(&self, text: String) -> Result<(), String> {
        match commands::parse(&text)? {
            Input::Post(text) => self.post(text),
            Input::Command(_) if is_private(&self.current.get_untracked()) => {
                Err("Moderation commands work in a channel's chat, not here. To post a line starting with /, type //.".to_owned())
            }
            Input::Command(command) => self.command(command),
        }
    }

    /// Resolves a command's names and message against the current
    /// channel's lines and runs it.
    fn command(&self, command: Command) -> Result<(), String> {
        let channel = self.current.get_untracked();
        let selected = self.selected.get_untracked();
        let (action, label) = self.timelines.with_untracked(|t| {
            let lines = t.get(&channel).map(|t| t.lines()).unwrap_or_default();
            let senders = commands::senders(lines);
            let named = |who: &str| -> Result<(String, String), String> {
                let id = commands::resolve(who, &senders)?;
                let name = senders
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map_or(id.clone(), |(_, n)| n.clone());
                Ok((id, name))
            };
            Ok::<_, String>(match command {
                Command::Timeout {
                    who,
                    seconds,
                    reason,
                } => {
                    let (id, name) = named(&who)?;
                    (Action::Timeout(id, seconds, reason), name)
                }
                Command::Untimeout(who) => named(&who).map(|(id, n)| (Action::Untimeout(id), n))?,
                Command::Ban { who, reason } => {
                    let (id, name) = named(&who)?;
                    (Action::Ban(id, reason), name)
                }
                Command::Unban(who) => named(&who).map(|(id, n)| (Action::Unban(id), n))?,
                Command::Mark(nsfw) => {
                    let (line, chosen) = commands::pick_image(lines, selected.as_deref())?;
                    let which = if chosen {
                        "the selected image"
                    } else {
                        "the newest image"
                    };
                    let label =
                        format!("{which}, {}'s “{}”", line.message.sender, line.message.body);
                    (Action::Mark(line.message.id.clone(), nsfw), label)
                }
                Command::Delete(who) => {
                    let sender = who.as_deref().map(named).transpose()?.map(|(id, _)| id);
                    let line =
                        commands::pick_message(lines, selected.as_deref(), sender.as_deref())?;
                    let label =
                        format!("{}'s message “{}”", line.message.sender, line.message.body);
                    (Action::Delete(line.message.id.clone()), label)
                }
                Command::Mod(who, term) => {
                    let (id, name) = named(&who)?;
                    let until = match term {
                        Term::General => None,
                        Term::Until { hour, minute } => {
                            let now = js_sys::Date::now();
                            let offset = -(js_sys::Date::new(&JsValue::from_f64(now))
                                .get_timezone_offset()
                                as i64);
                            Some(commands::next_clock(now as i64, offset, hour, minute))
                        }
                    };
                    (Action::Appoint(id, until), name)
                }
                Command::Unmod(who) => named(&who).map(|(id, n)| (Action::Dismiss(id), n))?,
            })
        })?;
        self.moderate(action, label);
        Ok(())
    }

    /// Runs a moderation action in the current channel; the notice says
    /// what happened, or the relay's refusal as it wrote it.
    pub fn moderate(&self, action: Action, label: String) {
        self.moderate_then(action, label, || {});
    }

    /// [`App::moderate`], then `then` once the relay answered.
    pub fn moderate_then(&self, action: Action, label: String, then: impl FnOnce() + 'static) {
        let app = *self;
        let channel = self.current.get_untracked();
        let server = self.server.get_value();
        self.busy(async move {
            let done = as_me(&server, &action.call(&channel)).await;
            then();
            done?;
            app.notice.set(action.done(&label));
            Ok(())
        });
    }

    /// A moderator's view of someone: karma and the suggested length.
    pub async fn user_info(&self, user_id: String) -> Option<UserInfo> {
        let channel = self.current.get_untracked();
        let server = self.server.get_value();
        let body = as_me(&server, &moderation::user_call(&channel, &user_id))
            .await
            .ok()?;
        serde_json::from_str(&body).ok()
    }
}
