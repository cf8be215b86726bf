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
            .layer(compression()),
    )
}

/// Brotli or gzip, as the browser accepts: for `dist/` and the overlay page.
pub fn compression() -> CompressionLayer {
    CompressionLayer::new().br(true).gzip(true)
}

/// Overlay query parameters copied to the element; nothing else is.
const OVERLAY_PARAMS: [&str; 3] = ["lines", "fade", "position"];

/// `GET /overlay/{channel}`: a transparent page for an OBS browser source.
/// Every byte counts toward the overlay's download (the route is compressed,
/// see `app`): no viewport tag (only phones use it), no line breaks.
/// `embed.js` runs inline when `--dist` has it, so the feed socket and the
/// widget's module start as the page is parsed, not a request later.
pub async fn overlay(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let embed = tokio::fs::read_to_string(state.config.dist_dir.join("embed.js"))
        .await
        .ok();
    overlay_page(&channel, &query, embed.as_deref())
}

/// The overlay page; `embed` is embed.js's source, inlined when given (and
/// safe to inline), else loaded by URL with its module and wasm preloaded.
pub fn overlay_page(
    channel: &str,
    query: &HashMap<String, String>,
    embed: Option<&str>,
) -> Response {
    if let Err(why) = chyron_protocol::validate_channel(channel) {
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
    let channel = escape(channel);
    // A `</script` (or `<!--`) inside would end or bend the inline script.
    let inline = embed.filter(|js| {
        let js = js.to_ascii_lowercase();
        !js.contains("</script") && !js.contains("<!--")
    });
    // `data-base`: embed.js loads the widget from the site root, not from
    // /overlay/. The preloads start the module and wasm with embed.js rather
    // than after it has run (`crossorigin`: embed.js fetches in cors mode, and
    // a preload serves only a request of the same mode and credentials).
    let script = match inline {
        Some(js) => format!("<script data-base=\"/\">{}</script>", js.trim_end()),
        None => "<script src=\"/embed.js\" async></script>\
                 <link rel=\"modulepreload\" href=\"/chyron.js\">\
                 <link rel=\"preload\" href=\"/chyron_bg.wasm\" as=\"fetch\" crossorigin>"
            .to_string(),
    };
    // head and body are implied by the parser: their tags would only add bytes.
    let page = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <title>Chyron overlay: {channel}</title><link rel=\"icon\" href=\"data:,\">\
         <style>html,body{{margin:0;background:transparent;overflow:hidden}}</style>\
         {script}<chyron-chat channel=\"{channel}\" placement=\"overlay\"{attrs}></chyron-chat>"
    );
    Html(page).into_response()
}

/// `GET /healthz`.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Some(stats) = state.hub.durable_stats() {
        state.metrics.durable(stats);
    }
    if let Some(cluster) = &state.cluster {
        match cluster.nodes().await {
            Ok(nodes) => state.metrics.cluster(&nodes),
            Err(e) => tracing::warn!("the cluster's node reports: {e}"),
        }
    }
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

    async fn page(
        channel: &str,
        query: &[(&str, &str)],
        embed: Option<&str>,
    ) -> (StatusCode, String) {
        let query: HashMap<String, String> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let res = overlay_page(channel, &query, embed);
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn overlay_escapes_and_whitelists() {
        let query = [
            ("lines", "3\"><script>alert(1)</script>"),
            ("fade", "8"),
            ("onload", "alert(1)"),
        ];
        let (status, html) = page("demo", &query, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(
            "<chyron-chat channel=\"demo\" placement=\"overlay\" lines=\"3&quot;&gt;&lt;script&gt;"
        ));
        assert!(html.contains("fade=\"8\""));
        assert!(!html.contains("onload") && !html.contains("<script>alert"));
        assert_eq!(page("Bad<x>", &[], None).await.0, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn overlay_inlines_embed_js_or_preloads_it() {
        let (_, html) = page("demo", &[], Some("(function(){var a=1})();\n")).await;
        assert!(
            html.contains("<script data-base=\"/\">(function(){var a=1})();</script><chyron-chat")
        );
        assert!(!html.contains("src=\"/embed.js\"") && !html.contains("preload"));
        // No dist/embed.js: loaded by URL, the widget preloaded.
        let (_, html) = page("demo", &[], None).await;
        assert!(html.contains("<script src=\"/embed.js\" async></script>"));
        assert!(html.contains("<link rel=\"modulepreload\" href=\"/chyron.js\">"));
        assert!(html
            .contains("<link rel=\"preload\" href=\"/chyron_bg.wasm\" as=\"fetch\" crossorigin>"));
        // A file that would end the inline script early is not inlined.
        for hostile in ["x='</SCRIPT><img src=x onerror=alert(1)>'", "x='<!--'"] {
            let (_, html) = page("demo", &[], Some(hostile)).await;
            assert!(!html.contains(hostile), "{html}");
            assert!(html.contains("<script src=\"/embed.js\" async></script>"));
        }
    }
}
