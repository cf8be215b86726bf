//! Chyron full chat: the second wasm module, fetched only when a viewer
//! opens the chat from the captions (public/embed.js loads it on the
//! overlay's "Chat" button). Viewers read public channels from the relay's
//! feed, as the captions do, and post, edit, delete and set their name
//! through their own Matrix client (matrix-sdk), as a guest or an account.
//!
//! The rules are plain modules with native tests: [`timeline`] (lines,
//! pending posts, unread), [`prefs`] (mutes, read marks, accepted rules),
//! [`compose`] (keys, post and name checks), [`markdown`] (plain and
//! formatted bodies of a post), [`rich`] (the allow-list for
//! formatted messages), [`commands`] (the composer's slash commands) and
//! [`moderation`] (the relay session, standing, moderation requests). The
//! browser side (`matrix`, `web`) wires them up.

pub mod commands;
pub mod compose;
pub mod info;
pub mod markdown;
pub mod moderation;
pub mod modlog;
pub mod prefs;
pub mod private;
pub mod rich;
pub mod timeline;

#[cfg(target_arch = "wasm32")]
pub mod matrix;
#[cfg(target_arch = "wasm32")]
pub mod matrix_private;
#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(target_arch = "wasm32")]
pub use web::mount::{mount_chat, ChatHandle};
