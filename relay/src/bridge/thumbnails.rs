//! `GET /media/{channel}/{id}/thumbnail` and `GET /media/{channel}/avatars/{key}`:
//! previews of bridged attachments and members' avatars, fetched from the
//! homeserver as the bot and served to anonymous viewers (authenticated media
//! means viewers cannot fetch `mxc://` content).
//!
//! Only for attachments of visible messages the relay bridged, and avatars of
//! members whose events it stored (the content URI comes from the store,
//! never from the request); at most [`MAX_BYTES`] per image, cut off while
//! it streams ([`media_fetch`]); the bytes must be PNG, JPEG, GIF or WebP
//! whatever the sender or homeserver claimed, with a header stating at most
//! [`crate::bridge::image::MAX_SIDE`] pixels a side (no decompression bombs), and are served
//! with the type they really are, `nosniff` and a CSP that runs nothing.
//! One fetch per attachment however many viewers ask at once; results are
//! cached, the newest [`CACHE_ENTRIES`] kept: images and permanent refusals
//! for good, a homeserver failure for [`FAILURE_TTL`] (so a failing preview
//! is not fetched again for every viewer).

use crate::bridge::media_fetch::{self, Fetch, Image};
use crate::error::{check_channel, ApiError, ApiPath};
use crate::store::{self, StoreError};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use matrix_sdk::Client;
use rusqlite::Connection;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// Largest thumbnail served, in bytes.
pub const MAX_BYTES: usize = 512 * 1024;
/// Thumbnails (or refusals) remembered.
pub const CACHE_ENTRIES: usize = 256;
/// How long a homeserver failure is remembered (and served to every viewer
/// who asks) before the preview is fetched again.
pub const FAILURE_TTL: Duration = Duration::from_secs(30);
/// What a preview is of, which sets the size asked of the homeserver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    /// An attachment: scaled down to fit 320×240, keeping its ratio.
    Attachment,
    /// An avatar: cropped to a 96×96 square (shown small, sharp on HiDPI).
    Avatar,
}

impl Preview {
    /// The size and method asked of the homeserver.
    fn size(self) -> (u32, u32, &'static str) {
        match self {
            Preview::Attachment => (320, 240, "scale"),
            Preview::Avatar => (96, 96, "crop"),
        }
    }

    /// The 404's message.
    fn missing(self) -> &'static str {
        match self {
            Preview::Attachment => "no such attachment",
            Preview::Avatar => "no such avatar",
        }
    }
}
/// A fetched thumbnail, or why there is none.
type Outcome = Result<Image, ApiError>;

/// An outcome and until when it holds (`None`: for good).
struct Cached {
    /// The image or the refusal served.
    outcome: Outcome,
    /// When a remembered failure expires.
    until: Option<Instant>,
}

/// The bridge's client (while logged in) and the cache.
#[derive(Default)]
pub struct Thumbnails {
    /// Set by the bridge session once logged in; `None` while the link is down.
    client: RwLock<Option<Client>>,
    /// Per content URI and preview: one fetch shared by everyone waiting.
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    /// The entries by content URI.
    cells: HashMap<String, Arc<OnceCell<Cached>>>,
    /// Insertion order, oldest first, for eviction.
    order: VecDeque<String>,
}

impl Thumbnails {
    /// Sets (or, with `None`, clears) the client used to fetch.
    pub fn set_client(&self, client: Option<Client>) {
        *self.client.write().unwrap_or_else(|e| e.into_inner()) = client;
    }

    fn client(&self) -> Option<Client> {
        self.client
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The cell of `key`: the cached one, unless it holds an expired failure.
    fn cell(&self, key: &str) -> Arc<OnceCell<Cached>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cell) = cache.cells.get(key) {
            let expired = cell
                .get()
                .and_then(|c| c.until)
                .is_some_and(|until| Instant::now() >= until);
            if !expired {
                return cell.clone();
            }
            cache.cells.remove(key);
            cache.order.retain(|k| k != key);
        }
        let cell = Arc::new(OnceCell::new());
        cache.cells.insert(key.to_string(), cell.clone());
        cache.order.push_back(key.to_string());
        while cache.order.len() > CACHE_ENTRIES {
            if let Some(old) = cache.order.pop_front() {
                cache.cells.remove(&old);
            }
        }
        cell
    }

    /// The `preview` of `uri`, fetched once.
    async fn get(&self, uri: &str, preview: Preview) -> Outcome {
        let client = self.client();
        self.cached(&format!("{preview:?} {uri}"), || async {
            let client = client.ok_or_else(|| Fetch::Unavailable(link_down()))?;
            let retry = FAILURE_TTL.as_secs();
            media_fetch::fetch(&client, uri, preview.size(), MAX_BYTES, retry).await
        })
        .await
    }

    /// The outcome of `key`: cached, or `fetch`ed by the first caller while
    /// the others wait for it.
    async fn cached<F, Fut>(&self, key: &str, fetch: F) -> Outcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Image, Fetch>>,
    {
        let cell = self.cell(key);
        let result = cell
            .get_or_try_init(|| async {
                let (outcome, until) = match fetch().await {
                    Ok(image) => (Ok(image), None),
                    Err(Fetch::Permanent(e)) => (Err(e), None),
                    Err(Fetch::Transient(e)) => (Err(e), Some(Instant::now() + FAILURE_TTL)),
                    Err(Fetch::Unavailable(e)) => return Err(e),
                };
                Ok(Cached { outcome, until })
            })
            .await;
        match result {
            Ok(cached) => cached.outcome.clone(),
            Err(e) => Err(e),
        }
    }
}

fn link_down() -> ApiError {
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "matrix_unavailable",
        "the Matrix link is down; try again later",
    );
    e.retry_after = Some(10);
    e
}

/// The attachment route's handler.
pub async fn handler(
    State(state): State<AppState>,
    ApiPath((channel, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let kind = Preview::Attachment;
    check_path(&channel, &id, kind)?;
    preview(&state, kind, move |c| store::media_source(c, &channel, &id)).await
}

/// The avatar route's handler.
pub async fn avatar_handler(
    State(state): State<AppState>,
    ApiPath((channel, key)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let kind = Preview::Avatar;
    check_path(&channel, &key, kind)?;
    preview(&state, kind, move |c| {
        store::avatars::source(c, &channel, &key)
    })
    .await
}

/// A valid channel name (400) and an id or key of at most 32 bytes (404).
fn check_path(channel: &str, id: &str, kind: Preview) -> Result<(), ApiError> {
    check_channel(channel)?;
    if id.len() > 32 {
        return Err(ApiError::not_found(kind.missing()));
    }
    Ok(())
}

/// Serves the `kind` preview of the content URI that `lookup` finds in the
/// store (404 when it finds none, see [`not_here`]).
async fn preview<F>(state: &AppState, kind: Preview, lookup: F) -> Result<Response, ApiError>
where
    F: FnOnce(&mut Connection) -> Result<Option<String>, StoreError> + Send + 'static,
{
    let uri = state
        .hub
        .store()
        .call(lookup)
        .await
        .map_err(|e| ApiError::internal("media lookup", e))?
        .ok_or_else(|| not_here(state, kind))?;
    serve(state.thumbnails.get(&uri, kind).await?)
}

/// Why a preview is not found here. In clustered mode only the node running
/// the Matrix link (the lease holder) knows bridged media and has a client to
/// fetch them: another node says so with a `503` and `Retry-After` (a load
/// balancer's next pick may be the holder) instead of a silent `404`.
fn not_here(state: &AppState, kind: Preview) -> ApiError {
    if state.cluster.is_some() && state.metrics.bridge_lease.get() == 0 {
        ApiError::unavailable(
            "bridged media are served by the relay node that runs the Matrix bridge, \
             not this one: ask again",
            2,
        )
    } else {
        ApiError::not_found(kind.missing())
    }
}

/// An image response that runs nothing: its real type, `nosniff`, a CSP
/// that forbids everything, cacheable for an hour by anyone.
fn serve((kind, bytes): (&'static str, Bytes)) -> Result<Response, ApiError> {
    let headers = [
        (header::CONTENT_TYPE, kind),
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    ];
    Ok((headers, bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Asks `t` for `key` with a fetch that counts its calls in `calls`
    /// and fails with `fail`.
    async fn ask(t: &Thumbnails, calls: &AtomicUsize, fail: fn() -> Fetch) -> Outcome {
        t.cached("k", || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(fail())
        })
        .await
    }

    fn transient() -> Fetch {
        Fetch::Transient(media_fetch::upstream("down", 30))
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_preview_is_not_fetched_again_for_every_viewer() {
        let (t, calls) = (Thumbnails::default(), AtomicUsize::new(0));
        for _ in 0..10 {
            let e = ask(&t, &calls, transient).await.unwrap_err();
            assert_eq!(e.retry_after, Some(30));
        }
        assert_eq!(
            calls.load(Ordering::Relaxed),
            1,
            "one fetch for ten viewers"
        );
        tokio::time::advance(FAILURE_TTL + Duration::from_secs(1)).await;
        ask(&t, &calls, transient).await.unwrap_err();
        assert_eq!(
            calls.load(Ordering::Relaxed),
            2,
            "fetched again after a while"
        );
        // A refusal holds for good; a link that is down is not remembered.
        let (t, calls) = (Thumbnails::default(), AtomicUsize::new(0));
        for _ in 0..3 {
            ask(&t, &calls, || media_fetch::bad("no"))
                .await
                .unwrap_err();
            tokio::time::advance(FAILURE_TTL * 2).await;
        }
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        let (t, calls) = (Thumbnails::default(), AtomicUsize::new(0));
        for _ in 0..3 {
            ask(&t, &calls, || Fetch::Unavailable(link_down()))
                .await
                .unwrap_err();
        }
        assert_eq!(calls.load(Ordering::Relaxed), 3);
    }
}
