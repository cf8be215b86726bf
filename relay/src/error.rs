//! The HTTP error format, `{"error":{"code","message"}}`, and the JSON body
//! extractor that turns every malformed request into it.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status, chosen by what went wrong (see the API section of README.md).
    pub status: StatusCode,
    /// Machine-readable reason, stable for clients to branch on.
    pub code: &'static str,
    /// A sentence for people saying what was wrong.
    pub message: String,
    /// Seconds to wait, for `429`: sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// `400 invalid_field`: the JSON parsed but a value breaks a rule.
    pub fn invalid_field(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_field", message)
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `401 unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// `429 rate_limited` with `Retry-After: secs`.
    pub fn rate_limited(secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests; retry after {secs} s"),
        );
        e.retry_after = Some(secs);
        e
    }

    /// `503 unavailable` with `Retry-After: secs`: a shared service (the
    /// cluster's Redis) is unreachable; nothing was changed.
    pub fn unavailable(message: impl Into<String>, secs: u64) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        e.retry_after = Some(secs);
        e
    }

    /// `500 internal`: details go to the log, not to the client.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!("{context}: {err}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut res = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// A JSON request body; every way it can be wrong becomes an [`ApiError`].
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state).await;
        decode_json(&headers, bytes).map(ApiJson)
    }
}

/// Checks the content type and parses a buffered body as JSON.
pub fn decode_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = bytes.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "request body is larger than {} bytes",
                    chyron_protocol::limits::MAX_REQUEST_BYTES
                ),
            )
        } else {
            ApiError::bad_request(format!("could not read the request body: {rejection}"))
        }
    })?;
    if !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected `Content-Type: application/json`",
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        use serde_json::error::Category;
        // Serde checks a value's type before the text after it: a body that
        // is not JSON at all is still `invalid_json`, with the syntax error.
        let e = match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
            Err(syntax) if e.classify() == Category::Data => syntax,
            _ => e,
        };
        match e.classify() {
            Category::Data => ApiError::invalid_field(format!("invalid JSON body: {e}")),
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("malformed JSON: {e}"),
            ),
        }
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Path parameters; a rejection becomes a `400` in the JSON error format.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| ApiPath(t))
            .map_err(|e: PathRejection| ApiError::bad_request(format!("bad path: {e}")))
    }
}

/// Validates a channel name from a path, as a `400 invalid_field`.
pub fn check_channel(channel: &str) -> Result<(), ApiError> {
    chyron_protocol::validate_channel(channel).map_err(|e| ApiError::invalid_field(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        h
    }

    #[derive(serde::Deserialize, Debug)]
    struct Body {
        #[allow(dead_code)]
        body: String,
    }

    #[test]
    fn json_errors_are_classified() {
        let h = json_headers();
        let e = decode_json::<Body>(&h, Ok(Bytes::from_static(b"{\"body\":"))).unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
        let e = decode_json::<Body>(&h, Ok(Bytes::from_static(b"{}"))).unwrap_err();
        assert_eq!(e.code, "invalid_field");
        assert!(e.message.contains("missing field `body`"), "{}", e.message);
        let e = decode_json::<Body>(&h, Ok(Bytes::from_static(b"{\"body\":7}"))).unwrap_err();
        assert!(e.message.contains("invalid type"), "{}", e.message);
        let e = decode_json::<Body>(&HeaderMap::new(), Ok(Bytes::from_static(b"{}"))).unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(decode_json::<Body>(&h, Ok(Bytes::from_static(b"{\"body\":\"x\"}"))).is_ok());
    }

    #[test]
    fn unauthorized_and_rate_limited_carry_headers() {
        let res = ApiError::unauthorized("no").into_response();
        assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let res = ApiError::rate_limited(3).into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "3");
    }
}
