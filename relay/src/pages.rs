//! Static assets from `--dist`, the OBS overlay page, health and metrics.

use crate::html::escape;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Json, Router};
use std::collections::HashMap;
use std::path::Path as FsPath;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// `dist/` with cross-origin access (the widget loads from other sites) and
/// brotli/gzip (the overlay's download size matters on stream machines):
/// the `.br`/`.gz` files `scripts/build.sh` makes at the highest levels when
/// present, else compressed on the fly. Asset names carry no hash, so
/// browsers revalidate them (`no-cache`; cheap 304s by Last-Modified).
pub fn static_files(dist: &FsPath) -> Router {
    let files = ServeDir::new(dist).precompressed_br().precompressed_gzip();
    Router::new().fallback_service(files).layer(
        ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            ))
            .layer(CompressionLayer::new().br(true).gzip(true)),
    )
}

/// Overlay query parameters copied to the element; nothing else is.
const OVERLAY_PARAMS: [&str; 3] = ["lines", "fade", "position"];

/// `GET /overlay/{channel}`: a transparent page for an OBS browser source.
/// Every byte counts toward the overlay's download (this page is not
/// compressed): no viewport tag (only phones use it), no line breaks.
pub async fn overlay(
    Path(channel): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(why) = chyron_protocol::validate_channel(&channel) {
        let page = format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Bad channel</title>\
             <p>Invalid channel name: {}</p></html>",
            escape(&why.to_string())
        );
        return (StatusCode::BAD_REQUEST, Html(page)).into_response();
    }
    let mut attrs = String::new();
    for name in OVERLAY_PARAMS {
        if let Some(value) = query.get(name).filter(|v| v.len() <= 64) {
            attrs.push_str(&format!(" {name}=\"{}\"", escape(value)));
        }
    }
    let channel = escape(&channel);
    // head and body are implied by the parser: their tags would only add bytes.
    let page = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <title>Chyron overlay: {channel}</title><link rel=\"icon\" href=\"data:,\">\
         <style>html,body{{margin:0;background:transparent;overflow:hidden}}</style>\
         <script src=\"/embed.js\" async></script>\
         <chyron-chat channel=\"{channel}\" placement=\"overlay\"{attrs}></chyron-chat>"
    );
    Html(page).into_response()
}

/// `GET /healthz`.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn overlay_escapes_and_whitelists() {
        let query: HashMap<String, String> = [
            ("lines", "3\"><script>alert(1)</script>"),
            ("fade", "8"),
            ("onload", "alert(1)"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let res = overlay(Path("demo".into()), Query(query)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains(
            "<chyron-chat channel=\"demo\" placement=\"overlay\" lines=\"3&quot;&gt;&lt;script&gt;"
        ));
        assert!(html.contains("fade=\"8\""));
        assert!(!html.contains("onload") && !html.contains("<script>alert"));
        assert!(html.contains("<script src=\"/embed.js\" async></script>"));
        let res = overlay(Path("Bad<x>".into()), Query(HashMap::new())).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
}
