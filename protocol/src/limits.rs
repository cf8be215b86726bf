//! Limits every part of Chyron agrees on. The relay enforces them on input;
//! the widget relies on them when laying out lines.

/// Longest message body, in Unicode scalar values (characters). Long enough
/// for a paragraph, short enough that one line cannot fill a screen.
pub const MAX_BODY_CHARS: usize = 2000;

/// Longest sender display name, in characters.
pub const MAX_SENDER_CHARS: usize = 64;

/// Longest stable sender identity (a name, or a Matrix user id), in characters.
pub const MAX_SENDER_ID_CHARS: usize = 255;

/// Longest channel name, in bytes (channel names are ASCII).
pub const MAX_CHANNEL_LEN: usize = 64;

/// Largest HTTP request body the Chat API reads, in bytes. A maximal body of
/// 2000 four-byte characters, JSON-escaped, fits well below it.
pub const MAX_REQUEST_BYTES: usize = 32 * 1024;

/// Largest websocket frame (after any decompression) a client may send on the
/// feed; larger frames close the connection with code 1009.
pub const MAX_CLIENT_FRAME_BYTES: usize = 16 * 1024;

/// Messages in a snapshot when the viewer does not ask for another number.
pub const DEFAULT_SNAPSHOT_MESSAGES: usize = 50;
