//! TEMPORARY mirror of chyron_protocol's directory types until they land.
use serde::Deserialize;
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Directory {
    pub channels: Vec<ChannelInfo>,
}
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChannelInfo {
    pub channel: String,
    pub title: String,
    #[serde(default)]
    pub main: bool,
    pub matrix: Option<ChatRoom>,
    pub rules: Option<Rules>,
}
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatRoom {
    pub homeserver: String,
    pub room_id: String,
    pub alias: Option<String>,
    pub guests_can_post: bool,
}
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Rules {
    pub text: String,
    pub required: bool,
    pub version: String,
}
