//! Clustered mode's durable shared history: PostgreSQL (`--database URL`,
//! with `--redis`).
//!
//! Redis orders every event and keeps each channel's newest ones in a capped
//! stream ([`crate::cluster`]); this module keeps all of them, for every
//! node, in one table `chyron_events`, keyed by `(channel, epoch, seq)`:
//!
//! - **Written behind** ([`writer`]): every node writes every event it
//!   applied (its own and those pub/sub brought it), in batches of up to
//!   [`writer::MAX_BATCH`] rows at most [`writer::FLUSH_EVERY`] after the
//!   first one waiting, with `ON CONFLICT DO NOTHING`. All nodes writing is
//!   the simple choice and the safe one: the rows are identical whoever
//!   writes them (the seq is Redis's, the entry is what Redis stored), so a
//!   second write or a retry is a no-op, and an event survives the node that
//!   accepted it dying before its batch went out as long as one other node
//!   that watches the channel stays up. The cost is one idempotent insert per
//!   node per event, a few rows per batch.
//! - **Read** by the hub (`hub/history.rs`): a node that loads a channel whose
//!   events Redis's stream no longer holds fills its SQLite from the newest
//!   rows here; a resume older than the node's ring is served from here when
//!   every event of the range is here; a channel Redis lost is shown from its
//!   last epoch here until its next event starts a new epoch.
//!
//! # The durability promise
//!
//! A `2xx` from the Chat API in clustered mode means: Redis ordered the event
//! (it is in the channel's stream) and the accepting node committed it to its
//! own SQLite. It is then in PostgreSQL within about [`writer::FLUSH_EVERY`]
//! while PostgreSQL is up, written by the accepting node or any other node
//! that watches the channel. If every node that applied it dies before that,
//! it is written by the next node that loads the channel (the same one
//! restarted included: a node joining a channel compares PostgreSQL's
//! highest seq with Redis's head, [`Durable::audit`]), from Redis's stream,
//! while the stream still holds it. Redis's persistence decides what
//! a Redis crash costs:
//! - `appendonly yes` + `appendfsync always`: every event that got a 2xx
//!   survives a Redis crash or restart (same epoch, same seqs).
//! - `appendfsync everysec`: the last second of events may be lost by Redis;
//!   those already written behind are in PostgreSQL.
//! - no persistence: Redis forgets the channel; what was written behind (all
//!   events older than one flush interval, while PostgreSQL was up) stays in
//!   PostgreSQL and is what viewers see until the channel's next event starts
//!   a new epoch.
//!
//! A PostgreSQL outage does not stop the chat: batches are retried with
//! backoff and the backlog is bounded ([`writer::MAX_BACKLOG_BYTES`]); past
//! it, events are not queued but remembered as ranges, read again from
//! Redis's stream once PostgreSQL is back, and any event the stream no longer
//! holds is logged as an error and counted (`missed`), never silently.

pub mod writer;

pub use writer::{Row, Stats};

use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

/// Longest a PostgreSQL call may take before the caller goes on without it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The table, created by the first node that connects (under an advisory
/// lock, so two nodes starting together do not race).
const SCHEMA: &str = "
SET client_min_messages = warning;
BEGIN;
SELECT pg_advisory_xact_lock(7262730011);
CREATE TABLE IF NOT EXISTS chyron_events (
    channel text NOT NULL,
    epoch text NOT NULL,
    seq bigint NOT NULL,
    entry jsonb NOT NULL,
    ts bigint NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, epoch, seq));
CREATE INDEX IF NOT EXISTS chyron_events_by_time ON chyron_events (channel, ts);
COMMIT;
";

/// A PostgreSQL failure.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    /// PostgreSQL did not answer, refused, or the query failed.
    #[error("postgresql: {0}")]
    Unavailable(String),
}

impl From<tokio_postgres::Error> for DurableError {
    fn from(e: tokio_postgres::Error) -> Self {
        DurableError::Unavailable(e.to_string())
    }
}

/// Whether `url` is a PostgreSQL URL this relay can use; the reason if not.
pub fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err("must start with postgres:// or postgresql://".into());
    }
    let config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        return Err(
            "sslmode=require: TLS is not supported (use a unix socket or a local network)".into(),
        );
    }
    Ok(())
}

async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, DurableError> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(DurableError::Unavailable("no answer in time".into())),
    }
}

/// How long after a failed connection attempt the next one is made.
const RECONNECT_AFTER: Duration = Duration::from_millis(500);

/// The connection and when connecting last failed.
#[derive(Default)]
struct Slot {
    /// The live connection, if any.
    client: Option<Arc<Client>>,
    /// When the last attempt to connect failed (none since a success).
    failed_at: Option<std::time::Instant>,
}

/// One node's handle on the shared PostgreSQL.
pub struct Durable {
    /// Where to connect, parsed once.
    config: tokio_postgres::Config,
    /// The connection, replaced by a new one after it broke.
    client: tokio::sync::Mutex<Slot>,
    /// Rows applied here and not yet written.
    backlog: writer::Backlog,
}

impl Durable {
    /// Connects to `url` once (so a wrong URL or a database that is down
    /// fails at start) and creates the table if it is missing. The backlog
    /// holds at most `backlog_bytes` of rows ([`writer::MAX_BACKLOG_BYTES`]).
    pub async fn connect(url: &str, backlog_bytes: usize) -> Result<Arc<Durable>, DurableError> {
        let config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| DurableError::Unavailable(e.to_string()))?;
        let durable = Durable {
            config,
            client: tokio::sync::Mutex::new(Slot::default()),
            backlog: writer::Backlog::new(backlog_bytes),
        };
        let client = durable.client().await?;
        timed(client.batch_execute(SCHEMA)).await?;
        Ok(Arc::new(durable))
    }

    /// The live connection, connecting again if it broke.
    /// Within [`RECONNECT_AFTER`] of a failed attempt it fails at once, so a
    /// viewer's read never waits on a database known to be down.
    async fn client(&self) -> Result<Arc<Client>, DurableError> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.client.as_ref().filter(|c| !c.is_closed()) {
            return Ok(client.clone());
        }
        slot.client = None;
        if slot
            .failed_at
            .is_some_and(|t| t.elapsed() < RECONNECT_AFTER)
        {
            return Err(DurableError::Unavailable(
                "down (connecting failed just now)".into(),
            ));
        }
        let (client, conn) = match timed(self.config.connect(NoTls)).await {
            Ok(connected) => connected,
            Err(e) => {
                slot.failed_at = Some(std::time::Instant::now());
                return Err(e);
            }
        };
        slot.failed_at = None;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::warn!("postgresql connection: {e}");
            }
        });
        let client = Arc::new(client);
        slot.client = Some(client.clone());
        Ok(client)
    }

    /// The newest events of `channel`'s `epoch` with seq in `(after, upto]`,
    /// at most `n`, oldest first (there may be holes: rows still being
    /// written behind).
    pub async fn tail(
        &self,
        channel: &str,
        epoch: &str,
        after: u64,
        upto: u64,
        n: usize,
    ) -> Result<Vec<(u64, String)>, DurableError> {
        if upto <= after || n == 0 {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = timed(client.query(
            "SELECT seq, entry::text FROM chyron_events
             WHERE channel = $1 AND epoch = $2 AND seq > $3 AND seq <= $4
             ORDER BY seq DESC LIMIT $5",
            &[
                &channel,
                &epoch,
                &(after as i64),
                &(upto as i64),
                &(n as i64),
            ],
        ))
        .await?;
        let mut events: Vec<(u64, String)> = rows
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, String>(1)))
            .collect();
        events.reverse();
        Ok(events)
    }

    /// The epoch of `channel`'s newest event here and its highest seq, if it
    /// has any (for a channel Redis lost).
    pub async fn latest(&self, channel: &str) -> Result<Option<(String, u64)>, DurableError> {
        let client = self.client().await?;
        let row = timed(client.query_opt(
            "SELECT e.epoch, (SELECT max(seq) FROM chyron_events m
                              WHERE m.channel = e.channel AND m.epoch = e.epoch)
             FROM chyron_events e WHERE e.channel = $1
             ORDER BY e.ts DESC, e.seq DESC LIMIT 1",
            &[&channel],
        ))
        .await?;
        Ok(row.map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64)))
    }

    /// Makes sure PostgreSQL gets `channel`'s events of `epoch` up to
    /// `head` (Redis's): if it holds none past some seq below that, the seqs
    /// after it are caught up from Redis's stream by the writer. A node
    /// killed before its batch went out and started again, its SQLite
    /// holding those events already, thus still writes them when it loads
    /// the channel. Called when a node loads a channel.
    pub async fn audit(&self, channel: &str, epoch: &str, head: u64) {
        let read = async {
            let client = self.client().await?;
            timed(client.query_one(
                "SELECT coalesce(max(seq), 0) FROM chyron_events
                 WHERE channel = $1 AND epoch = $2",
                &[&channel, &epoch],
            ))
            .await
        };
        match read.await {
            Ok(row) => {
                let held = row.get::<_, i64>(0) as u64;
                if held < head {
                    self.backlog.catch_up_later(channel, epoch, held + 1, head);
                }
            }
            Err(e) => tracing::warn!(channel, "postgresql: {e}"),
        }
    }

    /// What the writer did so far.
    pub fn stats(&self) -> Stats {
        self.backlog.stats()
    }
}
