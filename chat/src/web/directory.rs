//! The relay's public channel list (`GET /chat/channels`): which channels
//! the chat offers, their Matrix rooms and rules.

use chyron_protocol::Directory;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Fetches and parses the directory from the relay at `server`.
pub async fn fetch(server: &str) -> Result<Directory, String> {
    let window = web_sys::window().ok_or("no window")?;
    let url = format!("{server}/chat/channels");
    let response = JsFuture::from(window.fetch_with_str(&url))
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
