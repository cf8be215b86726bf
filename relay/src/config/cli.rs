//! The command-line flags (each also read from its `CHYRON_*` variable).

use clap::Parser;
use std::path::PathBuf;

/// Command-line flags; each also reads its `CHYRON_*` environment variable.
#[derive(Debug, Default, Parser)]
#[command(
    name = "chyron-relay",
    version,
    about = "Chyron relay: chat API, feed websockets and widget assets"
)]
pub struct Cli {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "CHYRON_LISTEN")]
    pub listen: Option<String>,
    /// Directory for the SQLite database [default: ./.data].
    #[arg(long, env = "CHYRON_DATA")]
    pub data: Option<PathBuf>,
    /// Directory of the built widget and pages [default: ./dist].
    #[arg(long, env = "CHYRON_DIST")]
    pub dist: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, env = "CHYRON_CONFIG")]
    pub config: Option<PathBuf>,
    /// Origins allowed to open the feed, comma separated [default: any].
    #[arg(long, env = "CHYRON_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,
    /// Public base URL, used in webhook URLs [default: from the request's Host].
    #[arg(long, env = "CHYRON_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Feed connections allowed from one IP address [default: 256].
    #[arg(long, env = "CHYRON_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<u32>,
    /// Chat API requests per second per token [default: 20].
    #[arg(long, env = "CHYRON_RATE_LIMIT_PER_SECOND")]
    pub rate_limit_per_second: Option<u32>,
    /// Chat API burst per token [default: 40].
    #[arg(long, env = "CHYRON_RATE_LIMIT_BURST")]
    pub rate_limit_burst: Option<u32>,
    /// Webhook posts per second per webhook [default: 5].
    #[arg(long, env = "CHYRON_WEBHOOK_RATE_LIMIT_PER_SECOND")]
    pub webhook_rate_limit_per_second: Option<u32>,
    /// Webhook burst per webhook [default: 20].
    #[arg(long, env = "CHYRON_WEBHOOK_RATE_LIMIT_BURST")]
    pub webhook_rate_limit_burst: Option<u32>,
    /// Messages in a snapshot when the viewer gives no `limit` [default: 50].
    #[arg(long, env = "CHYRON_HISTORY")]
    pub history: Option<u32>,
    /// Events held in memory per channel for resume [default: 1024].
    #[arg(long, env = "CHYRON_RESUME_BUFFER")]
    pub resume_buffer: Option<u32>,
    /// Live frames queued per channel before a slow viewer is resynced [default: 256].
    #[arg(long, env = "CHYRON_BROADCAST_CAPACITY")]
    pub broadcast_capacity: Option<u32>,
    /// Open TCP connections in all; more are answered 503 [default: 10000].
    #[arg(long, env = "CHYRON_MAX_CONNECTIONS")]
    pub max_connections: Option<u32>,
    /// Seconds to send a request's headers; also ends idle keep-alive connections [default: 10].
    #[arg(long, env = "CHYRON_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<u32>,
    /// Seconds an HTTP request may take, body included [default: 30].
    #[arg(long, env = "CHYRON_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: Option<u32>,
    /// Clustered mode: milliseconds the Matrix bridge lease lasts unless renewed;
    /// a dead holder's link is taken over within about this (min 300) [default: 15000].
    #[arg(long, env = "CHYRON_BRIDGE_LEASE_MS")]
    pub bridge_lease_ms: Option<u32>,
    /// Milliseconds one second of a moderation clock lasts (timeouts, karma
    /// decay); shorter only in tests [default: 1000].
    #[arg(long, env = "CHYRON_MODERATION_SECOND_MS")]
    pub moderation_second_ms: Option<u32>,
    /// Requests per second per client address to /hooks and /media [default: 20].
    #[arg(long, env = "CHYRON_ANONYMOUS_RATE_LIMIT_PER_SECOND")]
    pub anonymous_rate_limit_per_second: Option<u32>,
    /// Burst per client address to /hooks and /media [default: 100].
    #[arg(long, env = "CHYRON_ANONYMOUS_RATE_LIMIT_BURST")]
    pub anonymous_rate_limit_burst: Option<u32>,
    /// Loads of channels not in memory per client address per minute [default: 60].
    #[arg(long, env = "CHYRON_CHANNEL_LOADS_PER_MINUTE")]
    pub channel_loads_per_minute: Option<u32>,
    /// Burst of channel loads per client address [default: 60].
    #[arg(long, env = "CHYRON_CHANNEL_LOAD_BURST")]
    pub channel_load_burst: Option<u32>,
    /// Channels held in memory at most [default: 50000].
    #[arg(long, env = "CHYRON_MAX_CHANNELS_LOADED")]
    pub max_channels_loaded: Option<u32>,
    /// Bytes being written to one client address's feeds at once [default: 8388608].
    #[arg(long, env = "CHYRON_MAX_UNSENT_BYTES_PER_IP")]
    pub max_unsent_bytes_per_ip: Option<u32>,
    /// Bytes being written to all feeds together [default: 134217728].
    #[arg(long, env = "CHYRON_MAX_UNSENT_BYTES")]
    pub max_unsent_bytes: Option<u32>,
    /// Redis URL (redis://host:port/db or redis+unix:///path); setting it
    /// runs this relay as one node of a cluster sharing that Redis [default: off].
    #[arg(long, env = "CHYRON_REDIS")]
    pub redis: Option<String>,
    /// Load balancers or proxies in front of this relay, comma separated
    /// addresses or CIDR ranges: a request from one of them counts against
    /// the client address it recorded in X-Forwarded-For [default: none].
    #[arg(long, env = "CHYRON_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// The relay's admins, comma separated Matrix user ids: moderators of
    /// every channel, who read any public channel unnoticed [default: none].
    #[arg(long, env = "CHYRON_ADMINS", value_delimiter = ',')]
    pub admins: Option<Vec<String>>,
    /// PostgreSQL URL (postgres://user@host/db or postgres:///db?host=/socket/dir),
    /// clustered mode only (needs --redis): every node writes the events it
    /// applies there, behind, and reads history Redis no longer holds [default: off].
    #[arg(long, env = "CHYRON_DATABASE")]
    pub database: Option<String>,
    /// Matrix homeserver URL; setting it turns the Matrix bridge on [default: off].
    #[arg(long, env = "CHYRON_MATRIX_HOMESERVER")]
    pub matrix_homeserver: Option<String>,
    /// The bridge bot's Matrix user id (@chyron:example.org). Its password or
    /// token comes from CHYRON_MATRIX_PASSWORD or CHYRON_MATRIX_TOKEN only.
    #[arg(long, env = "CHYRON_MATRIX_USER")]
    pub matrix_user: Option<String>,
    /// Bridged rooms, comma separated channel=#alias:server or channel=!roomid:server.
    #[arg(long, env = "CHYRON_BRIDGE", value_delimiter = ',')]
    pub bridge: Option<Vec<String>>,
    /// Whether a kick in a bridged room clears the user's lines, like a ban [default: false].
    #[arg(long, env = "CHYRON_BRIDGE_CLEAR_ON_KICK")]
    pub bridge_clear_on_kick: Option<bool>,
    /// Room messages brought into a channel the first time it is bridged, 0 to 200 [default: 50].
    #[arg(long, env = "CHYRON_BRIDGE_BACKFILL")]
    pub bridge_backfill: Option<u32>,
    /// Channels offered to the full chat, comma separated, the main one first
    /// [default: the bridged channels].
    #[arg(long, env = "CHYRON_PUBLIC_CHANNELS", value_delimiter = ',')]
    pub public_channels: Option<Vec<String>>,
    /// The homeserver URL as browsers reach it, for the full chat
    /// [default: the --matrix-homeserver URL].
    #[arg(long, env = "CHYRON_MATRIX_PUBLIC_HOMESERVER")]
    pub matrix_public_homeserver: Option<String>,
}
