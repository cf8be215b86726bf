//! `chyron-matrix-peer`: a native Matrix client with end-to-end encryption
//! (matrix-sdk 0.18, SQLite store), standing in for Element in Chyron's
//! end-to-end tests. The tests drive it through `tests/e2e/matrix-peer.mjs`.
//!
//! Usage: `chyron-matrix-peer STORE_DIR`. STORE_DIR keeps the SQLite stores
//! (state, crypto keys) and `session.json` (for `restore`); one account per
//! directory. Logs go to stderr.
//!
//! # Protocol
//!
//! One JSON object per line on stdin (at most 64 KiB), one per line on
//! stdout. Every command has a `cmd` and may have an `id` (any JSON value),
//! echoed in its reply. Commands run concurrently (at most 32 at once), so
//! replies can come out of order: match them by `id`.
//!
//! ```text
//! {"id":1,"cmd":"register","homeserver":"http://127.0.0.1:8008","user":"alice","password":"…"[,"device_id":"A1"]}
//! {"id":1,"cmd":"login",   …same fields…}          user: localpart or full id
//!     → {"id":1,"ok":true,"user_id":"@alice:localhost","device_id":"A1"}
//!       (after the first sync: the device's keys are uploaded, rooms known)
//! {"id":2,"cmd":"restore","homeserver":"…"}        the session in STORE_DIR: same device and keys
//! {"id":3,"cmd":"auto_join","on":true}             accept invites as they come → {}
//! {"id":4,"cmd":"dm","users":["@bob:localhost"][,"name":"…"]}
//!     → {"room":"!…"}   private (trusted_private_chat), is_direct, m.megolm.v1.aes-sha2
//!       in the initial state, recorded in m.direct; "users":[] is a room with oneself
//! {"id":5,"cmd":"join","room":"!…"}                → {"room":"!…","encrypted":true}
//! {"id":6,"cmd":"send","room":"!…","body":"hi"[,"formatted_body":"<b>hi</b>"]}
//!     → {"event_id":"$…","encrypted":true}
//! {"id":7,"cmd":"leave","room":"!…"}               → {}
//! {"id":8,"cmd":"block","user":"@bob:localhost"}   ignore list (m.ignored_user_list) → {}
//! {"id":9,"cmd":"unblock","user":"@bob:localhost"} → {}
//! {"id":10,"cmd":"rooms"}
//!     → {"rooms":[{"room","state":"joined|invited|left|…","name","encrypted","direct",
//!                  "members":[{"user","membership"}]}]}
//! {"id":14,"cmd":"devices","user":"@bob:localhost"}
//!     → {"devices":[{"device_id","verified"}]}   the devices this client would
//!       share room keys with (known from /keys/query; poll it after a new login)
//! {"id":11,"cmd":"whoami"}                         → {"user_id","device_id","syncs"}
//! {"id":12,"cmd":"wait_sync"[,"timeout_ms":30000]} until a sync finishes after
//!     this line was read (syncs long-poll 5 s, so ≤ ~5 s when idle) → {"syncs":n}
//! {"id":13,"cmd":"quit"}                           → {} then exit 0 (end of stdin too)
//! ```
//!
//! Every reply is `{"id":…,"ok":true,…}` or `{"id":…,"ok":false,"error":"…"}`;
//! a line that is not a valid command gets `ok:false` too (id `null` if it
//! had none or was not JSON). Events, as the sync sees them:
//!
//! ```text
//! {"event":"message","room","sender","own":false,"event_id","msgtype":"m.text",
//!  "body","formatted_body":null|"…","encrypted":true[,"late":true]}
//!     own: our own echo. late: it was a `utd` first and decrypted later.
//! {"event":"utd","room","sender","event_id","session_id","reason"}
//!     an m.room.encrypted event we could not decrypt (kept, retried after each sync)
//! {"event":"invite","room","from","direct":true}
//! {"event":"auto_join","room","ok":true|false[,"error"]}
//! {"event":"member","room","user","sender","membership":"join|leave|invite|ban|knock","event_id"}
//! {"event":"sync_error","error"[,"stopped":true]}
//! ```
//!
//! Devices are not verified: room keys go to all devices of the room's
//! members and events from unverified devices decrypt, as Element does by
//! default (matrix-sdk's defaults).

// matrix-sdk's futures are deep: spawning the sync loop overflows the default.
#![recursion_limit = "256"]

mod commands;
mod events;
mod protocol;
mod session;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use tokio::io::BufReader;
use tokio::sync::Semaphore;

use protocol::{Command, Out};
use session::Peer;

/// Commands running at once; reading waits when this many are.
const MAX_IN_FLIGHT: usize = 32;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = match (args.next(), args.next()) {
        (Some(d), None) if !d.starts_with('-') => PathBuf::from(d),
        _ => {
            eprintln!("usage: chyron-matrix-peer STORE_DIR   (protocol: see src/main.rs)");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("[peer] cannot create {}: {e}", dir.display());
        std::process::exit(2);
    }
    let out = Out::start();
    let peer = Peer::new(dir, out.clone());
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut stdin = BufReader::new(tokio::io::stdin());
    loop {
        let line = match protocol::read_line(&mut stdin).await {
            Ok(Some(Ok(line))) => line,
            Ok(Some(Err(reason))) => {
                out.err(json!(null), reason).await;
                continue;
            }
            Ok(None) => break,
            Err(e) => {
                eprintln!("[peer] stdin: {e}");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let (id, cmd) = protocol::parse(&line);
        let cmd = match cmd {
            Ok(Command::Quit {}) => {
                out.ok(id, json!({})).await;
                break;
            }
            Ok(cmd) => cmd,
            Err(reason) => {
                out.err(id, reason).await;
                continue;
            }
        };
        let permit = slots.clone().acquire_owned().await.expect("never closed");
        let (peer, out) = (peer.clone(), out.clone());
        tokio::spawn(async move {
            match commands::run(&peer, cmd).await {
                Ok(fields) => out.ok(id, fields).await,
                Err(e) => out.err(id, format!("{e:#}")).await,
            }
            drop(permit);
        });
    }
    shut_down(&peer).await;
    out.flush().await;
    std::process::exit(0);
}

/// Stops the sync and lets the client go (its stores close with it).
async fn shut_down(peer: &Peer) {
    let task = peer.sync_task.lock().unwrap().take();
    if let Some(task) = task {
        task.abort();
        let _ = task.await;
    }
    peer.client.lock().unwrap().take();
}
