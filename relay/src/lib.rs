//! Chyron relay: holds each channel's chat, serves the HTTP Chat API and
//! webhooks, fans events out to viewers over `GET /feed/{channel}`, and serves
//! the widget's files. The wire types are in `chyron-protocol`; the HTTP API is in README.md.
//!
//! [`app`] builds the router from an [`AppState`]; [`run`] serves it on a bound
//! listener until a shutdown future completes.

pub mod api;
pub mod bridge;
pub mod client;
pub mod cluster;
pub mod config;
pub mod directory;
pub mod durable;
pub mod error;
pub mod event;
pub mod feed;
pub mod html;
pub mod hub;
pub mod info;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod moderation;
pub mod node;
pub mod pages;
pub mod quota;
pub mod records;
pub mod serve;
pub mod store;
pub mod user_id;
pub mod webhooks;

use crate::config::Config;
use crate::error::ApiError;
use crate::feed::ConnLimiter;
use crate::hub::{Hub, HubLimits};
use crate::limits::PerAddress;
use crate::metrics::Metrics;
use crate::quota::Limiter;
use crate::store::Store;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The resolved configuration (origins, limits, tokens, public URL).
    pub config: Arc<Config>,
    /// Channels, their event logs and fan-out.
    pub hub: Arc<Hub>,
    /// Counters and gauges for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Chat API request rate per token index.
    pub api_limiter: Arc<Limiter<usize>>,
    /// Webhook post rate per webhook id.
    pub hook_limiter: Arc<Limiter<String>>,
    /// Feed connections per client IP.
    pub conns: Arc<ConnLimiter>,
    /// Anonymous requests, channel loads and unsent feed bytes per client IP.
    pub per_address: Arc<PerAddress>,
    /// Previews of bridged attachments, fetched through the bridge's client.
    pub thumbnails: Arc<bridge::thumbnails::Thumbnails>,
    /// The bridged rooms the full chat may join (`GET /chat/channels`).
    pub chat_rooms: Arc<directory::ChatRooms>,
    /// The DJs marked live per channel (`…/live`, `GET /chat/channels`).
    pub live: Arc<live::LiveDjs>,
    /// Roles, timeouts, bans, karma and the moderation log.
    pub moderation: Arc<moderation::Moderation>,
    /// Who is here: feed sockets and chatters present per channel (`…/people`).
    pub people: Arc<info::people::People>,
    /// Redis, in clustered mode: it orders events and keeps the records every
    /// node must agree on (webhooks, live marks, bridged rooms, shared limits).
    pub cluster: Option<Arc<cluster::Cluster>>,
    /// Becomes `true` when the relay shuts down, so feeds close.
    pub shutdown: watch::Receiver<bool>,
}

impl AppState {
    /// State over an opened store; `shutdown` turns `true` when feeds must close.
    pub fn new(config: Config, store: Store, shutdown: watch::Receiver<bool>) -> AppState {
        AppState::with_log(config, store, hub::Log::Local, None, shutdown)
    }

    /// [`AppState::new`] with events numbered by `log` (clustered mode) and
    /// written behind to `durable` (PostgreSQL, `--database`).
    pub fn with_log(
        config: Config,
        store: Store,
        log: hub::Log,
        durable: Option<Arc<durable::Durable>>,
        shutdown: watch::Receiver<bool>,
    ) -> AppState {
        let metrics = Arc::new(Metrics::default());
        let l = &config.limits;
        let limits = HubLimits {
            history: l.history,
            resume_buffer: l.resume_buffer,
            broadcast_capacity: l.broadcast_capacity,
            max_channels: l.max_channels_loaded as usize,
        };
        let bridged = config
            .matrix
            .iter()
            .flat_map(|m| m.rooms.iter().map(|r| r.channel.clone()))
            .collect();
        let second = Duration::from_secs(1);
        let api_limiter = Limiter::new("api", l.rate_limit_per_second, second, l.rate_limit_burst);
        let hook_limiter = Limiter::new(
            "hook",
            l.webhook_rate_limit_per_second,
            second,
            l.webhook_rate_limit_burst,
        );
        let per_address = Arc::new(PerAddress::new(l, metrics.unsent_bytes.clone()));
        let cluster = log.cluster().cloned();
        let moderation = Arc::new(moderation::Moderation::new(
            store.clone(),
            cluster.clone(),
            &config,
        ));
        AppState {
            live: Arc::new(live::LiveDjs::new(store.clone(), cluster.clone())),
            people: Arc::default(),
            cluster,
            hub: Arc::new(
                Hub::new(store, limits, metrics.clone(), bridged)
                    .with_log(log)
                    .with_durable(durable)
                    .with_policy(moderation.clone()),
            ),
            moderation,
            metrics,
            api_limiter: Arc::new(api_limiter),
            hook_limiter: Arc::new(hook_limiter),
            conns: Arc::new(ConnLimiter::default()),
            per_address,
            thumbnails: Arc::default(),
            chat_rooms: Arc::default(),
            shutdown,
            config: Arc::new(config),
        }
    }
}

/// The relay's routes.
pub fn app(state: AppState) -> Router {
    let statics = pages::static_files(&state.config.dist_dir);
    // Anonymous endpoints that reach the database: each client address gets
    // its quota first.
    let anonymous = Router::new()
        .route("/hooks/{id}/{secret}", post(webhooks::hook))
        .route(
            "/media/{channel}/{id}/thumbnail",
            get(bridge::thumbnails::handler),
        )
        .route("/chat/channels", get(directory::handler))
        .merge(moderation::anonymous_routes().layer(moderation::anonymous_cors()))
        .merge(info::routes())
        .route(
            "/media/{channel}/avatars/{key}",
            get(bridge::thumbnails::avatar_handler),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limits::anonymous,
        ));
    let timeout = Duration::from_secs(state.config.limits.request_timeout_secs.into());
    Router::new()
        .merge(api::routes())
        .merge(webhooks::routes())
        .merge(live::routes())
        .merge(moderation::routes(&state))
        .merge(anonymous)
        .route("/api/{*rest}", any(api_not_found))
        .route("/feed/{channel}", get(feed::handler))
        // The page carries embed.js inline: brotli makes that ~1.3 KB.
        .route(
            "/overlay/{channel}",
            get(pages::overlay).layer(pages::compression()),
        )
        .route("/healthz", get(pages::healthz))
        .route("/metrics", get(pages::metrics))
        .fallback_service(statics)
        .layer(DefaultBodyLimit::max(
            chyron_protocol::limits::MAX_REQUEST_BYTES,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), count_status))
        .layer(middleware::from_fn_with_state(timeout, time_limit))
        .with_state(state)
}

/// Ends a request (body included) that takes longer than the configured
/// `request_timeout_secs` with a `408` JSON error.
async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request took longer than {} s", limit.as_secs()),
        )
        .into_response(),
    }
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("no such API endpoint or method")
}

async fn count_status(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    state.metrics.http(res.status().as_u16());
    res
}

/// Lets the per-address limiters forget addresses not seen lately, every
/// [`limits::FORGET_EVERY`], until the relay stops.
async fn forget_idle(per_address: Arc<PerAddress>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(limits::FORGET_EVERY) => per_address.forget_idle(),
        }
    }
}

/// Serves the relay on `listener` until `shutdown` completes, then closes
/// feeds (1001) and finishes in-flight requests.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&dir))
        .await
        .map_err(std::io::Error::other)?
        .map_err(|e| {
            std::io::Error::other(format!(
                "opening the database in {}: {e}",
                config.data_dir.display()
            ))
        })?;
    if config.api_tokens.is_empty() {
        tracing::warn!(
            "no API token configured (CHYRON_API_TOKEN or api_token in the config file): \
             the Chat API refuses every request"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let matrix = config.matrix.clone();
    let data_dir = config.data_dir.clone();
    let (log, heard) = match &config.redis {
        None => (hub::Log::Local, None),
        Some(url) => {
            let keep = config.limits.resume_buffer;
            let (cluster, heard) = cluster::Cluster::connect(&url.0, keep, stop_rx.clone())
                .await
                .map_err(|e| {
                    std::io::Error::other(format!("connecting to Redis (--redis): {e}"))
                })?;
            tracing::info!("clustered mode: events numbered by Redis");
            (hub::Log::Redis(cluster), Some(heard))
        }
    };
    // The durable history (`--database`), written behind by a task of its own.
    let durable = match (&config.database, log.cluster()) {
        (Some(url), Some(cluster)) => {
            let bound = durable::writer::MAX_BACKLOG_BYTES;
            let durable = durable::Durable::connect(&url.0, bound)
                .await
                .map_err(|e| {
                    std::io::Error::other(format!("connecting to PostgreSQL (--database): {e}"))
                })?;
            let writer = durable::writer::run(durable.clone(), cluster.clone(), stop_rx.clone());
            tracing::info!("events written behind to postgresql");
            Some((durable, tokio::spawn(writer)))
        }
        _ => None,
    };
    let handle = durable.as_ref().map(|(d, _)| d.clone());
    let state = AppState::with_log(config, store, log, handle, stop_rx.clone());
    // Timeouts and bans in force, before any post can arrive.
    state
        .moderation
        .load()
        .await
        .map_err(|e| std::io::Error::other(format!("reading moderation records: {e}")))?;
    let expiry = tokio::spawn(moderation::expiry::run(state.clone(), stop_rx.clone()));
    // Clustered: the sanctions other nodes put or lift, followed from Redis.
    let sanctions_follower = state.cluster.as_ref().map(|_| {
        let m = state.moderation.clone();
        tokio::spawn(moderation::records::follow(m, stop_rx.clone()))
    });
    // Events other nodes append, as Redis pub/sub brings them.
    let follower = heard.map(|heard| tokio::spawn(hub::follow(state.hub.clone(), heard)));
    // This node's figures, for the cluster's view in every node's /metrics.
    let reporter = state.cluster.clone().map(|cluster| {
        let id = hex::encode(hub::random_bytes::<6>().unwrap_or_default());
        tracing::info!(node = %id, "reporting to the cluster's view");
        state.people.set_node(&id);
        let task = node::report(id, cluster, state.metrics.clone(), stop_rx.clone());
        tokio::spawn(task)
    });
    // This node's feed sockets per public channel, for every node's `…/people`.
    let viewers_sharer = state.cluster.clone().map(|cluster| {
        let public = state.config.chat.public(state.config.matrix.as_ref());
        let task =
            info::shared::share_viewers(state.people.clone(), cluster, public, stop_rx.clone());
        tokio::spawn(task)
    });
    // The bridged rooms this node joins, for every node's directory.
    let rooms_sharer = state.cluster.clone().map(|cluster| {
        let rooms = state.chat_rooms.clone();
        tokio::spawn(directory::share_rooms(rooms, cluster, stop_rx.clone()))
    });
    let bridge = matrix.map(|m| {
        tracing::info!(
            homeserver = %m.homeserver,
            rooms = m.rooms.len(),
            "matrix bridge enabled"
        );
        let (hub, thumbnails, rooms) = (
            state.hub.clone(),
            state.thumbnails.clone(),
            state.chat_rooms.clone(),
        );
        match state.cluster.clone() {
            // Clustered: only the lease holder runs the link.
            Some(cluster) => {
                let lease = bridge::lease::Leased {
                    cluster,
                    node: bridge::lease::node_id(),
                    ttl: Duration::from_millis(state.config.limits.bridge_lease_ms.into()),
                    state: state.clone(),
                };
                let run =
                    bridge::lease::run(lease, m, hub, thumbnails, rooms, data_dir, stop_rx.clone());
                tokio::spawn(run)
            }
            None => {
                let state = state.clone();
                bridge::spawn(m, hub, thumbnails, rooms, state, data_dir, stop_rx.clone())
            }
        }
    });
    let sweeper = tokio::spawn(hub::sweep_idle(state.hub.clone(), state.shutdown.clone()));
    let forgetter = tokio::spawn(forget_idle(state.per_address.clone(), stop_rx.clone()));
    let people = (state.people.clone(), state.hub.store().clone());
    let presences = tokio::spawn(info::sweep(people.0, people.1, stop_rx.clone()));
    let l = &state.config.limits;
    let limits = serve::ServeLimits {
        max_connections: l.max_connections as usize,
        header_read_timeout: Duration::from_secs(l.header_read_timeout_secs.into()),
    };
    let metrics = state.metrics.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let served = serve::serve(listener, app(state), limits, metrics, stop_rx).await;
    let _ = forgetter.await;
    let _ = presences.await;
    // The sender is gone by now (sent or dropped), so the bridge and the
    // sweeper are stopping.
    if let Some(task) = bridge {
        let _ = task.await;
    }
    let _ = sweeper.await;
    let _ = expiry.await;
    if let Some(task) = sanctions_follower {
        let _ = task.await;
    }
    if let Some(task) = reporter {
        let _ = task.await;
    }
    if let Some(task) = viewers_sharer {
        let _ = task.await;
    }
    if let Some(task) = rooms_sharer {
        let _ = task.await;
    }
    if let Some(task) = follower {
        // Ends once the pub/sub connection (stopped above) drops its sender.
        let _ = task.await;
    }
    if let Some((_, writer)) = durable {
        // Writes what is still queued, then ends (stop was sent above).
        let _ = writer.await;
    }
    served
}
