//! The Chyron caption feed's wire types, shared by the relay (which writes
//! them) and the widget (which reads them).
//!
//! The feed is a websocket at `GET /feed/{channel}`. The relay sends JSON text
//! frames, each a [`ServerFrame`]; the feed is read-only, so clients send no
//! data frames (see [`ServerFrame::Error`]).
//!
//! * On connect the relay sends a [`Snapshot`]: the channel's epoch, the
//!   sequence number of the newest event, and the newest visible messages.
//! * Then every change to the channel arrives as one event frame
//!   ([`ServerFrame::Message`], [`ServerFrame::Edit`], [`ServerFrame::Delete`],
//!   [`ServerFrame::Clear`]), each with the next per-channel sequence number.
//! * A client that reconnects passes `?epoch=E&since=N` (the epoch and the last
//!   seq it applied). If the relay still holds every event after `N` in that
//!   epoch it sends exactly those, then live events; otherwise it sends a fresh
//!   [`Snapshot`] whose [`SnapshotReason`] says why.
//!
//! This crate does no I/O: it is plain data, serde and validation, compiled for
//! both the relay (native) and the widget (wasm).

mod color;
mod directory;
mod frame;
pub mod limits;
mod media;
mod validate;

pub use color::{sender_color_slot, SENDER_COLOR_SLOTS};
pub use directory::{ChannelInfo, ChatRoom, Directory, LiveDj, Rules};
pub use frame::{BridgeState, Message, ServerFrame, Snapshot, SnapshotReason, Source};
pub use media::{Mark, Media, MediaKind};
pub use validate::{
    clean_text, is_disguising, validate_body, validate_channel, validate_sender,
    validate_sender_id, InvalidInput,
};
