//! The moderation task queue in clustered mode (`moderation::tasks` over
//! Redis): a moderator's action made through any node is done in Matrix by
//! whichever node holds the bridge lease, and its outcome is read back by
//! the node that queued it.
//!
//! Keys (all under `chyron:mod:`):
//! - `chyron:mod:task-id`: the counter that numbers tasks, so the queue
//!   keeps the order they were made in across nodes.
//! - `chyron:mod:tasks-open`: sorted set of the unfinished tasks' ids,
//!   scored by id: the executor takes the lowest.
//! - `chyron:mod:task:{id}`: hash `task` (JSON), `created` (ms) and, once
//!   finished, `outcome` (JSON). It expires [`KEEP_FINISHED_S`] after it
//!   finished, so the queue does not grow without end.
//!
//! [`ENQUEUE`] numbers and files a task in one step, and [`FINISH`]
//! records an outcome and leaves the open set in one step: a task is never
//! open without its body, nor finished and still open.

use super::{timed, Cluster, ClusterError};
use redis::Script;
use std::sync::LazyLock;

const TASK_ID: &str = "chyron:mod:task-id";
const OPEN: &str = "chyron:mod:tasks-open";

/// A finished task's record is kept this long (seconds), for a waiter that
/// asks late.
pub const KEEP_FINISHED_S: u64 = 7 * 24 * 3600;

fn task_key(id: i64) -> String {
    format!("chyron:mod:task:{id}")
}

/// Numbers task `ARGV[1]` (JSON, queued at `ARGV[2]` ms) with the next id
/// of `KEYS[1]`, keeps it at `chyron:mod:task:{id}` and opens it in
/// `KEYS[2]`. Returns the id.
const ENQUEUE: &str = r"
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', 'chyron:mod:task:' .. id, 'task', ARGV[1], 'created', ARGV[2])
redis.call('ZADD', KEYS[2], id, id)
return id
";

/// Records outcome `ARGV[2]` of task `ARGV[1]` (hash `KEYS[1]`) if it still
/// exists, closes it in `KEYS[2]` and lets the record expire in `ARGV[3]`
/// seconds. Returns 1 if the task existed.
const FINISH: &str = r"
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'outcome', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
";

static ENQUEUE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(ENQUEUE));
static FINISH_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(FINISH));

impl Cluster {
    /// Queues task `json` made at `now` ms; its id.
    pub async fn task_enqueue(&self, json: &str, now: i64) -> Result<i64, ClusterError> {
        let mut conn = self.conn.clone();
        let mut call = ENQUEUE_SCRIPT.key(TASK_ID);
        call.key(OPEN).arg(json).arg(now);
        timed(call.invoke_async(&mut conn)).await
    }

    /// The oldest unfinished task: its id and JSON. An id left open without
    /// a body (its record expired or was deleted by hand) is closed and
    /// skipped.
    pub async fn task_next(&self) -> Result<Option<(i64, String)>, ClusterError> {
        loop {
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(OPEN).arg(0).arg(0);
            let first: Vec<i64> = self.query(cmd).await?;
            let Some(&id) = first.first() else {
                return Ok(None);
            };
            let mut cmd = redis::cmd("HGET");
            cmd.arg(task_key(id)).arg("task");
            match self.query::<Option<String>>(cmd).await? {
                Some(json) => return Ok(Some((id, json))),
                None => {
                    let mut cmd = redis::cmd("ZREM");
                    cmd.arg(OPEN).arg(id);
                    self.query::<i64>(cmd).await?;
                }
            }
        }
    }

    /// The outcome (JSON) of task `id`, if it is finished.
    pub async fn task_outcome(&self, id: i64) -> Result<Option<String>, ClusterError> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(task_key(id)).arg("outcome");
        self.query(cmd).await
    }

    /// Records outcome `json` of task `id` and closes it ([`FINISH`]).
    pub async fn task_finish(&self, id: i64, json: &str) -> Result<(), ClusterError> {
        let mut conn = self.conn.clone();
        let mut call = FINISH_SCRIPT.key(task_key(id));
        call.key(OPEN).arg(id).arg(json).arg(KEEP_FINISHED_S);
        timed(call.invoke_async::<i64>(&mut conn)).await.map(drop)
    }

    /// How many tasks are open (for tests and metrics).
    pub async fn tasks_open(&self) -> Result<u64, ClusterError> {
        let mut cmd = redis::cmd("ZCARD");
        cmd.arg(OPEN);
        self.query(cmd).await
    }
}
