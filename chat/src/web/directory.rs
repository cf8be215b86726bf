//! The relay's public channel list (`GET /chat/channels`): which channels
//! the chat offers, their Matrix rooms and rules.

use chyron_protocol::Directory;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// How fresh an answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// The browser may reuse an answer it has (the relay allows a few
    /// seconds): enough for the channel list.
    Cached,
    /// Ask the relay itself: who is live decides whether a message may go
    /// out, and a DJ marked live a second ago must count.
    Now,
}

/// Fetches and parses the directory from the relay at `server`.
pub async fn fetch(server: &str, freshness: Freshness) -> Result<Directory, String> {
    let window = web_sys::window().ok_or("no window")?;
    let url = format!("{server}/chat/channels");
    let init = web_sys::RequestInit::new();
    if freshness == Freshness::Now {
        init.set_cache(web_sys::RequestCache::NoCache);
    }
    let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| "The chat's channel list could not be loaded.".to_owned())?;
    let response: web_sys::Response = response.unchecked_into();
    if !response.ok() {
        return Err(format!(
            "The chat's channel list could not be loaded (HTTP {}).",
            response.status()
        ));
    }
    let text = JsFuture::from(response.text().map_err(|_| "unreadable response")?)
        .await
        .map_err(|_| "unreadable response")?;
    let text = text.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("The chat's channel list is malformed: {e}"))
}
