//! Channel information for the chat and the API, public channels only:
//! `GET /chat/v1/channels/{channel}/links` ([`links`]: links and attachments
//! posted, from the visible messages) and `…/people` (who is here: feed
//! sockets open, signed-in chatters present, everyone seen lately), with
//! `POST …/presence` for a chatter to say they are here ([`people`], in
//! memory; `seen` in SQLite, [`crate::store::seen`]).
//!
//! Anonymous (behind the per-address quota of the other anonymous
//! endpoints) and readable from any page (`Access-Control-Allow-Origin: *`).
//! A private channel is a `404` here, whoever asks.

pub mod links;
pub mod people;

use crate::error::{ApiError, ApiPath};
use crate::event::now_ms;
use crate::live::public_channel;
use crate::store::{seen, Store};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use people::People;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// "Seen" counts the people seen in this window before now: the event
/// (a show, a set) going on, or that just ended.
pub const SEEN_WINDOW: Duration = Duration::from_secs(12 * 3600);

/// How often expired presences are swept and queued `seen` rows written.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The information routes; `lib.rs` puts them behind the anonymous quota.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chat/v1/channels/{channel}/links", get(links_handler))
        .route("/chat/v1/channels/{channel}/people", get(people_handler))
}

/// An answer any page may read: JSON or the JSON error, both with
/// `Access-Control-Allow-Origin: *`.
fn public<T: Serialize>(answer: Result<T, ApiError>) -> Response {
    let mut res = match answer {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => e.into_response(),
    };
    let any = header::HeaderValue::from_static("*");
    res.headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, any);
    res
}

async fn links_handler(
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    public(links::handler(&state, &channel, raw.as_deref()).await)
}

/// Who is here, as everyone sees it.
#[derive(Debug, Serialize)]
pub struct Counts {
    /// Feed sockets of the channel open on this relay now.
    pub viewers: usize,
    /// Signed-in chatters present now.
    pub chatters: usize,
    /// People seen in the last [`SEEN_WINDOW`] (posted, or were present).
    pub seen: u64,
}

async fn people_handler(
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
) -> Response {
    public(counts(&state, &channel).await)
}

/// The counts for `channel`.
async fn counts(state: &AppState, channel: &str) -> Result<Counts, ApiError> {
    public_channel(state, channel)?;
    write_seen(&state.people, state.hub.store()).await?;
    let people = &state.people;
    let (owned, since) = (
        channel.to_string(),
        now_ms() - SEEN_WINDOW.as_millis() as i64,
    );
    // Admins read unnoticed: a post of theirs is no sighting.
    let admins = state.config.chat.admins.clone();
    let seen = state
        .hub
        .store()
        .call(move |c| seen::count(c, &owned, since, &admins))
        .await
        .map_err(|e| ApiError::internal("seen", e))?;
    Ok(Counts {
        viewers: people.viewers(channel),
        chatters: people.chatters(channel, tokio::time::Instant::now()),
        seen,
    })
}

/// Writes the `seen` rows presences queued, in one transaction.
async fn write_seen(people: &People, store: &Store) -> Result<(), ApiError> {
    let rows = people.take_seen();
    if rows.is_empty() {
        return Ok(());
    }
    store
        .call(move |c| seen::record_all(c, &rows))
        .await
        .map_err(|e| ApiError::internal("seen", e))
}

/// Every [`SWEEP_EVERY`] until `stop`: forgets expired presences and writes
/// the queued `seen` rows; once an hour, forgets `seen` rows older than
/// [`seen::FORGET_AFTER_MS`].
pub async fn sweep(people: Arc<People>, store: Store, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = every.tick() => {}
        }
        people.sweep(tokio::time::Instant::now());
        // Logged inside (`ApiError::internal`); retried at the next tick.
        let _ = write_seen(&people, &store).await;
        ticks += 1;
        if ticks.is_multiple_of(3600 / SWEEP_EVERY.as_secs()) {
            let old = now_ms() - seen::FORGET_AFTER_MS;
            if let Err(e) = store.call(move |c| seen::forget_before(c, old)).await {
                tracing::warn!("forgetting old seen rows: {e}");
            }
        }
    }
    // What presences queued last is not lost at a clean stop.
    let _ = write_seen(&people, &store).await;
}
