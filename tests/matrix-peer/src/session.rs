//! The peer's one Matrix session: building the client on the SQLite store,
//! registering, logging in or restoring, and the background sync loop.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::account::register;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::uiaa;
use matrix_sdk::ruma::{OwnedDeviceId, UInt};
use matrix_sdk::store::RoomLoadSettings;
use matrix_sdk::{Client, LoopCtrl};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::events::{self, Pending};
use crate::protocol::{Credentials, Out};

/// Display name of the peer's devices (what other clients list).
const DEVICE_NAME: &str = "chyron-matrix-peer";
/// The saved session, in the store directory, for `restore`.
const SESSION_FILE: &str = "session.json";
/// Long-poll timeout of each sync: an idle `wait_sync` returns within this.
const SYNC_POLL: Duration = Duration::from_secs(5);
/// How long a login waits for its first sync (keys uploaded, rooms known).
const FIRST_SYNC: Duration = Duration::from_secs(60);
/// Events per room per sync: Synapse's default of 10 cuts bursts (see
/// docs/matrix-sdk-notes.md), and a cut message would look like a lost one.
const TIMELINE_LIMIT: u32 = 200;

/// Everything the commands and the event handlers share.
pub struct Peer {
    /// Where the SQLite stores (state and crypto keys) and the saved session live.
    pub dir: PathBuf,
    /// Replies and events go out through this.
    pub out: Out,
    /// The logged-in client; `None` until a login finished.
    pub client: Mutex<Option<Client>>,
    /// Held through a login, so two cannot race for the one store.
    pub login_lock: tokio::sync::Mutex<()>,
    /// Count of finished syncs; `wait_sync` waits for it to grow.
    pub syncs: watch::Sender<u64>,
    /// Accept invites as they arrive (`auto_join`).
    pub auto_join: AtomicBool,
    /// The sync loop, aborted on `quit`.
    pub sync_task: Mutex<Option<JoinHandle<()>>>,
    /// Encrypted events not decrypted yet, retried after each sync (bounded
    /// by `events::MAX_PENDING`, oldest dropped).
    pub pending: Mutex<VecDeque<Pending>>,
}

impl Peer {
    /// A peer with no session yet.
    pub fn new(dir: PathBuf, out: Out) -> Arc<Peer> {
        Arc::new(Peer {
            dir,
            out,
            client: Mutex::new(None),
            login_lock: tokio::sync::Mutex::new(()),
            syncs: watch::Sender::new(0),
            auto_join: AtomicBool::new(false),
            sync_task: Mutex::new(None),
            pending: Mutex::new(VecDeque::new()),
        })
    }

    /// The logged-in client, or an error saying to log in first.
    pub fn client(&self) -> Result<Client> {
        self.client
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| anyhow!("not logged in (register, login or restore first)"))
    }
}

/// How a session starts.
pub enum Start<'a> {
    /// A new account.
    Register(&'a Credentials),
    /// A password login (a new device unless `device_id` names one).
    Login(&'a Credentials),
    /// The session saved by an earlier start in the same directory.
    Restore(&'a str),
}

/// Starts the session, the handlers and the sync loop; resolves after the
/// first sync, to `{"user_id", "device_id"}`.
pub async fn start(peer: &Arc<Peer>, how: Start<'_>) -> Result<Value> {
    let _guard = peer
        .login_lock
        .try_lock()
        .map_err(|_| anyhow!("a login is already in progress"))?;
    if let Ok(c) = peer.client() {
        bail!(
            "already logged in as {}",
            c.user_id().map(|u| u.as_str()).unwrap_or("?")
        );
    }
    let homeserver = match &how {
        Start::Register(c) | Start::Login(c) => c.homeserver.as_str(),
        Start::Restore(h) => h,
    };
    // Encryption defaults are Element's: room keys go to every device of the
    // room's members, verified or not (CollectStrategy::AllDevices), and
    // events from unverified devices decrypt (TrustRequirement::Untrusted).
    let client = Client::builder()
        .homeserver_url(homeserver)
        .sqlite_store(&peer.dir, None)
        .build()
        .await
        .with_context(|| format!("client for {homeserver}"))?;
    match how {
        Start::Register(c) => register(&client, c).await?,
        Start::Login(c) => {
            let mut login = client
                .matrix_auth()
                .login_username(&c.user, &c.password)
                .initial_device_display_name(DEVICE_NAME);
            if let Some(d) = &c.device_id {
                login = login.device_id(d);
            }
            login.send().await.context("login")?;
        }
        Start::Restore(_) => {
            let path = peer.dir.join(SESSION_FILE);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("no saved session ({})", path.display()))?;
            let session: MatrixSession = serde_json::from_str(&text).context("saved session")?;
            client
                .matrix_auth()
                .restore_session(session, RoomLoadSettings::default())
                .await
                .context("restore")?;
        }
    }
    let session = client
        .matrix_auth()
        .session()
        .context("no session after login")?;
    std::fs::write(peer.dir.join(SESSION_FILE), serde_json::to_vec(&session)?)
        .context("saving the session")?;
    events::install(&client, peer);
    *peer.client.lock().unwrap() = Some(client.clone());
    let mut synced = peer.syncs.subscribe();
    let first = *synced.borrow_and_update();
    *peer.sync_task.lock().unwrap() = Some(tokio::spawn(sync_loop(client.clone(), peer.clone())));
    tokio::time::timeout(FIRST_SYNC, synced.wait_for(|n| *n > first))
        .await
        .map_err(|_| anyhow!("logged in, but the first sync took over {FIRST_SYNC:?}"))??;
    Ok(json!({"user_id": session.meta.user_id, "device_id": session.meta.device_id}))
}

/// Registers `c.user` through the dummy interactive-auth stage (what the
/// test Synapse offers when registration needs no verification).
async fn register(client: &Client, c: &Credentials) -> Result<()> {
    let mut req = register::v3::Request::new();
    req.username = Some(c.user.clone());
    req.password = Some(c.password.clone());
    req.initial_device_display_name = Some(DEVICE_NAME.into());
    req.device_id = c.device_id.as_deref().map(OwnedDeviceId::from);
    let auth = client.matrix_auth();
    match auth.register(req.clone()).await {
        Ok(_) => return Ok(()),
        Err(e) => {
            let Some(info) = e.as_uiaa_response() else {
                return Err(anyhow!(e).context("register"));
            };
            let mut dummy = uiaa::Dummy::new();
            dummy.session = info.session.clone();
            req.auth = Some(uiaa::AuthData::Dummy(dummy));
        }
    }
    auth.register(req).await.context("register (dummy auth)")?;
    Ok(())
}

/// Syncs until aborted: after each sync, retries undecrypted events and
/// counts it; an error is reported as a `sync_error` event and retried.
async fn sync_loop(client: Client, peer: Arc<Peer>) {
    // Full state on the first sync, no lazy-loaded members (so membership is
    // complete for sharing room keys), and a timeline long enough for bursts.
    let mut filter = FilterDefinition::default();
    filter.room.timeline.limit = Some(UInt::from(TIMELINE_LIMIT));
    let settings = SyncSettings::default()
        .filter(filter.into())
        .timeout(SYNC_POLL);
    let result = client
        .sync_with_result_callback(settings, |r| {
            let peer = peer.clone();
            async move {
                match r {
                    Ok(_) => {
                        events::retry_pending(&peer).await;
                        peer.syncs.send_modify(|n| *n += 1);
                    }
                    Err(e) => {
                        peer.out
                            .event("sync_error", json!({"error": e.to_string()}))
                            .await;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Ok(LoopCtrl::Continue)
            }
        })
        .await;
    if let Err(e) = result {
        peer.out
            .event(
                "sync_error",
                json!({"error": e.to_string(), "stopped": true}),
            )
            .await;
    }
}
