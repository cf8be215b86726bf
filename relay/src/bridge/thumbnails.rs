//! `GET /media/{channel}/{id}/thumbnail` and `GET /media/{channel}/avatars/{key}`:
//! previews of bridged attachments and members' avatars, fetched from the
//! homeserver as the bot and served to anonymous viewers (authenticated media
//! means viewers cannot fetch `mxc://` content).
//!
//! Only for attachments of visible messages the relay bridged, and avatars of
//! members whose events it stored (the content URI comes from the store,
//! never from the request); at most
//! [`MAX_BYTES`] per image; the bytes must be PNG, JPEG, GIF or WebP
//! whatever the sender or homeserver claimed, and are served with the type
//! they really are, `nosniff` and a CSP that runs nothing. One fetch per
//! attachment however many viewers ask at once; results (including
//! permanent refusals) are cached, the newest [`CACHE_ENTRIES`] kept.

use crate::error::{check_channel, ApiError, ApiPath};
use crate::store::{self, StoreError};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use matrix_sdk::media::{MediaFormat, MediaRequestParameters, MediaThumbnailSettings};
use matrix_sdk::ruma::events::room::MediaSource;
use matrix_sdk::ruma::media::Method;
use matrix_sdk::ruma::{OwnedMxcUri, UInt};
use matrix_sdk::Client;
use rusqlite::Connection;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Largest thumbnail served, in bytes.
pub const MAX_BYTES: usize = 512 * 1024;
/// Thumbnails (or refusals) remembered.
pub const CACHE_ENTRIES: usize = 256;
/// What a preview is of, which sets the size asked of the homeserver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    /// An attachment: scaled down to fit 320×240, keeping its ratio.
    Attachment,
    /// An avatar: cropped to a 96×96 square (shown small, sharp on HiDPI).
    Avatar,
}

impl Preview {
    fn settings(self) -> MediaThumbnailSettings {
        let (method, w, h) = match self {
            Preview::Attachment => (Method::Scale, 320u32, 240u32),
            Preview::Avatar => (Method::Crop, 96, 96),
        };
        MediaThumbnailSettings::with_method(method, UInt::from(w), UInt::from(h))
    }

    /// The 404's message.
    fn missing(self) -> &'static str {
        match self {
            Preview::Attachment => "no such attachment",
            Preview::Avatar => "no such avatar",
        }
    }
}
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// A fetched thumbnail, or why there is none for good.
type Outcome = Result<(&'static str, Bytes), ApiError>;

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
    cells: HashMap<String, Arc<OnceCell<Outcome>>>,
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

    fn cell(&self, uri: &str) -> Arc<OnceCell<Outcome>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cell) = cache.cells.get(uri) {
            return cell.clone();
        }
        let cell = Arc::new(OnceCell::new());
        cache.cells.insert(uri.to_string(), cell.clone());
        cache.order.push_back(uri.to_string());
        while cache.order.len() > CACHE_ENTRIES {
            if let Some(old) = cache.order.pop_front() {
                cache.cells.remove(&old);
            }
        }
        cell
    }

    /// The `preview` of `uri`, fetched once.
    async fn get(&self, uri: &str, preview: Preview) -> Outcome {
        let cell = self.cell(&format!("{preview:?} {uri}"));
        let result = cell
            .get_or_try_init(|| async {
                let client = self.client().ok_or_else(link_down)?;
                // Permanent outcomes are cached (Ok); transient ones retried.
                let fetched = fetch(&client, uri, preview).await;
                fetched.map(Ok).or_else(|e| match e {
                    Fetch::Permanent(e) => Ok(Err(e)),
                    Fetch::Transient(e) => Err(e),
                })
            })
            .await;
        match result {
            Ok(outcome) => outcome.clone(),
            Err(e) => Err(e),
        }
    }
}

enum Fetch {
    Permanent(ApiError),
    Transient(ApiError),
}

async fn fetch(
    client: &Client,
    uri: &str,
    preview: Preview,
) -> Result<(&'static str, Bytes), Fetch> {
    let bad = |why: &str| {
        Fetch::Permanent(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "bad_media",
            format!("the attachment has no usable preview: {why}"),
        ))
    };
    let request = MediaRequestParameters {
        source: MediaSource::Plain(OwnedMxcUri::from(uri)),
        format: MediaFormat::Thumbnail(preview.settings()),
    };
    let got = tokio::time::timeout(
        FETCH_TIMEOUT,
        client.media().get_media_content(&request, false),
    )
    .await
    .map_err(|_| Fetch::Transient(upstream("the homeserver did not answer in time")))?;
    let bytes = match got {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::info!(uri, "thumbnail fetch failed: {e}");
            return Err(if super::refused_for_good(&e) {
                bad("the homeserver refused it")
            } else {
                Fetch::Transient(upstream("the homeserver failed"))
            });
        }
    };
    if bytes.len() > MAX_BYTES {
        return Err(bad("too large"));
    }
    let kind = image_type(&bytes).ok_or_else(|| bad("not an image"))?;
    Ok((kind, Bytes::from(bytes)))
}

/// The real type of image bytes, by their first bytes; `None` if they are
/// not PNG, JPEG, GIF or WebP.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ => None,
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

fn upstream(why: &str) -> ApiError {
    let mut e = ApiError::new(StatusCode::BAD_GATEWAY, "matrix_unavailable", why);
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
/// store (404 when it finds none).
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
        .ok_or_else(|| ApiError::not_found(kind.missing()))?;
    serve(state.thumbnails.get(&uri, kind).await?)
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
    use super::image_type;

    #[test]
    fn images_are_told_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a.."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        for not in [
            &b""[..],
            b"<svg onload=alert(1)>",
            b"\x89PN",
            b"RIFF\0\0\0\0WAVE",
            b"%PDF-1.7",
        ] {
            assert_eq!(image_type(not), None, "{not:?}");
        }
    }
}
