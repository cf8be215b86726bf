//! The viewer's own Matrix client (matrix-sdk, in the browser): guest
//! registration, sign-in, account creation, a guest's upgrade, posting,
//! editing, deleting, the display name and the account data. It does not
//! sync: the public rooms' timelines come from the relay's feed, and the
//! account's settings are read with one request (at start, then now and
//! then), so ten thousand chatters cost the homeserver their own actions
//! only. (Private rooms, later, will sync those rooms alone.)

use crate::markdown::{self, Formatted};
use crate::prefs::{Prefs, ACCOUNT_DATA_TYPE};
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::cross_process_lock::CrossProcessLockConfig;
use matrix_sdk::ruma::api::client::account::register::{v3::Request as Register, RegistrationKind};
use matrix_sdk::ruma::api::client::uiaa::{AuthData, Dummy};
use matrix_sdk::ruma::events::room::message::{ReplacementMetadata, RoomMessageEventContent};
use matrix_sdk::ruma::events::AnyGlobalAccountDataEventContent;
use matrix_sdk::ruma::events::GlobalAccountDataEventType;
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedTransactionId};
use matrix_sdk::store::StoreConfig;
use matrix_sdk::{Client, Room};
use matrix_sdk_indexeddb::IndexeddbCryptoStore;
use serde::{Deserialize, Serialize};

/// What is kept in localStorage so a reload stays signed in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    /// The homeserver's client API base URL.
    pub homeserver: String,
    /// The session (user id, device id, access token).
    pub session: MatrixSession,
    /// A guest account (no password; Synapse limits what it may do).
    pub guest: bool,
    /// The IndexedDB database holding this device's encryption keys (see
    /// [`client_for`]); absent in sessions stored before there were any.
    #[serde(default)]
    pub store: Option<String>,
}

/// A signed-in viewer.
#[derive(Clone)]
pub struct Session {
    /// The client, logged in.
    pub client: Client,
    /// What to store to restore it.
    pub saved: Saved,
}

impl Session {
    /// The viewer's Matrix user id.
    pub fn user_id(&self) -> String {
        self.saved.session.meta.user_id.to_string()
    }
}

/// A failure, as a sentence for the viewer.
pub type Failure = String;

/// A client for `homeserver` whose encryption keys live in the browser's
/// IndexedDB key store `store` (the device keeps them across reloads). The
/// room state is in memory: each page syncs it again.
async fn client_for(homeserver: &str, store: &str) -> Result<Client, Failure> {
    let keys = IndexeddbCryptoStore::open_with_name(store)
        .await
        .map_err(|e| format!("This browser cannot keep encryption keys: {e}"))?;
    Client::builder()
        .homeserver_url(homeserver)
        .store_config(StoreConfig::new(CrossProcessLockConfig::SingleProcess).crypto_store(keys))
        .build()
        .await
        .map_err(|e| format!("Cannot reach the chat server: {e}"))
}

/// A new name for a device's key store: one per sign-in, never reused, so
/// two devices' keys never mix.
fn new_store_name() -> String {
    let part = || (js_sys::Math::random() * 2f64.powi(52)) as u64;
    format!("chyron-keys-{:x}{:x}", part(), part())
}

/// The IndexedDB databases a key store named `name` uses (deleted on
/// sign-out: this device's keys go with it).
pub fn store_databases(name: &str) -> [String; 2] {
    [
        format!("{name}::matrix-sdk-crypto"),
        format!("{name}::matrix-sdk-crypto-meta"),
    ]
}

/// Turns a matrix-sdk error into words a viewer can act on.
pub(crate) fn say(e: impl std::fmt::Display, what: &str) -> Failure {
    let text = e.to_string();
    if text.contains("M_LIMIT_EXCEEDED") {
        format!("{what}: the chat server asks to slow down; try again in a moment.")
    } else if text.contains("M_USER_IN_USE") {
        "That username is taken; pick another, or sign in.".to_owned()
    } else if text.contains("M_FORBIDDEN") && what == "Sign-in failed" {
        "Wrong username or password.".to_owned()
    } else if text.contains("M_GUEST_ACCESS_FORBIDDEN") || text.contains("Guest access is disabled")
    {
        "Guests cannot chat on this server; sign in or create an account.".to_owned()
    } else if text.contains("M_INVALID_USERNAME") {
        "That username is not allowed here; use a–z, 0–9, . _ = - /.".to_owned()
    } else if text.contains("M_WEAK_PASSWORD") {
        "That password is too weak; choose a longer one.".to_owned()
    } else if text.contains("M_FORBIDDEN") {
        format!("{what}: the chat server refused ({text}).")
    } else {
        format!("{what}: {text}")
    }
}

/// Restores a stored session; `None` if it is no longer valid.
pub async fn restore(mut saved: Saved) -> Option<Session> {
    let store = saved.store.get_or_insert_with(new_store_name).clone();
    let client = client_for(&saved.homeserver, &store).await.ok()?;
    client.restore_session(saved.session.clone()).await.ok()?;
    Some(Session { client, saved })
}

fn session_of(
    client: &Client,
    homeserver: &str,
    guest: bool,
    store: String,
) -> Result<Session, Failure> {
    let session = client
        .matrix_auth()
        .session()
        .ok_or_else(|| "The chat server sent no session.".to_owned())?;
    Ok(Session {
        client: client.clone(),
        saved: Saved {
            homeserver: homeserver.to_owned(),
            session,
            guest,
            store: Some(store),
        },
    })
}

/// Registers a guest (no name, no password).
pub async fn guest(homeserver: &str) -> Result<Session, Failure> {
    let store = new_store_name();
    let client = client_for(homeserver, &store).await?;
    let mut request = Register::new();
    request.kind = RegistrationKind::Guest;
    request.initial_device_display_name = Some("Chyron chat".to_owned());
    client
        .matrix_auth()
        .register(request)
        .await
        .map_err(|e| say(e, "Joining as a guest failed"))?;
    session_of(&client, homeserver, true, store)
}

/// Signs in with a username (or full user id) and password.
pub async fn sign_in(homeserver: &str, user: &str, password: &str) -> Result<Session, Failure> {
    let store = new_store_name();
    let client = client_for(homeserver, &store).await?;
    client
        .matrix_auth()
        .login_username(user, password)
        .initial_device_display_name("Chyron chat")
        .send()
        .await
        .map_err(|e| say(e, "Sign-in failed"))?;
    session_of(&client, homeserver, false, store)
}

/// Creates an account (Synapse's dummy stage: no e-mail, no captcha).
/// With `guest`, the guest's own account becomes the full one: same user id,
/// same rooms (Synapse requires the guest's numeric localpart as username).
pub async fn register(
    homeserver: &str,
    username: Option<&str>,
    password: &str,
    guest: Option<&Session>,
) -> Result<Session, Failure> {
    // A fresh client: register() on one that has a session panics. A guest
    // keeps their device, and with it the keys in their store.
    let store = match guest {
        Some(g) => g.saved.store.clone().unwrap_or_else(new_store_name),
        None => new_store_name(),
    };
    let client = client_for(homeserver, &store).await?;
    let request = || {
        let mut r = Register::new();
        r.username = match guest {
            Some(g) => Some(g.saved.session.meta.user_id.localpart().to_owned()),
            None => username.map(str::to_owned),
        };
        r.password = Some(password.to_owned());
        r.guest_access_token = guest.map(|g| g.saved.session.tokens.access_token.clone());
        r.device_id = guest.map(|g| g.saved.session.meta.device_id.clone());
        r.initial_device_display_name = Some("Chyron chat".to_owned());
        r
    };
    // The first request learns the interactive-auth session; the second
    // completes its dummy stage.
    let session = match client.matrix_auth().register(request()).await {
        Ok(_) => None,
        Err(e) => match e.as_uiaa_response() {
            Some(info) => info.session.clone(),
            None => return Err(say(e, "Creating the account failed")),
        },
    };
    if client.matrix_auth().session().is_none() {
        let mut second = request();
        let mut dummy = Dummy::new();
        dummy.session = session;
        second.auth = Some(AuthData::Dummy(dummy));
        client
            .matrix_auth()
            .register(second)
            .await
            .map_err(|e| say(e, "Creating the account failed"))?;
    }
    session_of(&client, homeserver, false, store)
}

/// The joined room, joining it first if needed.
pub async fn room(session: &Session, room_id: &OwnedRoomId) -> Result<Room, Failure> {
    if let Some(room) = session.client.get_room(room_id) {
        if room.state() == matrix_sdk::RoomState::Joined {
            return Ok(room);
        }
    }
    session
        .client
        .join_room_by_id(room_id)
        .await
        .map_err(|e| say(e, "Joining the channel's room failed"))
}

/// A message's content from what the viewer typed (markdown).
fn content(text: &str) -> RoomMessageEventContent {
    let Formatted { plain, html } = markdown::format(text);
    match html {
        Some(html) => RoomMessageEventContent::text_html(plain, html),
        None => RoomMessageEventContent::text_plain(plain),
    }
}

/// Posts markdown; returns the event id. `txn` makes a retry idempotent.
pub async fn post(room: &Room, text: &str, txn: &str) -> Result<String, Failure> {
    let content = content(text);
    room.send(content)
        .with_transaction_id(OwnedTransactionId::from(txn.to_owned()))
        .await
        .map(|r| r.response.event_id.to_string())
        .map_err(|e| say(e, "Sending failed"))
}

/// Replaces the text of the viewer's own message `event_id`.
pub async fn edit(room: &Room, event_id: &str, text: &str) -> Result<(), Failure> {
    let id = OwnedEventId::try_from(event_id).map_err(|e| say(e, "Editing failed"))?;
    let content = content(text).make_replacement(ReplacementMetadata::new(id, None));
    room.send(content)
        .await
        .map(|_| ())
        .map_err(|e| say(e, "Editing failed"))
}

/// Deletes (redacts) the viewer's own message.
pub async fn delete(room: &Room, event_id: &str) -> Result<(), Failure> {
    let id = OwnedEventId::try_from(event_id).map_err(|e| say(e, "Deleting failed"))?;
    room.redact(&id, None, None)
        .await
        .map(|_| ())
        .map_err(|e| say(e, "Deleting failed"))
}

/// Sets the viewer's display name (global, so every room shows it).
pub async fn set_name(session: &Session, name: &str) -> Result<(), Failure> {
    session
        .client
        .account()
        .set_display_name(Some(name))
        .await
        .map_err(|e| say(e, "Setting the name failed"))
}

/// The viewer's display name as the homeserver has it.
pub async fn name(session: &Session) -> Option<String> {
    session
        .client
        .account()
        .get_display_name()
        .await
        .ok()
        .flatten()
}

/// The account's chat preferences (accounts only): `Ok(None)` when it has
/// none yet, `Err` when the homeserver could not be asked.
pub async fn load_prefs(session: &Session) -> Result<Option<Prefs>, Failure> {
    let raw = session
        .client
        .account()
        .fetch_account_data(GlobalAccountDataEventType::from(ACCOUNT_DATA_TYPE))
        .await
        .map_err(|e| say(e, "Loading your settings failed"))?;
    Ok(raw.map(|raw| Prefs::parse(raw.json().get())))
}

/// Stores the preferences in the account (accounts only).
pub async fn save_prefs(session: &Session, prefs: &Prefs) -> Result<(), Failure> {
    let raw = Raw::<AnyGlobalAccountDataEventContent>::from_json(
        serde_json::value::to_raw_value(prefs).map_err(|e| say(e, "Saving failed"))?,
    );
    session
        .client
        .account()
        .set_account_data_raw(GlobalAccountDataEventType::from(ACCOUNT_DATA_TYPE), raw)
        .await
        .map(|_| ())
        .map_err(|e| say(e, "Saving your settings failed"))
}

/// Signs out on the homeserver (best effort: the session is forgotten
/// locally whatever it answers).
pub async fn sign_out(session: &Session) {
    let _ = session.client.matrix_auth().logout().await;
}

/// An OpenID token proving the viewer's Matrix ID to the relay (the relay
/// checks it with the homeserver; the access token never leaves here):
/// (token, the homeserver's server name). Synapse refuses guests.
pub async fn openid_token(session: &Session) -> Result<(String, String), Failure> {
    use matrix_sdk::ruma::api::client::account::request_openid_token::v3::Request;
    let user_id = session.saved.session.meta.user_id.clone();
    let response = session
        .client
        .send(Request::new(user_id))
        .await
        .map_err(|e| say(e, "Proving your Matrix ID to the relay failed"))?;
    Ok((
        response.access_token,
        response.matrix_server_name.to_string(),
    ))
}
