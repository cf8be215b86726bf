//! Channel information for the chat and the API, public channels only:
//! `GET /chat/v1/channels/{channel}/links` ([`links`]: links and attachments
//! posted, from the visible messages) and `…/people` ([`who`]: feed sockets
//! open, signed-in chatters present, everyone seen lately; the lists for
//! moderators), with `POST`/`DELETE …/presence` ([`presence`]) for a
//! signed-in chatter to say they are here or gone. Alone, [`people`] keeps
//! them in memory and `seen` is in SQLite ([`crate::store::seen`]); in
//! clustered mode [`shared`] adds up the cluster's figures in Redis.
//!
//! Behind the per-address quota of the other anonymous endpoints (and
//! presence behind the session's per-user one too); any page may call them
//! (CORS: any origin, `Authorization` and `Content-Type`, preflight
//! answered). A private channel is a `404` here, whoever asks.

pub mod links;
pub mod people;
pub mod presence;
pub mod shared;
pub mod who;

use crate::error::{ApiError, ApiPath};
use crate::event::now_ms;
use crate::store::{seen, Store};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use people::People;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// "Seen" counts the people seen in this window before now: the event
/// (a show, a set) going on, or that just ended.
pub const SEEN_WINDOW: Duration = Duration::from_secs(12 * 3600);

/// How often expired presences are swept and queued `seen` rows written.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Longest list a moderator gets (present, seen).
pub const MAX_LIST: usize = 500;

/// The information routes; `lib.rs` puts them behind the anonymous quota.
pub fn routes() -> Router<AppState> {
    let c = "/chat/v1/channels/{channel}";
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    Router::new()
        .route(&format!("{c}/links"), get(links_handler))
        .route(&format!("{c}/people"), get(who::handler))
        .route(
            &format!("{c}/presence"),
            post(presence::arrive).delete(presence::leave),
        )
        .layer(cors)
}

/// An answer as JSON or the JSON error (the CORS layer lets any page
/// read both).
fn public<T: Serialize>(answer: Result<T, ApiError>) -> Response {
    match answer {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn links_handler(
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    public(links::handler(&state, &channel, raw.as_deref()).await)
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
