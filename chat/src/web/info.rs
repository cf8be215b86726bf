//! A public channel's information, browser side: the links list and who
//! is here read from the relay, and the signed-in viewer's presence (said
//! on opening a channel once their role is known, renewed every `renew_s`,
//! taken back on leaving it, closing the chat or the page). Admins read
//! unnoticed: they never say they are here. Guests have no relay session
//! and say nothing. The requests and words are in [`crate::info`].

use super::actions::sleep;
use super::app::{session, App};
use super::moderation::{as_me, cached_token, send};
use super::private::is_private;
use crate::info::{self, LinksPage, People, Presence, DEFAULT_RENEW_S};
use crate::moderation::{relay_error, Call, Role};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;
use std::cell::{Cell, RefCell};
use wasm_bindgen::JsValue;

thread_local! {
    /// The channel the viewer said they are in, and that saying's number
    /// (its renewal loop stops when this changes).
    static PRESENT: RefCell<Option<(String, u64)>> = const { RefCell::new(None) };
    /// The next saying's number.
    static NEXT: Cell<u64> = const { Cell::new(0) };
}

/// Whether saying `n` is still the current one.
fn still(n: u64) -> bool {
    PRESENT.with(|p| p.borrow().as_ref().is_some_and(|(_, m)| *m == n))
}

impl App {
    /// Reads the newest page of the current channel's links (`older`:
    /// the page below the list instead).
    pub fn load_links(&self, older: bool) {
        let Some(before) = cursor(older, self.links.with_untracked(|l| l.older)) else {
            return;
        };
        self.read_page(
            move |c| info::links_call(c, before),
            false,
            move |app, page: LinksPage| match older {
                true => app.links.update(|l| l.older_page(page)),
                false => app.links.update(|l| l.newest(page)),
            },
        );
    }

    /// Reads `call(channel)` for the current public channel (as the signed-in
    /// account when `signed`) and hands its answer to `apply` if the viewer
    /// is still there; a refusal goes to the notice.
    pub(super) fn read_page<T: DeserializeOwned + 'static>(
        &self,
        call: impl FnOnce(&str) -> Call + 'static,
        signed: bool,
        apply: impl FnOnce(App, T) + 'static,
    ) {
        let app = *self;
        let channel = self.current.get_untracked();
        if is_private(&channel) {
            return;
        }
        let server = self.server.get_value();
        spawn_local(async move {
            let call = call(&channel);
            let body = if signed {
                as_me(&server, &call).await
            } else {
                match send(&server, &call, None).await {
                    Ok((200, body)) => Ok(body),
                    Ok((status, body)) => Err(relay_error(status, &body)),
                    Err(why) => Err(why),
                }
            };
            let page = body.and_then(|b| {
                serde_json::from_str::<T>(&b)
                    .map_err(|_| "The relay's answer is malformed.".to_owned())
            });
            if app.current.get_untracked() != channel {
                return;
            }
            match page {
                Ok(page) => apply(app, page),
                Err(why) => app.notice.set(why),
            }
        });
    }

    /// Reads who is in the current channel: counts for everyone, and for
    /// moderators and up the lists (counts alone if the lists are refused).
    pub fn load_people(&self) {
        let app = *self;
        let channel = self.current.get_untracked();
        if is_private(&channel) {
            return;
        }
        let account = session().is_some_and(|s| !s.saved.guest);
        let lists = account && self.standing.with_untracked(|s| s.role.moderates());
        let server = self.server.get_value();
        spawn_local(async move {
            let mut body = None;
            if lists {
                body = as_me(&server, &info::people_call(&channel, true))
                    .await
                    .ok();
            }
            if body.is_none() {
                body = match send(&server, &info::people_call(&channel, false), None).await {
                    Ok((200, b)) => Some(b),
                    _ => None,
                };
            }
            let people = body.and_then(|b| serde_json::from_str::<People>(&b).ok());
            if app.current.get_untracked() == channel {
                match people {
                    Some(p) => app.people.set(Some(p)),
                    None => app.notice.set("Who is here cannot be read now.".to_owned()),
                }
            }
        });
    }

    /// Says the viewer is in `channel` (or, for an admin, makes sure they
    /// are not); called whenever their role there is read.
    pub(super) fn presence_for(&self, channel: &str, role: Role) {
        let here = PRESENT.with(|p| p.borrow().as_ref().map(|(c, _)| c.clone()));
        if role == Role::Admin || !self.open.get_untracked() || is_private(channel) {
            if here.is_some() {
                self.leave_presence(false);
            }
            return;
        }
        if here.as_deref() == Some(channel) {
            return;
        }
        self.leave_presence(false);
        let n = NEXT.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        PRESENT.with(|p| *p.borrow_mut() = Some((channel.to_owned(), n)));
        let (server, channel) = (self.server.get_value(), channel.to_owned());
        spawn_local(async move {
            while still(n) {
                let wait = match as_me(&server, &info::presence_call(&channel, true)).await {
                    Ok(body) => Presence::renew_ms(&body),
                    Err(_) => DEFAULT_RENEW_S * 1000,
                };
                if !still(n) {
                    // Left while the saying was on its way: take it back.
                    gone(&server, &channel, false);
                    return;
                }
                sleep(wait).await;
            }
        });
    }

    /// Takes the viewer's presence back (leaving the channel, closing the
    /// chat; `unloading`: the page goes, so the request outlives it).
    pub fn leave_presence(&self, unloading: bool) {
        let Some((channel, _)) = PRESENT.with(|p| p.borrow_mut().take()) else {
            return;
        };
        gone(&self.server.get_value(), &channel, unloading);
    }
}

/// The `before` of a page: `Some(None)` for the newest, `Some(cursor)` for
/// the older one, `None` when there is no older one.
pub(super) fn cursor<T>(older: bool, next: Option<T>) -> Option<Option<T>> {
    match (older, next) {
        (false, _) => Some(None),
        (true, Some(b)) => Some(Some(b)),
        (true, None) => None,
    }
}

/// `DELETE …/presence` with the session held now, best effort.
fn gone(server: &str, channel: &str, unloading: bool) {
    let Some(token) = cached_token() else { return };
    let Some(window) = web_sys::window() else {
        return;
    };
    let call = info::presence_call(channel, false);
    let init = web_sys::RequestInit::new();
    init.set_method(call.method);
    let headers = js_sys::Object::new();
    let _ = js_sys::Reflect::set(
        &headers,
        &"Authorization".into(),
        &format!("Bearer {token}").into(),
    );
    init.set_headers(&headers);
    if unloading {
        let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE);
    }
    // Not awaited: nothing waits for a goodbye.
    let _ = window.fetch_with_str_and_init(&format!("{server}{}", call.path), &init);
}
