//! Fetching one preview from the homeserver as the bot, bounded while it
//! streams: a body over the limit is cut off at the limit (never read whole
//! first), and the bytes must be an image whose header states a sane size
//! ([`crate::bridge::image::check`]).

use crate::error::ApiError;
use axum::body::Bytes;
use axum::http::StatusCode;
use matrix_sdk::reqwest;
use matrix_sdk::ruma::OwnedMxcUri;
use matrix_sdk::Client;
use std::time::Duration;

/// How long one fetch may take, body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Why there is no preview.
#[derive(Debug)]
pub enum Fetch {
    /// For good (refused, not an image, too large): remembered.
    Permanent(ApiError),
    /// The homeserver failed or did not answer: remembered for a while.
    Transient(ApiError),
    /// The link is down: nothing was asked, nothing remembered.
    Unavailable(ApiError),
}

/// A preview's type and bytes.
pub type Image = (&'static str, Bytes);

/// A preview refused for good, saying why.
pub fn bad(why: &str) -> Fetch {
    Fetch::Permanent(ApiError::new(
        StatusCode::BAD_GATEWAY,
        "bad_media",
        format!("the attachment has no usable preview: {why}"),
    ))
}

/// A homeserver failure, retried after `retry_after` seconds.
pub fn upstream(why: &str, retry_after: u64) -> ApiError {
    let mut e = ApiError::new(StatusCode::BAD_GATEWAY, "matrix_unavailable", why);
    e.retry_after = Some(retry_after);
    e
}

/// The authenticated-media thumbnail URL of `uri` at `width`×`height`.
fn thumbnail_url(client: &Client, uri: &str, size: (u32, u32, &str)) -> Option<String> {
    let uri = OwnedMxcUri::from(uri);
    let (server, id) = uri.parts().ok()?;
    let (w, h, method) = size;
    let base = client.homeserver();
    Some(format!(
        "{}/_matrix/client/v1/media/thumbnail/{server}/{id}?width={w}&height={h}&method={method}&animated=false",
        base.as_str().trim_end_matches('/')
    ))
}

/// Fetches the thumbnail of `uri` at `size` (width, height, method) as the
/// bot, at most `max` bytes.
pub async fn fetch(
    client: &Client,
    uri: &str,
    size: (u32, u32, &str),
    max: usize,
    retry_after: u64,
) -> Result<Image, Fetch> {
    let url = thumbnail_url(client, uri, size).ok_or_else(|| bad("not a content URI"))?;
    let token = client.access_token().ok_or_else(|| {
        Fetch::Unavailable(upstream("the Matrix link is logging in", retry_after))
    })?;
    let transient = |why: String| {
        tracing::info!(uri, "thumbnail fetch failed: {why}");
        Fetch::Transient(upstream("the homeserver failed", retry_after))
    };
    let got = tokio::time::timeout(FETCH_TIMEOUT, async {
        let response = client
            .http_client()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| transient(e.to_string()))?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            // A 401 is the bot's login, not the media: worth another try.
            let refused = (400..500).contains(&status) && status != 429 && status != 401;
            return Err(if refused {
                bad("the homeserver refused it")
            } else {
                transient(format!("status {status}"))
            });
        }
        read_bounded(response, max).await.map_err(|e| match e {
            Read::TooLarge => bad("too large"),
            Read::Failed(why) => transient(why),
        })
    })
    .await
    .map_err(|_| transient("no answer in time".into()))??;
    let kind = crate::bridge::image::check(&got).map_err(bad)?;
    Ok((kind, Bytes::from(got)))
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// It is (or says it is) over the limit; reading stopped there.
    TooLarge,
    /// The connection failed.
    Failed(String),
}

/// Reads a response body of at most `max` bytes, chunk by chunk: a body
/// that says or turns out to be larger is refused as soon as it passes the
/// limit, so no more than `max` bytes (plus one chunk) are ever held.
pub async fn read_bounded(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, Read> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(Read::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Read::Failed(e.to_string()))?
    {
        if body.len() + chunk.len() > max {
            return Err(Read::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-connection HTTP server whose body never ends (chunked, 64 KiB
    /// chunks) unless `length` is given, then it only claims that length.
    async fn endless(length: Option<u64>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let head = match length {
                Some(n) => format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n"),
                None => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
            };
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = [b'x'; 65536];
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(&chunk);
            framed.extend_from_slice(b"\r\n");
            // Until the reader hangs up.
            while s.write_all(&framed).await.is_ok() {}
        });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_cut_off_while_it_streams() {
        let client = reqwest::Client::new();
        for length in [None, Some(10 << 30)] {
            let url = endless(length).await;
            let response = client.get(url).send().await.unwrap();
            // An endless body: only a reader that stops at the limit returns.
            let read =
                tokio::time::timeout(Duration::from_secs(10), read_bounded(response, 512 * 1024))
                    .await
                    .expect("the read stops at the limit");
            assert_eq!(read, Err(Read::TooLarge), "{length:?}");
        }
    }
}
