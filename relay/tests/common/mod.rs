//! A real relay on port 0, and clients for it.
#![allow(dead_code)]

pub mod matrix;
pub mod postgres_server;
pub mod redis_server;
pub mod service;

use chyron_protocol::{ServerFrame, Snapshot};
use chyron_relay::config::{ApiToken, Config};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TOKEN: &str = "test-token-123";

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Server {
    /// Where the relay listens (port 0 resolved), for URLs.
    pub addr: SocketAddr,
    /// Its data directory, for restarts on the same state.
    pub data: PathBuf,
    /// Completing this starts the graceful shutdown.
    stop: Option<oneshot::Sender<()>>,
    /// The `run` task, awaited by [`Server::stop`].
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// A data directory this helper made, removed when the server is dropped.
    _owned: Option<tempfile::TempDir>,
}

/// Makes `owners` the owners of `channel` in `c`, as `[channels.X] owners`
/// in the config file would.
pub fn own(c: &mut Config, channel: &str, owners: &[&str]) {
    let meta = chyron_relay::config::chat::ChannelMeta {
        owners: owners.iter().map(|o| o.to_string()).collect(),
        ..Default::default()
    };
    c.chat.channels.insert(channel.into(), meta);
}

/// A config with the test token, data in `data`, and `tweak` applied.
pub fn config(data: &std::path::Path, tweak: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config {
        data_dir: data.to_path_buf(),
        dist_dir: data.join("dist"),
        api_tokens: vec![ApiToken::new(TOKEN)],
        ..Config::default()
    };
    tweak(&mut c);
    c
}

pub async fn start_with(config: Config) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data = config.data_dir.clone();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(chyron_relay::run(listener, config, async move {
        let _ = rx.await;
    }));
    Server {
        addr,
        data,
        stop: Some(tx),
        task: Some(task),
        _owned: None,
    }
}

/// A relay on a fresh data directory that lives as long as the server.
pub async fn start(tweak: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_with(config(dir.path(), tweak)).await;
    server._owned = Some(dir);
    server
}

impl Server {
    /// A relay running elsewhere (a child process) at `addr`: for its URLs,
    /// posts, feeds and metrics; stopping it is the caller's business.
    pub fn at(addr: &str) -> Server {
        Server {
            addr: addr.parse().unwrap(),
            data: PathBuf::new(),
            stop: None,
            task: None,
            _owned: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Graceful shutdown; waits until `run` returned.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    pub async fn post(&self, channel: &str, sender: &str, body: &str) -> Value {
        let res = http()
            .post(self.url(&format!("/api/v1/channels/{channel}/messages")))
            .bearer_auth(TOKEN)
            .json(&json!({"sender": sender, "body": body}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json().await.unwrap()
    }

    /// Creates a webhook of `channel` with request body `body` (201 asserted);
    /// the answer, with its `url`.
    pub async fn create_webhook(&self, channel: &str, body: Value) -> Value {
        let res = http()
            .post(self.url(&format!("/api/v1/channels/{channel}/webhooks")))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json().await.unwrap()
    }

    pub async fn feed(&self, path_and_query: &str) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(self.ws_url(path_and_query))
            .await
            .unwrap();
        ws
    }
}

/// `PUT /api/v1/channels/{channel}/live` with `body`, the token's answer.
pub async fn put_live(relay: &Server, channel: &str, body: Value) -> reqwest::Response {
    http()
        .put(relay.url(&format!("/api/v1/channels/{channel}/live")))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// An authorized `GET` of `path`, its JSON.
pub async fn get_json(relay: &Server, path: &str) -> Value {
    let res = http()
        .get(relay.url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

/// A request with `Authorization: Bearer {bearer}` and an optional JSON
/// body: its status and JSON (`null` when it has none).
pub async fn call_as(
    relay: &Server,
    bearer: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (reqwest::StatusCode, Value) {
    let mut req = http().request(method, relay.url(path)).bearer_auth(bearer);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// The next data frame as a ServerFrame (5 s limit).
pub async fn next_frame(ws: &mut Ws) -> ServerFrame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no frame within 5 s")
            .expect("stream ended")
            .expect("websocket error");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

pub async fn next_snapshot(ws: &mut Ws) -> Snapshot {
    match next_frame(ws).await {
        ServerFrame::Snapshot(s) => s,
        other => panic!("expected a snapshot, got {other:?}"),
    }
}

/// Asserts nothing arrives for a short while.
pub async fn assert_quiet(ws: &mut Ws) {
    if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), ws.next()).await {
        panic!("unexpected frame {m:?}");
    }
}

pub async fn close(mut ws: Ws) {
    let _ = ws.send(Message::Close(None)).await;
}

/// The JSON error code of a response, after checking its status.
pub async fn error_code(res: reqwest::Response, status: u16) -> (String, String) {
    assert_eq!(res.status(), status);
    let v: Value = res.json().await.unwrap();
    (
        v["error"]["code"].as_str().unwrap().to_string(),
        v["error"]["message"].as_str().unwrap().to_string(),
    )
}

/// A TCP connection to the server from `ip` (any 127.x.y.z address is
/// loopback), with a small receive buffer when `rcvbuf` is given.
pub async fn tcp_from(server: &Server, ip: [u8; 4], rcvbuf: Option<u32>) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(size) = rcvbuf {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket
        .bind(SocketAddr::from((ip, 0)))
        .expect("bind a loopback address");
    socket.connect(server.addr).await.unwrap()
}

/// A feed websocket opened from `ip` (another client address than the
/// tests' usual 127.0.0.1).
pub async fn feed_from(server: &Server, ip: [u8; 4], path_and_query: &str) -> Ws {
    let tcp = tcp_from(server, ip, None).await;
    let (ws, _) =
        tokio_tungstenite::client_async(server.ws_url(path_and_query), MaybeTlsStream::Plain(tcp))
            .await
            .unwrap();
    ws
}

/// Sends a websocket upgrade request for `path` on a raw socket (the answer
/// is left unread).
pub async fn raw_upgrade(tcp: &mut TcpStream, path: &str) {
    use tokio::io::AsyncWriteExt;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
}

/// The relay's `/metrics` page, as text.
pub async fn metrics_text(server: &Server) -> String {
    http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The sum of the `/metrics` samples named `name` whose labels contain
/// `labels` (e.g. `reason="ping_flood"`); `None` if there is none.
pub async fn metric(server: &Server, name: &str, labels: &str) -> Option<f64> {
    let text = metrics_text(server).await;
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, rest) = key.split_once('{').unwrap_or((key, ""));
        if metric == name && rest.contains(labels) {
            *found.get_or_insert(0.0) += value.parse::<f64>().unwrap();
        }
    }
    found
}

/// `/healthz` answers 200 within `within`.
pub async fn healthy_within(server: &Server, within: Duration) {
    let res = tokio::time::timeout(within, http().get(server.url("/healthz")).send())
        .await
        .expect("/healthz did not answer in time")
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// A viewer at 127.0.0.2 on `channel` gets its snapshot, then a caption
/// posted now, within 5 s: service for a normal viewer goes on.
pub async fn normal_viewer_gets_captions(server: &Server, channel: &str) {
    let mut ws = feed_from(server, [127, 0, 0, 2], &format!("/feed/{channel}")).await;
    next_snapshot(&mut ws).await;
    server.post(channel, "Ann", "still here").await;
    loop {
        if let ServerFrame::Message { message, .. } = next_frame(&mut ws).await {
            assert_eq!(message.body, "still here");
            break;
        }
    }
}

/// Sends SIGKILL to `pid` and waits (5 s at most) until it is gone or a
/// zombie: it had no chance to flush or say goodbye.
pub fn kill9(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    for _ in 0..100 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return,
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|s| s.trim_start().starts_with('Z')) =>
            {
                return
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    panic!("PID {pid} still alive 5 s after SIGKILL");
}

/// The relay binary as a child process on `127.0.0.1:0` with its data in
/// `data` and `args` besides; the process and the address it printed.
pub fn spawn_relay(data: &std::path::Path, args: &[&str]) -> (std::process::Child, String) {
    spawn_relay_with(data, args, &[])
}

/// [`spawn_relay`] with `env` set besides (secrets such as the bot's password).
pub fn spawn_relay_with(
    data: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chyron-relay"))
        .envs(env.iter().copied())
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--dist")
        .arg(data)
        .args(args)
        .env("CHYRON_API_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("chyron-relay listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, addr)
}
