//! The browser side: state, actions, views, storage, the directory fetch
//! and the formatted-message renderer.

mod actions;
pub mod app;
mod directory;
mod focus;
mod forms;
mod info;
mod info_view;
mod live;
mod moderation;
mod moderation_view;
mod modlog_view;
pub mod mount;
pub mod private;
mod private_view;
mod render;
mod scroll;
mod storage;
mod tab_lock;
mod view;
