//! The JSON-lines protocol: parsing a command line, and the one writer of
//! stdout that replies and events go through (see main.rs for the format).

use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// Longest command line accepted; longer ones are refused, never buffered.
pub const MAX_LINE: usize = 64 * 1024;
/// Replies and events waiting for stdout; senders wait when it is full.
const OUT_QUEUE: usize = 1024;

/// One command, from the line's `cmd` and its other fields (minus `id`).
#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Register a new account (dummy interactive auth), then log in as it.
    Register(Credentials),
    /// Log in with a password.
    Login(Credentials),
    /// Log in again with the session a previous login saved in the store
    /// directory: same device, same keys.
    Restore {
        /// The homeserver's base URL (the saved session does not keep it).
        homeserver: String,
    },
    /// Join every room this account is invited to, from now on.
    AutoJoin {
        /// On or off.
        on: bool,
    },
    /// Create a private, encrypted, direct room inviting `users` (none: a
    /// room with oneself), recorded in the account's `m.direct`.
    Dm {
        /// Full user ids to invite.
        users: Vec<String>,
        /// A room name, if any (Element shows members' names otherwise).
        #[serde(default)]
        name: Option<String>,
    },
    /// Accept an invite (or join a room one may join).
    Join {
        /// Room id.
        room: String,
    },
    /// Send an `m.text` (encrypted if the room is).
    Send {
        /// Room id.
        room: String,
        /// Plain body.
        body: String,
        /// HTML body (`org.matrix.custom.html`), sent as given.
        #[serde(default)]
        formatted_body: Option<String>,
    },
    /// Leave a room.
    Leave {
        /// Room id.
        room: String,
    },
    /// Add a user to the account's ignore list.
    Block {
        /// Full user id.
        user: String,
    },
    /// Remove a user from the ignore list.
    Unblock {
        /// Full user id.
        user: String,
    },
    /// The devices of `user` this client knows (and would share keys with).
    Devices {
        /// Full user id.
        user: String,
    },
    /// The rooms this client knows, with their state.
    Rooms {},
    /// Who this client is, and how many syncs finished.
    Whoami {},
    /// Wait until the next sync after this command has finished.
    WaitSync {
        /// Give up after this long (default 30 s, at most 300 s).
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
    /// Reply, stop syncing, close the store and exit.
    Quit {},
}

/// What `register` and `login` need.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The homeserver's base URL, e.g. `http://127.0.0.1:8008`.
    pub homeserver: String,
    /// Localpart (or full user id for login).
    pub user: String,
    /// Password.
    pub password: String,
    /// Device id to use; the server picks one if absent.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// A parsed line: its `id` (echoed in the reply; `null` if absent or if the
/// line was not JSON) and the command or why it was refused.
pub fn parse(line: &str) -> (Value, Result<Command, String>) {
    let mut map: Map<String, Value> = match serde_json::from_str(line) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return (Value::Null, Err("a command must be a JSON object".into())),
        Err(e) => return (Value::Null, Err(format!("not JSON: {e}"))),
    };
    let id = map.remove("id").unwrap_or(Value::Null);
    if !matches!(map.get("cmd"), Some(Value::String(_))) {
        return (id, Err("missing \"cmd\" (a string)".into()));
    }
    let cmd = serde_json::from_value(Value::Object(map)).map_err(|e| format!("bad command: {e}"));
    (id, cmd)
}

/// Reads one line of at most [`MAX_LINE`] bytes. `Ok(None)` at end of input;
/// `Ok(Some(Err(_)))` for a line that was too long or not UTF-8 (its rest is
/// skipped).
pub async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
) -> std::io::Result<Option<Result<String, String>>> {
    let mut buf = Vec::new();
    let mut too_long = false;
    loop {
        let chunk = input.fill_buf().await?;
        if chunk.is_empty() {
            if buf.is_empty() && !too_long {
                return Ok(None);
            }
            break;
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            buf.extend_from_slice(&chunk[..take]);
            if buf.len() > MAX_LINE + 1 {
                too_long = true;
                buf = Vec::new();
            }
        }
        input.consume(take);
        if done {
            break;
        }
    }
    if too_long {
        return Ok(Some(Err(format!("line longer than {MAX_LINE} bytes"))));
    }
    Ok(Some(
        String::from_utf8(buf).map_err(|_| "line is not UTF-8".to_string()),
    ))
}

/// The handle everything writes stdout through, one JSON object per line.
#[derive(Clone)]
pub struct Out {
    /// To the writer task (bounded: a stalled reader slows the peer down
    /// instead of growing its memory).
    tx: mpsc::Sender<Msg>,
}

/// What the writer task is given.
enum Msg {
    /// A line to write.
    Line(Value),
    /// Answer once everything before it is written.
    Flush(oneshot::Sender<()>),
}

impl Out {
    /// Starts the writer task (it exits the process if stdout is closed).
    pub fn start() -> Out {
        let (tx, mut rx) = mpsc::channel::<Msg>(OUT_QUEUE);
        let task = tokio::spawn(async move {
            let mut stdout = tokio::io::stdout();
            while let Some(msg) = rx.recv().await {
                let v = match msg {
                    Msg::Line(v) => v,
                    Msg::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                let mut line = v.to_string();
                line.push('\n');
                if stdout.write_all(line.as_bytes()).await.is_err() || stdout.flush().await.is_err()
                {
                    eprintln!("[peer] stdout closed; exiting");
                    std::process::exit(0);
                }
            }
        });
        drop(task);
        Out { tx }
    }

    /// Writes one line (waits while the queue is full).
    pub async fn line(&self, v: Value) {
        let _ = self.tx.send(Msg::Line(v)).await;
    }

    /// Resolves once every line queued before it is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// `{"id":…,"ok":true, …fields}` (fields must be an object or null).
    pub async fn ok(&self, id: Value, fields: Value) {
        let mut m = match fields {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert("id".into(), id);
        m.insert("ok".into(), Value::Bool(true));
        self.line(Value::Object(m)).await;
    }

    /// `{"id":…,"ok":false,"error":"…"}`.
    pub async fn err(&self, id: Value, error: impl std::fmt::Display) {
        self.line(json!({"id": id, "ok": false, "error": error.to_string()}))
            .await;
    }

    /// `{"event":name, …fields}`.
    pub async fn event(&self, name: &str, fields: Value) {
        let mut m = match fields {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert("event".into(), Value::String(name.into()));
        self.line(Value::Object(m)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_command_and_keeps_its_id() {
        let (id, cmd) = parse(r#"{"id":7,"cmd":"send","room":"!r:x","body":"hi"}"#);
        assert_eq!(id, json!(7));
        match cmd.unwrap() {
            Command::Send {
                room,
                body,
                formatted_body,
            } => assert_eq!(
                (room.as_str(), body.as_str(), formatted_body),
                ("!r:x", "hi", None)
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"cmd":"rooms"}"#).1,
            Ok(Command::Rooms {})
        ));
        assert!(matches!(
            parse(r#"{"id":"a","cmd":"wait_sync"}"#).1,
            Ok(Command::WaitSync { timeout_ms: None })
        ));
    }

    #[test]
    fn refuses_bad_lines_with_a_reason() {
        for (line, want) in [
            ("nope", "not JSON"),
            ("[1]", "JSON object"),
            (r#"{"id":1}"#, "missing \"cmd\""),
            (r#"{"id":1,"cmd":5}"#, "missing \"cmd\""),
            (r#"{"id":1,"cmd":"fly"}"#, "unknown variant"),
            (
                r#"{"id":1,"cmd":"send","room":"!r:x"}"#,
                "missing field `body`",
            ),
            (
                r#"{"id":1,"cmd":"leave","room":"!r:x","extra":1}"#,
                "unknown field",
            ),
            (r#"{"id":1,"cmd":"auto_join","on":"yes"}"#, "invalid type"),
        ] {
            let (_, cmd) = parse(line);
            let e = cmd.unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
        assert_eq!(parse(r#"{"id":3,"cmd":"fly"}"#).0, json!(3));
    }

    #[tokio::test]
    async fn reads_bounded_lines() {
        let long = "x".repeat(MAX_LINE + 10);
        let input = format!("{{\"a\":1}}\n{long}\nlast");
        let mut r = tokio::io::BufReader::with_capacity(1000, input.as_bytes());
        assert_eq!(
            read_line(&mut r).await.unwrap(),
            Some(Ok("{\"a\":1}\n".into()))
        );
        assert!(read_line(&mut r).await.unwrap().unwrap().is_err());
        assert_eq!(read_line(&mut r).await.unwrap(), Some(Ok("last".into())));
        assert_eq!(read_line(&mut r).await.unwrap(), None);
    }
}
