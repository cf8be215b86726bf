//! Clustered mode with `--database`: the hub's reads of the shared durable
//! history (PostgreSQL, [`crate::durable`]), for what Redis's capped stream
//! no longer holds.
//!
//! - A channel loaded late, or back from an outage, gets the newest events
//!   older than the stream from PostgreSQL (`Ctx::older`, used by `fill`).
//! - A channel Redis lost, loaded by a node that holds none of it, is shown
//!   from its newest epoch in PostgreSQL until its next event starts a new
//!   epoch (`Ctx::restore`).
//! - A resume older than the node's ring is served from PostgreSQL when it
//!   holds every event of the range (`Hub::resume_durable`).
//!
//! - A channel loaded here has PostgreSQL checked, in the background, for
//!   its events up to Redis's head (`Ctx::audit`).
//!
//! A PostgreSQL failure here is never an error for the viewer: it falls back
//! to what it would get without PostgreSQL (a snapshot).

use super::append::Ctx;
use super::remote::parse;
use super::{Channel, ChannelState, Hub, HubError};
use axum::extract::ws::Utf8Bytes;
use std::time::Duration;

/// Most events a resume may be served from PostgreSQL (more: a snapshot).
pub const MAX_DURABLE_RESUME: u64 = 5000;

/// Longest a resume waits for PostgreSQL (under the channel's lock).
const RESUME_TIMEOUT: Duration = Duration::from_millis(500);

impl Ctx {
    /// The newest events of `name`'s `epoch` in `(after, before)` from
    /// PostgreSQL, at most `resume_buffer` (or [`super::MAX_SNAPSHOT`]), contiguous and ending at
    /// `before - 1` (empty if PostgreSQL has none of that, or fails).
    pub(super) async fn older(
        &self,
        name: &str,
        epoch: &str,
        after: u64,
        before: u64,
    ) -> Vec<(u64, String)> {
        let Some(durable) = &self.durable else {
            return Vec::new();
        };
        if before <= after + 1 {
            return Vec::new();
        }
        // Enough for a ring and for the largest snapshot.
        let n = self.limits.resume_buffer.max(super::MAX_SNAPSHOT);
        match durable.tail(name, epoch, after, before - 1, n).await {
            Ok(rows) => contiguous_suffix(rows, before - 1),
            Err(e) => {
                tracing::warn!(channel = name, "reading history from postgresql: {e}");
                Vec::new()
            }
        }
    }

    /// A channel Redis has no head for (new, or lost), of which this node
    /// holds nothing: its newest epoch in PostgreSQL, if any, with the
    /// newest events of it.
    pub(super) async fn restore(
        &self,
        ch: &Channel,
        st: &mut ChannelState,
    ) -> Result<(), HubError> {
        let Some(durable) = self.durable.as_ref().filter(|_| st.head == 0) else {
            return Ok(());
        };
        let (epoch, upto) = match durable.latest(&ch.name).await {
            Ok(Some(latest)) => latest,
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::warn!(channel = ch.name, "reading history from postgresql: {e}");
                return Ok(());
            }
        };
        let older = self.older(&ch.name, &epoch, 0, upto + 1).await;
        if older.is_empty() {
            return Ok(()); // unreadable now: stay empty rather than claim a head
        }
        tracing::info!(
            channel = ch.name,
            epoch,
            upto,
            "not in Redis: shown from postgresql"
        );
        st.epoch = epoch;
        self.apply_run(&ch.name, &ch.tx, st, older, Vec::new(), upto)
            .await
    }

    /// In the background, has PostgreSQL checked for the channel's events up
    /// to Redis's `head` ([`crate::durable::Durable::audit`]).
    pub(super) fn audit(&self, name: &str, epoch: &str, head: u64) {
        if let Some(durable) = self.durable.clone().filter(|_| head > 0) {
            let (name, epoch) = (name.to_string(), epoch.to_string());
            tokio::spawn(async move { durable.audit(&name, &epoch, head).await });
        }
    }
}

impl Hub {
    /// The frames after `since` of `epoch` for a resume the ring cannot
    /// serve: those older than the ring from PostgreSQL, then the ring;
    /// `None` if PostgreSQL does not hold every one of them (or is slow).
    pub(super) async fn resume_durable(
        &self,
        channel: &Channel,
        st: &ChannelState,
        epoch: Option<&str>,
        since: u64,
    ) -> Option<Vec<Utf8Bytes>> {
        let durable = self.durable.as_ref()?;
        let ring_first = st.ring.front().map_or(st.head + 1, |(seq, _)| *seq);
        let wanted = ring_first.checked_sub(since + 1)?;
        if epoch != Some(st.epoch.as_str()) || wanted == 0 || wanted > MAX_DURABLE_RESUME {
            return None;
        }
        let read = durable.tail(
            &channel.name,
            &st.epoch,
            since,
            ring_first - 1,
            wanted as usize,
        );
        let rows = match tokio::time::timeout(RESUME_TIMEOUT, read).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::warn!(channel = channel.name, "resume from postgresql: {e}");
                return None;
            }
            Err(_) => return None,
        };
        if rows.len() as u64 != wanted || rows.first().map(|(s, _)| *s) != Some(since + 1) {
            return None; // not all written behind (yet)
        }
        let mut frames = Vec::with_capacity(rows.len() + st.ring.len());
        for (seq, entry) in rows {
            let frame = parse(&entry).ok()?.numbered(&channel.name, seq).frame(seq);
            frames.push(Utf8Bytes::from(serde_json::to_string(&frame).ok()?));
        }
        frames.extend(st.ring.iter().map(|(_, f)| f.clone()));
        Some(frames)
    }
}

/// The run of `rows` (ascending seqs) that ends at `last` with no hole.
fn contiguous_suffix(rows: Vec<(u64, String)>, last: u64) -> Vec<(u64, String)> {
    if rows.last().map(|(s, _)| *s) != Some(last) {
        return Vec::new();
    }
    let mut start = rows.len() - 1;
    while start > 0 && rows[start - 1].0 + 1 == rows[start].0 {
        start -= 1;
    }
    rows.into_iter().skip(start).collect()
}

#[cfg(test)]
mod tests {
    use super::contiguous_suffix;

    fn rows(seqs: &[u64]) -> Vec<(u64, String)> {
        seqs.iter().map(|s| (*s, format!("e{s}"))).collect()
    }

    #[test]
    fn only_the_hole_free_run_ending_at_last_is_kept() {
        let seqs = |r: Vec<(u64, String)>| r.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        assert_eq!(seqs(contiguous_suffix(rows(&[3, 4, 5]), 5)), [3, 4, 5]);
        assert_eq!(seqs(contiguous_suffix(rows(&[1, 3, 4, 5]), 5)), [3, 4, 5]);
        assert_eq!(seqs(contiguous_suffix(rows(&[3, 4]), 5)), Vec::<u64>::new());
        assert_eq!(seqs(contiguous_suffix(rows(&[]), 5)), Vec::<u64>::new());
        assert_eq!(seqs(contiguous_suffix(rows(&[7]), 7)), [7]);
    }
}
