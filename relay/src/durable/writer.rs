//! Writing behind: events applied on this node go to PostgreSQL in batches.
//!
//! [`Durable::write`] only queues a row (never waits on PostgreSQL, so the
//! chat never does); [`run`] takes up to [`MAX_BATCH`] rows at most
//! [`FLUSH_EVERY`] after the first one waited and inserts them in one
//! statement, `ON CONFLICT DO NOTHING`. A failed batch goes back to the head
//! of the queue and is retried with backoff; the connection is made again
//! when it broke. The queue holds at most [`MAX_BACKLOG_BYTES`] of rows; past
//! that, a row is not queued but its seq is remembered as a range per
//! channel and epoch, which is read again from Redis's stream once the queue
//! is empty, and whatever of it is in neither (the stream was trimmed past
//! it, and no other node wrote it) is logged as an error and counted as
//! `missed`.

use super::{timed, Durable, DurableError};
use crate::cluster::{Cluster, ClusterError};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// Longest a queued row waits for its batch to be sent.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Rows per insert at most.
pub const MAX_BATCH: usize = 500;

/// Bytes of queued rows at most (an outage of PostgreSQL at 100 events/s of
/// 1 KiB each fills it in about 5 minutes).
pub const MAX_BACKLOG_BYTES: usize = 32 << 20;

/// First wait after a failed batch; doubled per failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// Longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One event as PostgreSQL keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The chat channel.
    pub channel: String,
    /// The channel's epoch in Redis when the event was ordered.
    pub epoch: String,
    /// Its seq in that epoch.
    pub seq: u64,
    /// The event as Redis stored it (the hub's `Entry`, JSON).
    pub entry: String,
    /// When the relay accepted it (ms since the epoch), to find a channel's
    /// newest epoch.
    pub ts: i64,
}

impl Row {
    fn size(&self) -> usize {
        self.channel.len() + self.epoch.len() + self.entry.len() + 64
    }
}

/// What the writer did since start, for logs, tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rows queued now.
    pub queued: usize,
    /// Inserts that succeeded.
    pub batches: u64,
    /// Rows sent in them (a row another node wrote first counts here).
    pub sent: u64,
    /// Rows that were new to PostgreSQL.
    pub written: u64,
    /// The largest batch sent.
    pub largest_batch: usize,
    /// Time spent in successful inserts, in microseconds.
    pub write_micros: u64,
    /// Inserts that failed (each retried).
    pub failures: u64,
    /// Rows not queued because the backlog was full (read again from Redis).
    pub overflowed: u64,
    /// Events found in neither Redis's stream nor PostgreSQL when caught up:
    /// missing from the shared history for good.
    pub missed: u64,
}

/// The queue between the hub and [`run`].
pub(super) struct Backlog {
    /// Rows, ranges and counters, together.
    inner: Mutex<Inner>,
    /// Wakes [`run`] when a row is queued.
    wake: Notify,
    /// Bytes of queued rows at most ([`MAX_BACKLOG_BYTES`] but in tests).
    limit: usize,
}

#[derive(Default)]
struct Inner {
    /// Rows in the order applied.
    rows: VecDeque<Row>,
    /// Their [`Row::size`] summed, held under [`Backlog::limit`].
    bytes: usize,
    /// Seqs not queued (backlog full), per channel and epoch: first, last.
    behind: BTreeMap<(String, String), (u64, u64)>,
    /// Counters.
    stats: Stats,
}

impl Inner {
    /// Adds seqs `from..=to` of `channel`'s `epoch` to the ranges to catch
    /// up from Redis (one range per channel and epoch, widened).
    fn remember(&mut self, channel: String, epoch: String, from: u64, to: u64) {
        let range = self.behind.entry((channel, epoch)).or_insert((from, to));
        *range = (range.0.min(from), range.1.max(to));
    }
}

impl Backlog {
    /// Seqs `from..=to` are to be caught up from Redis's stream (see
    /// [`Durable::audit`]); wakes the writer.
    pub(super) fn catch_up_later(&self, channel: &str, epoch: &str, from: u64, to: u64) {
        let (channel, epoch) = (channel.to_string(), epoch.to_string());
        self.lock().remember(channel, epoch, from, to);
        self.wake.notify_one();
    }

    /// An empty queue holding at most `limit` bytes of rows.
    pub(super) fn new(limit: usize) -> Backlog {
        Backlog {
            inner: Mutex::default(),
            wake: Notify::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            queued: inner.rows.len(),
            ..inner.stats
        }
    }

    /// Up to `n` rows from the head of the queue.
    fn take(&self, n: usize) -> Vec<Row> {
        let mut inner = self.lock();
        let n = n.min(inner.rows.len());
        let batch: Vec<Row> = inner.rows.drain(..n).collect();
        inner.bytes -= batch.iter().map(Row::size).sum::<usize>();
        batch
    }

    /// A batch that failed goes back to the head, in order.
    fn put_back(&self, batch: Vec<Row>) {
        let mut inner = self.lock();
        inner.bytes += batch.iter().map(Row::size).sum::<usize>();
        for row in batch.into_iter().rev() {
            inner.rows.push_front(row);
        }
    }
}

impl Durable {
    /// Queues `row` to be written behind; never waits. Past the backlog's
    /// bound the row is remembered as a range, caught up from Redis later.
    pub fn write(&self, row: Row) {
        let mut inner = self.backlog.lock();
        let limit = self.backlog.limit;
        if inner.bytes + row.size() > limit {
            if inner.behind.is_empty() {
                tracing::warn!(
                    "postgresql backlog full ({limit} bytes): further events are caught up \
                     from Redis's stream when postgresql is back"
                );
            }
            inner.stats.overflowed += 1;
            inner.remember(row.channel, row.epoch, row.seq, row.seq);
            return;
        }
        inner.bytes += row.size();
        inner.rows.push_back(row);
        drop(inner);
        self.backlog.wake.notify_one();
    }

    /// Inserts `rows`; how many were new.
    async fn insert(&self, rows: &[Row]) -> Result<u64, DurableError> {
        let client = self.client().await?;
        let col = |f: fn(&Row) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
        let (channels, epochs, entries) =
            (col(|r| &r.channel), col(|r| &r.epoch), col(|r| &r.entry));
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq as i64).collect();
        let times: Vec<i64> = rows.iter().map(|r| r.ts).collect();
        timed(client.execute(
            "INSERT INTO chyron_events (channel, epoch, seq, entry, ts)
             SELECT c, e, s, j::jsonb, t
             FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::int8[])
                  AS u(c, e, s, j, t)
             ON CONFLICT DO NOTHING",
            &[&channels, &epochs, &seqs, &entries, &times],
        ))
        .await
    }

    /// How many of `channel`'s `epoch` events with seq in `[from, to]` are here.
    async fn count(
        &self,
        channel: &str,
        epoch: &str,
        from: u64,
        to: u64,
    ) -> Result<u64, DurableError> {
        let client = self.client().await?;
        let row = timed(client.query_one(
            "SELECT count(*) FROM chyron_events
             WHERE channel = $1 AND epoch = $2 AND seq BETWEEN $3 AND $4",
            &[&channel, &epoch, &(from as i64), &(to as i64)],
        ))
        .await?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// Writes one batch and counts it.
    async fn send(&self, batch: &[Row]) -> Result<(), DurableError> {
        let began = Instant::now();
        let new = self.insert(batch).await?;
        let mut inner = self.backlog.lock();
        let s = &mut inner.stats;
        s.batches += 1;
        s.sent += batch.len() as u64;
        s.written += new;
        s.largest_batch = s.largest_batch.max(batch.len());
        s.write_micros += began.elapsed().as_micros() as u64;
        Ok(())
    }

    /// Writes the events remembered as ranges (the backlog overflowed) from
    /// Redis's stream; what is in neither is missed, loudly. A range whose
    /// read or write failed is remembered again.
    async fn catch_up(&self, cluster: &Cluster) -> Result<(), DurableError> {
        let ranges = std::mem::take(&mut self.backlog.lock().behind);
        let mut ranges = ranges.into_iter();
        while let Some(((channel, epoch), (from, to))) = ranges.next() {
            let done = self
                .catch_up_range(cluster, &channel, &epoch, from, to)
                .await;
            if let Err(e) = done {
                let mut inner = self.backlog.lock();
                inner.behind.insert((channel, epoch), (from, to));
                inner.behind.extend(ranges);
                return Err(e);
            }
        }
        Ok(())
    }

    async fn catch_up_range(
        &self,
        cluster: &Cluster,
        channel: &str,
        epoch: &str,
        from: u64,
        to: u64,
    ) -> Result<(), DurableError> {
        let events = match cluster.history(channel, epoch, from - 1, to).await {
            Ok(events) => events,
            Err(ClusterError::EpochChanged) => Vec::new(),
            Err(e) => return Err(DurableError::Unavailable(e.to_string())),
        };
        let rows: Vec<Row> = events
            .into_iter()
            .map(|(seq, entry)| Row {
                channel: channel.to_string(),
                epoch: epoch.to_string(),
                seq,
                ts: entry_ts(&entry),
                entry,
            })
            .collect();
        for chunk in rows.chunks(MAX_BATCH) {
            self.send(chunk).await?;
        }
        let held = self.count(channel, epoch, from, to).await?;
        let missed = (to - from + 1).saturating_sub(held);
        if missed > 0 {
            self.backlog.lock().stats.missed += missed;
            tracing::error!(
                channel,
                epoch,
                from,
                to,
                missed,
                "events missing from the shared history (postgresql): the backlog overflowed \
                 and Redis's stream no longer holds them"
            );
        }
        Ok(())
    }
}

/// The `ts` of an entry's JSON (0 if it has none).
fn entry_ts(entry: &str) -> i64 {
    #[derive(serde::Deserialize)]
    struct Ts {
        ts: i64,
    }
    serde_json::from_str::<Ts>(entry).map_or(0, |t| t.ts)
}

/// Resolves when `stop` is `true`, or its sender is gone (then it is set,
/// so the loop sees a stop).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await
    }
}

/// Writes `durable`'s backlog until `stop` turns `true`, then writes what is
/// left once (a graceful stop loses nothing while PostgreSQL is up).
pub async fn run(durable: Arc<Durable>, cluster: Arc<Cluster>, mut stop: watch::Receiver<bool>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let stopping = *stop.borrow();
        let batch = durable.backlog.take(MAX_BATCH);
        let result = if !batch.is_empty() {
            let sent = durable.send(&batch).await;
            if sent.is_err() {
                durable.backlog.put_back(batch);
            }
            sent
        } else if !stopping && !durable.backlog.lock().behind.is_empty() {
            durable.catch_up(&cluster).await
        } else if stopping {
            return;
        } else {
            // Nothing to do: wait for a row, then for the rest of its batch.
            tokio::select! {
                _ = durable.backlog.wake.notified() => {}
                _ = stopped(&mut stop) => continue,
            }
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = stopped(&mut stop) => {}
            }
            continue;
        };
        match result {
            Ok(()) => backoff = MIN_BACKOFF,
            Err(e) => {
                durable.backlog.lock().stats.failures += 1;
                let queued = durable.backlog.stats().queued;
                if stopping {
                    tracing::error!(
                        queued,
                        "stopping with events not written to postgresql ({e}); they are in \
                         Redis's stream and this node's SQLite"
                    );
                    return;
                }
                tracing::warn!(
                    queued,
                    "writing to postgresql: {e}; retrying in {backoff:?}"
                );
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopped(&mut stop) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
