//! Moderation: the relay is the authority. It keeps who may moderate
//! (owners, moderators for one event or in general, admins), the timeouts
//! and bans in force, karma and a log; it checks every request itself (a
//! control hidden in the widget is a convenience, never the check); and it
//! refuses a sanctioned sender's posts at every door through the hub's
//! [`Policy`].
//!
//! - `session`: who asks (a viewer's OpenID-proven Matrix ID, or the API token)
//! - `roles`: what they may do where, and appointing moderators
//! - `sanctions`: the timeouts and bans in force, in memory, as the [`Policy`]
//! - `actions`: timeouts and bans; `content`: marks and deletions;
//!   `reads`: standing, karma, the log; `mirror`: the same in Matrix
//! - `expiry`: lifts each timeout at its stored end, also after a restart
//! - `karma`: the arithmetic of karma and suggested lengths
//! - `records`: where the records are: SQLite alone, Redis in a cluster
//!   (every node agrees; each node's memory follows Redis's sanctions)

pub mod actions;
pub mod content;
pub mod expiry;
pub mod karma;
pub mod mirror;
pub mod owned;
pub mod reads;
pub mod records;
pub mod role_clock;
pub mod role_edges;
pub mod roles;
pub mod sanctions;
pub mod session;
pub mod tasks;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::error::ApiError;
use crate::hub::{Policy, Refusal};
use crate::quota::Limiter;
use crate::store::{moderation as db, Store};
use crate::AppState;
use axum::http::{header, HeaderValue, Method};
use axum::routing::{delete, get, post, put};
use axum::Router;
use chyron_protocol::Mark;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, OnceCell};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Moderation's state, shared by its handlers, the hub and the expiry task.
pub struct Moderation {
    /// Where roles, sanctions, karma, the log and the sessions' key are
    /// kept: SQLite, or Redis in clustered mode.
    records: records::Records,
    /// This node's own SQLite (things kept per node).
    store: Store,
    /// Admins from the config.
    admins: Vec<String>,
    /// Owners from the config, per channel (the API adds more, in SQLite).
    config_owners: BTreeMap<String, Vec<String>>,
    /// Channels whose unmarked attachments wait for a moderator.
    blur_unmarked: HashSet<String>,
    /// How long one second of the moderation clock lasts, in ms.
    pub second_ms: i64,
    /// The sessions' HMAC key, read from (or first written to) the records
    /// on first use.
    key: OnceCell<[u8; 32]>,
    /// The timeouts and bans in force, in memory: asked on every post.
    pub sanctions: sanctions::Sanctions,
    /// Wakes the expiry task when a timeout is set or lifted.
    pub changed: Notify,
    /// Moderation requests per actor.
    limiter: Limiter<String>,
    /// Asks the homeserver about OpenID tokens.
    http: http_client::Client,
    /// What the bridge is to do in Matrix (power levels, bans, the
    /// moderators' rooms), in order, kept across restarts.
    pub tasks: tasks::Tasks,
    /// Whether the relay has a Matrix bridge (moderators' rooms exist).
    pub has_matrix: bool,
}

impl Moderation {
    /// Moderation over `store`, or over `cluster`'s Redis in clustered
    /// mode, with the config's admins, owners and channel settings. Reads
    /// nothing yet: [`Moderation::load`] does.
    pub fn new(store: Store, cluster: Option<Arc<Cluster>>, config: &Config) -> Moderation {
        let chat = &config.chat;
        let l = &config.limits;
        let store_for_tasks = store.clone();
        let cluster_for_tasks = cluster.clone();
        Moderation {
            records: match cluster {
                Some(cluster) => records::Records::Redis(cluster),
                None => records::Records::Sqlite(store.clone()),
            },
            store,
            admins: chat.admins.clone(),
            config_owners: chat
                .channels
                .iter()
                .map(|(name, meta)| (name.clone(), meta.owners.clone()))
                .collect(),
            blur_unmarked: chat
                .channels
                .iter()
                .filter(|(_, meta)| meta.blur_unmarked)
                .map(|(name, _)| name.clone())
                .collect(),
            second_ms: l.moderation_second_ms.into(),
            key: OnceCell::new(),
            sanctions: sanctions::Sanctions::default(),
            changed: Notify::new(),
            limiter: Limiter::new(
                "mod",
                l.rate_limit_per_second,
                Duration::from_secs(1),
                l.rate_limit_burst,
            ),
            http: http_client::Client::new(),
            tasks: tasks::Tasks::new(store_for_tasks, cluster_for_tasks),
            has_matrix: config.matrix.is_some(),
        }
    }

    /// Reads the sanctions in force into memory; the relay calls it before
    /// it serves, so no post slips past a timeout set before a restart.
    pub async fn load(&self) -> Result<(), records::RecordsError> {
        let all = self.records.sanctions().await?;
        self.sanctions.replace(all);
        Ok(())
    }

    /// Reads the sanctions in force again (what other nodes put or lifted,
    /// in clustered mode), waking the expiry task if they changed.
    pub async fn refresh(&self) -> Result<(), records::RecordsError> {
        let seen = self.sanctions.version();
        let all = self.records.sanctions().await?;
        let Some(banned) = self.sanctions.replace_if(seen, all) else {
            return Ok(());
        };
        self.changed.notify_one();
        for (channel, user_id) in banned {
            self.forget_avatars(&channel, &user_id).await;
        }
        Ok(())
    }

    /// Stops this node serving the avatars of someone banned in `channel`
    /// (each node keeps its own; a failure is logged, the ban holds).
    pub async fn forget_avatars(&self, channel: &str, user_id: &str) {
        let (c, u) = (channel.to_string(), user_id.to_string());
        let done = self
            .store
            .call(move |conn| db::forget_avatars(conn, &c, &u))
            .await;
        if let Err(e) = done {
            tracing::warn!(
                channel,
                user_id,
                "forgetting a banned person's avatars: {e}"
            );
        }
    }

    /// This node's own store, for handlers.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Where roles, sanctions, karma and the log are kept.
    pub fn records(&self) -> &records::Records {
        &self.records
    }

    /// The sessions' key: created once, then read back after restarts.
    pub async fn session_key(&self) -> Result<[u8; 32], ApiError> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let internal = |e: &dyn std::fmt::Display| ApiError::internal("session key", e);
                let fresh = crate::hub::random_bytes::<32>().map_err(|e| internal(&e))?;
                let stored = self
                    .records
                    .session_key(hex::encode(fresh))
                    .await
                    .map_err(|e| e.api("session key"))?
                    .ok_or_else(|| internal(&"none stored"))?;
                let mut key = [0u8; 32];
                hex::decode_to_slice(stored, &mut key).map_err(|e| internal(&e))?;
                Ok::<_, ApiError>(key)
            })
            .await?;
        Ok(*key)
    }

    /// `429` past the actor's rate.
    pub async fn limit(&self, state: &AppState, actor: &str) -> Result<(), ApiError> {
        let cluster = state.cluster.as_deref();
        match self.limiter.check(cluster, &actor.to_string()).await {
            Some(secs) => Err(ApiError::rate_limited(secs)),
            None => Ok(()),
        }
    }

    /// Whether `user_id` is one of the relay's admins.
    pub fn is_admin(&self, user_id: &str) -> bool {
        self.admins.iter().any(|a| a == user_id)
    }

    /// One second of the moderation clock, `secs` times, in ms.
    pub fn seconds(&self, secs: i64) -> i64 {
        secs.saturating_mul(self.second_ms)
    }
}

impl Policy for Moderation {
    fn refuses(&self, channel: &str, sender_id: &str) -> Option<Refusal> {
        self.sanctions
            .refusal(channel, sender_id, crate::hub::now_ms())
    }

    fn unmarked(&self, channel: &str) -> Option<Mark> {
        self.blur_unmarked
            .contains(channel)
            .then_some(Mark::Unreviewed)
    }

    fn got_through(&self, channel: &str, event_id: &str) {
        let task = tasks::MatrixTask::Redact {
            channel: channel.to_string(),
            event_id: event_id.to_string(),
            reason: Some("sent while timed out or banned".into()),
        };
        let tasks = self.tasks.clone();
        tokio::spawn(async move {
            if let Err(e) = tasks.enqueue(task).await {
                tracing::warn!("queueing a redaction: {e}");
            }
        });
    }
}

/// Moderation's routes: sign-in, roles, actions, the log. Any origin may
/// call them (tokens travel in `Authorization`, never in cookies), unless
/// the relay lists `allowed_origins`.
pub fn routes(state: &AppState) -> Router<AppState> {
    let c = "/chat/v1/channels/{channel}";
    let m = "/chat/v1/channels/{channel}/moderation";
    let origins = &state.config.allowed_origins;
    let allow = if origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let cors = CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    Router::new()
        .route(&format!("{c}/me"), get(roles::me))
        .route(&format!("{c}/owners"), get(roles::list_owners))
        .route(
            &format!("{c}/owners/{{user_id}}"),
            put(roles::add_owner).delete(roles::remove_owner),
        )
        .route(&format!("{c}/moderators"), get(roles::list_moderators))
        .route(
            &format!("{c}/moderators/{{user_id}}"),
            put(roles::appoint).delete(roles::dismiss),
        )
        .route(&format!("{m}/timeouts"), post(actions::time_out))
        .route(
            &format!("{m}/timeouts/{{user_id}}"),
            delete(actions::lift_timeout),
        )
        .route(&format!("{m}/bans"), post(actions::ban))
        .route(&format!("{m}/bans/{{user_id}}"), delete(actions::unban))
        .route(&format!("{m}/marks/{{message_id}}"), put(content::mark))
        .route(
            &format!("{m}/messages/{{message_id}}"),
            delete(content::delete_message),
        )
        .route(&format!("{m}/users/{{user_id}}"), get(reads::user))
        .route(&format!("{m}/log"), get(reads::log))
        .layer(cors)
}

/// The anonymous part (behind the per-address quota): signing in, and a
/// person's standing, for guests who cannot prove who they are.
pub fn anonymous_routes() -> Router<AppState> {
    Router::new()
        .route("/chat/v1/session", post(session::start))
        .route(
            "/chat/v1/channels/{channel}/standing/{user_id}",
            get(reads::standing),
        )
}

/// The CORS layer for the anonymous routes (no credentials).
pub fn anonymous_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

/// The sanction log line's actor for the relay itself (expiry).
pub const RELAY: &str = "relay";

/// Keeps `Arc<Moderation>` nameable from `AppState`.
pub type Shared = Arc<Moderation>;

/// Appends a line to the channel's moderation log. A log that cannot be
/// written is reported, not fatal: the action itself is already done.
pub async fn log_action(
    m: &Moderation,
    channel: &str,
    actor: &str,
    action: &str,
    target: &str,
    reason: Option<String>,
    detail: Option<String>,
) {
    let line = db::LogLine {
        id: 0,
        ts: crate::hub::now_ms(),
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        reason,
        detail,
    };
    // What moderators did goes to the owners' moderators' rooms too;
    // refused attempts stay in the log only (a troll cannot flood a room).
    let room_line = (!action.starts_with("refused") && action != "matrix_failed").then(|| {
        let mut text = format!("[{channel}] {actor}: {action} {target}");
        if let Some(reason) = &line.reason {
            text.push_str(&format!(" — {reason}"));
        }
        if let Some(detail) = &line.detail {
            text.push_str(&format!(" ({detail})"));
        }
        text
    });
    if let Err(e) = m.records.log(channel, line).await {
        tracing::warn!("moderation log: {e}");
    }
    if let Some(text) = room_line.filter(|_| m.has_matrix) {
        match roles::owners(m, channel).await {
            Ok(owners) => mirror::mod_log(m, &owners, &text).await,
            Err(e) => tracing::warn!("moderators' room: {e}"),
        }
    }
}
