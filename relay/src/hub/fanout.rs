//! A channel's live queue to its viewers, allocated on first append.
//!
//! A feed URL may name any channel, and each loaded channel used to carry a
//! broadcast queue of `broadcast_capacity` slots. Now a channel starts with a
//! one-slot queue, enough for a rare bridge-state frame, and gets its full
//! queue only when an event is appended after it was loaded: viewers of a
//! channel nobody writes to share nothing heavy.
//!
//! Growing replaces the queue; the old one closes. Its receivers then
//! [rejoin](super::Hub::rejoin): they resume from the resume ring after
//! [`Fanout::grown_at`], so the first message posted later still reaches a
//! viewer that joined the channel while it was quiet.

use axum::extract::ws::Utf8Bytes;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::broadcast::{self, error::SendError};

/// [`Fanout::grown_at`] after a [`Fanout::restart`]: past every head, so no
/// rejoin resumes from it.
pub const RESTARTED: u64 = u64::MAX;

/// The queue, and whether it is the full one yet.
pub struct Fanout {
    /// Guarded so [`Fanout::grow`] can swap the queue in place.
    inner: Mutex<Inner>,
}

struct Inner {
    /// Serialized frames to every live viewer.
    tx: broadcast::Sender<Utf8Bytes>,
    /// The channel's head when the full queue replaced the one-slot queue
    /// (`None`: still one slot): where receivers of the old queue resume.
    grown_at: Option<u64>,
}

impl Fanout {
    /// A one-slot queue, for a channel nobody has written to since it loaded.
    pub fn small() -> Fanout {
        Fanout {
            inner: Mutex::new(Inner {
                tx: broadcast::channel(1).0,
                grown_at: None,
            }),
        }
    }

    /// A full queue of `capacity` frames from the start (bridged channels,
    /// whose bridge-state frames must not make viewers resync).
    pub fn full(capacity: usize) -> Fanout {
        Fanout {
            inner: Mutex::new(Inner {
                tx: broadcast::channel(capacity.max(1)).0,
                grown_at: Some(0),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a frame to every current receiver.
    pub fn send(&self, frame: Utf8Bytes) -> Result<usize, SendError<Utf8Bytes>> {
        self.lock().tx.send(frame)
    }

    /// A receiver of every frame sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.lock().tx.subscribe()
    }

    /// Receivers now.
    pub fn receiver_count(&self) -> usize {
        self.lock().tx.receiver_count()
    }

    /// Gives the queue its full `capacity` if it has one slot still; `head`
    /// is the channel's head before the event about to be sent. Call it under
    /// the channel's lock, before the send.
    pub fn grow(&self, capacity: usize, head: u64) {
        let mut inner = self.lock();
        if inner.grown_at.is_none() {
            // The old sender is dropped here: its receivers see `Closed`.
            inner.tx = broadcast::channel(capacity.max(1)).0;
            inner.grown_at = Some(head);
        }
    }

    /// Replaces the queue with a new full one whose viewers cannot resume:
    /// receivers of the old one see `Closed`, and their rejoin gives them a
    /// fresh snapshot (the channel's history here changed under them: a new
    /// epoch, or a hole this node cannot fill). Call it under the channel's
    /// lock.
    pub fn restart(&self, capacity: usize) {
        let mut inner = self.lock();
        if inner.tx.receiver_count() == 0 {
            return; // nobody to restart (a channel being loaded)
        }
        inner.tx = broadcast::channel(capacity.max(1)).0;
        inner.grown_at = Some(RESTARTED);
    }

    /// Where a receiver of the one-slot queue resumes (the head when it
    /// grew), or `None` if it has not grown.
    pub fn grown_at(&self) -> Option<u64> {
        self.lock().grown_at
    }

    /// Whether the queue has its full capacity (else one slot).
    pub fn is_grown(&self) -> bool {
        self.lock().grown_at.is_some()
    }
}
