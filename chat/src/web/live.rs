//! A DJ who is live gets no private messages: the organiser marks them live
//! through the relay's Chat API, the relay's directory lists them, and the
//! chat holds messages to them (shown as held, sent by themselves when the
//! show is over) and refuses new conversations with them meanwhile.

use super::actions::sleep;
use super::app::App;
use super::directory::{fetch, Freshness};
use crate::private;
use chyron_protocol::LiveDj;
use leptos::prelude::*;

/// How often a held message checks whether the show is over.
const HOLD_POLL_MS: u32 = 10_000;

impl App {
    /// The DJs live now on any channel, as the directory last said.
    fn live_djs(&self) -> Vec<LiveDj> {
        self.channels
            .with_untracked(|c| c.iter().flat_map(|i| i.live.iter().cloned()).collect())
    }

    /// Someone in private conversation `key` who is a live DJ now.
    fn live_in(&self, key: &str) -> Option<String> {
        let live = self.live_djs();
        self.private
            .with_untracked(|p| p.get(key)?.live_member(&live))
    }

    /// Waits while a member of private conversation `key` is a live DJ:
    /// the post `txn` shows as held, and the relay's directory is asked
    /// again now and then; it goes out when the show is over.
    pub(super) async fn hold_while_live(&self, key: &str, txn: &str) {
        if !key.starts_with('!') {
            return;
        }
        // Who is live changes during the show: ask the relay now, not what
        // the page loaded with.
        self.refresh_directory().await;
        let mut held = false;
        while let Some(name) = self.live_in(key) {
            held = true;
            let why = format!("{name} is live; your message goes out after the show.");
            self.timelines.update(|t| {
                if let Some(t) = t.get_mut(key) {
                    t.hold(txn, Some(why));
                }
            });
            sleep(HOLD_POLL_MS).await;
            self.refresh_directory().await;
        }
        if held {
            self.timelines.update(|t| {
                if let Some(t) = t.get_mut(key) {
                    t.hold(txn, None);
                }
            });
        }
    }

    /// Reads the relay's channel list again, past the browser's cache (who
    /// is live changes). If the relay cannot be asked, the last list stands.
    async fn refresh_directory(&self) {
        let server = self.server.get_value();
        if let Ok(directory) = fetch(&server, Freshness::Now).await {
            if self.channels.with_untracked(|c| *c != directory.channels) {
                self.channels.set(directory.channels);
            }
        }
    }

    /// The name of a live DJ among `users`, asking the relay first.
    pub(super) async fn live_among(&self, users: &[String]) -> Option<String> {
        self.refresh_directory().await;
        let dj = self
            .live_djs()
            .into_iter()
            .find(|dj| users.contains(&dj.user_id))?;
        Some(dj.name.unwrap_or_else(|| private::short_name(&dj.user_id)))
    }
}
