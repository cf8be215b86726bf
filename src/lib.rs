//! Chyron's widget: a live stream's chat as closed captions, rendered by
//! Leptos into the shadow root of a `<chyron-chat>` element (see
//! `public/embed.js`) and fed by the relay's websocket.
//!
//! The rules live in plain modules with native tests ([`config`],
//! [`captions`], [`decode`], [`feed`], [`backoff`], [`announce`], [`mode`],
//! [`media`], [`status`]); the browser parts ([`browser`], `socket`, `view`,
//! [`widget`]) only wire them up.

pub mod announce;
pub mod backoff;
pub mod browser;
pub mod captions;
pub mod config;
pub mod decode;
pub mod feed;
pub mod layout;
pub mod media;
pub mod mode;
pub mod socket;
pub mod status;
mod style;
mod view;
pub mod widget;

pub use widget::{mount, FrameSource, Widget};
