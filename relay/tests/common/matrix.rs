//! A real Synapse for bridge tests (started from `scripts/synapse/`, stopped
//! by PID on drop) and Matrix users driven through its client API.

use super::*;
use chyron_protocol::{BridgeState, Message, ServerFrame};
use chyron_relay::bridge::config::{MatrixAuth, MatrixConfig, RoomBridge, Secret};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub const PASSWORD: &str = "chyron-test-password";

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/synapse")
}

/// A running Synapse, stopped (by its pid file, through stop.sh) on drop.
pub struct Synapse {
    /// Its directory: venv, config, database, pid file.
    dir: tempfile::TempDir,
    /// Its port, kept across a restart.
    port: u16,
    /// The client API's base URL.
    pub base: String,
}

impl Synapse {
    /// Stops it (an outage); [`Synapse::start_again`] brings it back.
    pub fn stop(&self) {
        let ok = Command::new(scripts().join("stop.sh"))
            .arg(self.dir.path())
            .stderr(Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "stop.sh failed");
    }

    /// Starts it again on the same port and data.
    pub fn start_again(&self) {
        let ok = Command::new(scripts().join("start.sh"))
            .arg(self.dir.path())
            .arg(self.port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "start.sh failed");
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = Command::new(scripts().join("stop.sh"))
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .status();
    }
}

/// Starts Synapse on a free port, or says why it cannot.
fn start_synapse() -> Result<Synapse, String> {
    let python = Command::new("python3").arg("--version").output();
    if !python.is_ok_and(|o| o.status.success()) {
        return Err("python3 is not installed".into());
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = Command::new(scripts().join("start.sh"))
        .arg(dir.path())
        .arg(port.to_string())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("start.sh: {e}"))?;
    let synapse = Synapse {
        base: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        port,
        dir,
    };
    if !out.status.success() || synapse.base.is_empty() {
        return Err(format!(
            "scripts/synapse/start.sh failed ({}): Synapse could not be installed or started",
            out.status
        ));
    }
    Ok(synapse)
}

pub fn seed(base: &str) -> Value {
    let out = Command::new("python3")
        .arg(scripts().join("seed.py"))
        .arg(base)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "seed.py failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A Matrix user driven through the plain client-server API.
pub struct Mx {
    /// The homeserver's base URL.
    pub base: String,
    /// The user's access token.
    pub token: String,
    /// The demo room's id.
    pub room: String,
}

impl Mx {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let res = http()
            .request(method, format!("{}/_matrix/client/v3{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let value: Value = res.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    pub async fn send(&self, content: Value) -> String {
        let txn = format!("t{}", std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
        let path = format!("/rooms/{}/send/m.room.message/{txn}", self.room);
        let v = self.call(reqwest::Method::PUT, &path, content).await;
        v["event_id"].as_str().unwrap().to_string()
    }

    pub async fn text(&self, body: &str) -> String {
        self.send(json!({"msgtype": "m.text", "body": body})).await
    }

    pub async fn edit(&self, target: &str, body: &str) -> String {
        self.send(json!({"msgtype": "m.text", "body": format!("* {body}"),
            "m.new_content": {"msgtype": "m.text", "body": body},
            "m.relates_to": {"rel_type": "m.replace", "event_id": target}}))
            .await
    }

    pub async fn redact(&self, target: &str) {
        let path = format!("/rooms/{}/redact/{target}/r{}", self.room, target.len());
        self.call(reqwest::Method::PUT, &path, json!({"reason": "test"}))
            .await;
    }

    pub async fn moderate(&self, what: &str, user: &str) {
        let path = format!("/rooms/{}/{what}", self.room);
        self.call(reqwest::Method::POST, &path, json!({"user_id": user}))
            .await;
    }
}

pub fn user(seeded: &Value, who: &str, base: &str) -> Mx {
    Mx {
        base: base.to_string(),
        token: seeded["users"][who]["access_token"]
            .as_str()
            .unwrap()
            .into(),
        room: seeded["room_id"].as_str().unwrap().into(),
    }
}

pub fn bridged(base: &str) -> MatrixConfig {
    MatrixConfig {
        homeserver: base.to_string(),
        user: "@chyron-bot:localhost".try_into().unwrap(),
        auth: MatrixAuth::Password(Secret::new(PASSWORD.into())),
        rooms: vec![RoomBridge {
            channel: "demo".into(),
            room: "#demo:localhost".try_into().unwrap(),
        }],
        clear_on_kick: false,
        backfill: 50,
    }
}

/// The next frame that is not a bridge state, waiting up to 60 s (the
/// bridge logs in and syncs first).
pub async fn next_slow(ws: &mut Ws) -> ServerFrame {
    loop {
        match next_any(ws).await {
            ServerFrame::Bridge { .. } => continue,
            other => return other,
        }
    }
}

/// The next frame of any kind, waiting up to 60 s.
pub async fn next_any(ws: &mut Ws) -> ServerFrame {
    tokio::time::timeout(Duration::from_secs(60), next_frame_raw(ws))
        .await
        .expect("no frame from the bridge within 60 s")
}

/// Waits (up to 60 s) for the bridge to report `state`, skipping other
/// bridge states; any other frame is returned as an error.
pub async fn until_state(ws: &mut Ws, state: BridgeState) -> Result<(), ServerFrame> {
    loop {
        match next_any(ws).await {
            ServerFrame::Bridge { state: s } if s == state => return Ok(()),
            ServerFrame::Bridge { .. } => continue,
            other => return Err(other),
        }
    }
}

async fn next_frame_raw(ws: &mut Ws) -> ServerFrame {
    use futures_util::StreamExt;
    loop {
        match ws.next().await.expect("feed ended").expect("ws error") {
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                return serde_json::from_str(t.as_str()).unwrap()
            }
            _ => continue,
        }
    }
}

/// Starts Synapse, or skips (returns `None`, printing why) where it is not
/// required.
pub async fn synapse_or_skip() -> Option<Synapse> {
    match tokio::task::spawn_blocking(start_synapse).await.unwrap() {
        Ok(s) => Some(s),
        // scripts/test.sh (and so CI) sets CHYRON_REQUIRE_SYNAPSE: there a
        // Synapse that cannot start is a failure, not a skip.
        Err(why) if std::env::var_os("CHYRON_REQUIRE_SYNAPSE").is_some() => {
            panic!("Synapse is required here: {why}")
        }
        Err(why) => {
            println!("SKIPPED matrix bridge test: {why}");
            None
        }
    }
}

/// A seeded Synapse, alice in its `#demo` room, and a relay bridged to it
/// with a `demo` feed on which the bridge is live.
pub struct LiveBridge {
    /// The homeserver (stop it after the relay).
    pub synapse: Synapse,
    /// The room's admin.
    pub alice: Mx,
    /// The bridged relay.
    pub relay: Server,
    /// Its `demo` feed, past the snapshot and the `live` state.
    pub ws: Ws,
}

/// Starts a [`LiveBridge`]; `None` (with the reason printed) where Synapse
/// is not required and cannot start.
pub async fn live_bridge() -> Option<LiveBridge> {
    let (synapse, alice) = synapse_and_alice().await?;
    let relay = start(|c| c.matrix = Some(bridged(&synapse.base))).await;
    let ws = live_demo_feed(&relay).await;
    Some(LiveBridge {
        synapse,
        alice,
        relay,
        ws,
    })
}

/// A seeded Synapse and alice, the admin of its `#demo` room, with the
/// relay's log on; `None` (with the reason printed) where Synapse is not
/// required and cannot start.
pub async fn synapse_and_alice() -> Option<(Synapse, Mx)> {
    log();
    let synapse = synapse_or_skip().await?;
    let seeded = seeded(&synapse.base).await;
    let alice = user(&seeded, "alice", &synapse.base);
    Some((synapse, alice))
}

/// `relay`'s `demo` feed, past its snapshot and the bridge's `live` state.
pub async fn live_demo_feed(relay: &Server) -> Ws {
    let mut ws = relay.feed("/feed/demo").await;
    next_snapshot(&mut ws).await;
    until_state(&mut ws, BridgeState::Live).await.unwrap();
    ws
}

/// Seeds the users and the room (blocking, so off the runtime).
pub async fn seeded(base: &str) -> Value {
    let base = base.to_string();
    tokio::task::spawn_blocking(move || seed(&base))
        .await
        .unwrap()
}

/// Logs the relay's bridge at info (shown when a test fails).
pub fn log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "chyron_relay=info".into()),
        )
        .with_test_writer()
        .try_init();
}

pub fn posted(frame: ServerFrame) -> (u64, Message) {
    match frame {
        ServerFrame::Message { seq, message } => (seq, message),
        other => panic!("expected a message, got {other:?}"),
    }
}

impl Mx {
    /// The room's newest `limit` events, newest first.
    pub async fn recent(&self, limit: u32) -> Vec<Value> {
        let path = format!("/rooms/{}/messages?dir=b&limit={limit}", self.room);
        let v = self.call(reqwest::Method::GET, &path, json!(null)).await;
        v["chunk"].as_array().cloned().unwrap_or_default()
    }

    /// Uploads bytes with a claimed content type; returns the `mxc://` URI.
    pub async fn upload(&self, bytes: Vec<u8>, content_type: &str) -> String {
        let res = http()
            .post(format!("{}/_matrix/media/v3/upload", self.base))
            .bearer_auth(&self.token)
            .header("Content-Type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "upload: {}", res.status());
        let v: Value = res.json().await.unwrap();
        v["content_uri"].as_str().unwrap().to_string()
    }

    /// Sets the user's display name and waits until the room shows it.
    pub async fn rename(&self, user_id: &str, name: &str) {
        self.profile(user_id, "displayname", name).await
    }

    /// Sets the user's avatar (an `mxc://` URI) and waits until the room
    /// shows it.
    pub async fn set_avatar(&self, user_id: &str, uri: &str) {
        self.profile(user_id, "avatar_url", uri).await
    }

    /// Sets one profile field (`displayname`, `avatar_url`) and waits until
    /// the user's member event in the room carries it.
    async fn profile(&self, user_id: &str, field: &str, value: &str) {
        let path = format!("/profile/{user_id}/{field}");
        self.call(reqwest::Method::PUT, &path, json!({ field: value }))
            .await;
        for _ in 0..100 {
            let path = format!("/rooms/{}/state/m.room.member/{user_id}", self.room);
            let m = self.call(reqwest::Method::GET, &path, json!(null)).await;
            if m[field] == value {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{user_id}'s {field} did not become {value} in the room");
    }
}

/// A real PNG of `w`×`h` pixels (a gradient), made by Python's zlib.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let script = r#"
import struct, sys, zlib
w, h = int(sys.argv[1]), int(sys.argv[2])
rows = b"".join(b"\0" + b"".join(bytes((x * 255 // w, y * 255 // h, 128)) for x in range(w)) for y in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &w.to_string(), &h.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "png generation failed");
    out.stdout
}

/// The bodies of the bot's messages in the room, oldest first.
pub async fn bot_lines(reader: &Mx) -> Vec<String> {
    let mut lines: Vec<String> = reader
        .recent(100)
        .await
        .iter()
        .filter(|e| e["sender"] == "@chyron-bot:localhost" && e["type"] == "m.room.message")
        .filter(|e| e["content"]["m.new_content"].is_null())
        .filter_map(|e| e["content"]["body"].as_str().map(str::to_string))
        .collect();
    lines.reverse();
    lines
}

/// Waits (up to 60 s) until the bot's lines in the room are `want`.
pub async fn until_bot_lines(reader: &Mx, want: &[&str]) {
    for _ in 0..300 {
        if bot_lines(reader).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the room shows {:?}, not {want:?}", bot_lines(reader).await);
}
