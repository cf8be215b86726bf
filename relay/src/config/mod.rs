//! Configuration: flags > environment > TOML file > defaults.
//!
//! The API token is read only from `CHYRON_API_TOKEN` or the file, never from a
//! flag (flags show in process lists), and is kept only as a SHA-256 digest.

pub mod chat;
mod cli;
mod file;
mod values;

pub use cli::Cli;

pub use values::{check_http_url, ApiToken, DatabaseUrl, Limits, RedisUrl};

use crate::bridge;
use crate::bridge::config::{MatrixConfig, MatrixInput, Secret};
use file::{read_file, FileConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use values::check_origin;

/// Secrets taken from the environment only, never from flags.
#[derive(Default)]
pub struct EnvSecrets {
    /// `CHYRON_API_TOKEN`.
    pub api_token: Option<String>,
    /// `CHYRON_MATRIX_PASSWORD`.
    pub matrix_password: Option<String>,
    /// `CHYRON_MATRIX_TOKEN`.
    pub matrix_token: Option<String>,
}

impl EnvSecrets {
    /// Reads the process environment (empty values count as unset).
    pub fn from_env() -> EnvSecrets {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        EnvSecrets {
            api_token: var("CHYRON_API_TOKEN"),
            matrix_password: var("CHYRON_MATRIX_PASSWORD"),
            matrix_token: var("CHYRON_MATRIX_TOKEN"),
        }
    }
}

/// The relay's resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (used by `main`; `run` takes a bound listener).
    pub listen: SocketAddr,
    /// Directory holding `chyron.sqlite3`.
    pub data_dir: PathBuf,
    /// Directory of static files served at `/`.
    pub dist_dir: PathBuf,
    /// Origins allowed to open the feed; empty means any.
    pub allowed_origins: Vec<String>,
    /// Base URL for webhook URLs, without a trailing slash.
    pub public_url: Option<String>,
    /// Tokens accepted by the Chat API; empty means the API refuses everything.
    pub api_tokens: Vec<ApiToken>,
    /// Limits against abuse and slow viewers.
    pub limits: Limits,
    /// The Matrix bridge, when a homeserver is configured.
    pub matrix: Option<MatrixConfig>,
    /// The channels offered to the full chat (`GET /chat/channels`).
    pub chat: chat::ChatConfig,
    /// Redis, in clustered mode: it numbers every channel's events for all
    /// the relays sharing it (`None`: this relay alone, SQLite).
    pub redis: Option<RedisUrl>,
    /// Proxies whose `X-Forwarded-For` names the client ([`crate::client`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// PostgreSQL, in clustered mode only: the durable history all the
    /// nodes share, written behind (`None`: Redis's recent history only).
    pub database: Option<DatabaseUrl>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./.data"),
            dist_dir: PathBuf::from("./dist"),
            allowed_origins: Vec::new(),
            public_url: None,
            api_tokens: Vec::new(),
            limits: Limits::default(),
            matrix: None,
            chat: chat::ChatConfig::default(),
            redis: None,
            trusted_proxies: Vec::new(),
            database: None,
        }
    }
}

/// A configuration mistake; `main` prints it and exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Shortest bridge lease: renewals every third of it must fit Redis calls.
pub const MIN_BRIDGE_LEASE_MS: u32 = 300;

impl Config {
    /// Resolves flags (which clap already merged with the environment), the
    /// `CHYRON_API_TOKEN` value and the file named by `--config`.
    pub fn resolve(cli: Cli, env_token: Option<String>) -> Result<Config, ConfigError> {
        Config::resolve_with(
            cli,
            EnvSecrets {
                api_token: env_token,
                ..EnvSecrets::default()
            },
        )
    }

    /// [`Config::resolve`] with every secret the environment may hold.
    pub fn resolve_with(cli: Cli, env: EnvSecrets) -> Result<Config, ConfigError> {
        let env_token = env.api_token;
        let (file, file_name) = match &cli.config {
            Some(path) => (read_file(path)?, path.display().to_string()),
            None => (FileConfig::default(), String::new()),
        };
        let from = |flag: bool| {
            if flag {
                "flag or environment".to_string()
            } else {
                format!("file {file_name}")
            }
        };
        let mut config = Config::default();
        if let Some((listen, by_flag)) = pick(cli.listen, file.listen) {
            config.listen = listen.parse().map_err(|e| {
                ConfigError(format!(
                    "`listen` ({}): {listen:?} is not an address like 127.0.0.1:8080: {e}",
                    from(by_flag)
                ))
            })?;
        }
        if let Some((data, _)) = pick(cli.data, file.data) {
            config.data_dir = data;
        }
        if let Some((dist, _)) = pick(cli.dist, file.dist) {
            config.dist_dir = dist;
        }
        if let Some((origins, by_flag)) = pick(cli.allowed_origins, file.allowed_origins) {
            for origin in origins.iter().filter(|o| !o.is_empty()) {
                check_origin(origin).map_err(|why| {
                    ConfigError(format!(
                        "`allowed_origins` ({}): {origin:?} {why}",
                        from(by_flag)
                    ))
                })?;
                config.allowed_origins.push(origin.clone());
            }
        }
        if let Some((url, by_flag)) = pick(cli.public_url, file.public_url) {
            let trimmed = url.trim_end_matches('/');
            check_origin(trimmed)
                .or_else(|_| check_http_url(trimmed))
                .map_err(|why| {
                    ConfigError(format!("`public_url` ({}): {url:?} {why}", from(by_flag)))
                })?;
            config.public_url = Some(trimmed.to_string());
        }
        if let Some((url, by_flag)) = pick(cli.redis, file.redis) {
            // The URL is not repeated: it may hold a password.
            crate::cluster::check_url(&url)
                .map_err(|why| ConfigError(format!("`redis` ({}): {why}", from(by_flag))))?;
            config.redis = Some(RedisUrl(url));
        }
        if let Some((list, by_flag)) = pick(cli.trusted_proxies, file.trusted_proxies) {
            config.trusted_proxies = values::parse_proxies(&list).map_err(|why| {
                ConfigError(format!("`trusted_proxies` ({}): {why}", from(by_flag)))
            })?;
        }
        if let Some((url, by_flag)) = pick(cli.database, file.database) {
            let key = format!("`database` ({})", from(by_flag));
            crate::durable::check_url(&url).map_err(|why| ConfigError(format!("{key}: {why}")))?;
            if config.redis.is_none() {
                return Err(ConfigError(format!(
                    "{key} needs `redis` too: PostgreSQL is the shared history of clustered \
                     mode (--redis URL); a single relay keeps its history in SQLite under --data"
                )));
            }
            config.database = Some(DatabaseUrl(url));
        }
        let tokens = env_token
            .into_iter()
            .chain(file.api_token)
            .chain(file.api_tokens.unwrap_or_default());
        for token in tokens {
            if token.trim().is_empty() {
                return Err(ConfigError("an API token is empty".into()));
            }
            config.api_tokens.push(ApiToken::new(&token));
        }
        let l = &mut config.limits;
        let num = |key: &str, flag: Option<u32>, file: Option<u32>| match pick(flag, file) {
            Some((0, by_flag)) => Err(ConfigError(format!(
                "`{key}` ({}) must be at least 1",
                from(by_flag)
            ))),
            other => Ok(other.map(|(v, _)| v)),
        };
        for (key, flag, file, field) in [
            (
                "max_connections_per_ip",
                cli.max_connections_per_ip,
                file.max_connections_per_ip,
                &mut l.max_connections_per_ip,
            ),
            (
                "rate_limit_per_second",
                cli.rate_limit_per_second,
                file.rate_limit_per_second,
                &mut l.rate_limit_per_second,
            ),
            (
                "rate_limit_burst",
                cli.rate_limit_burst,
                file.rate_limit_burst,
                &mut l.rate_limit_burst,
            ),
            (
                "webhook_rate_limit_per_second",
                cli.webhook_rate_limit_per_second,
                file.webhook_rate_limit_per_second,
                &mut l.webhook_rate_limit_per_second,
            ),
            (
                "webhook_rate_limit_burst",
                cli.webhook_rate_limit_burst,
                file.webhook_rate_limit_burst,
                &mut l.webhook_rate_limit_burst,
            ),
            (
                "max_connections",
                cli.max_connections,
                file.max_connections,
                &mut l.max_connections,
            ),
            (
                "header_read_timeout_secs",
                cli.header_read_timeout_secs,
                file.header_read_timeout_secs,
                &mut l.header_read_timeout_secs,
            ),
            (
                "request_timeout_secs",
                cli.request_timeout_secs,
                file.request_timeout_secs,
                &mut l.request_timeout_secs,
            ),
            (
                "anonymous_rate_limit_per_second",
                cli.anonymous_rate_limit_per_second,
                file.anonymous_rate_limit_per_second,
                &mut l.anonymous_rate_limit_per_second,
            ),
            (
                "anonymous_rate_limit_burst",
                cli.anonymous_rate_limit_burst,
                file.anonymous_rate_limit_burst,
                &mut l.anonymous_rate_limit_burst,
            ),
            (
                "channel_loads_per_minute",
                cli.channel_loads_per_minute,
                file.channel_loads_per_minute,
                &mut l.channel_loads_per_minute,
            ),
            (
                "channel_load_burst",
                cli.channel_load_burst,
                file.channel_load_burst,
                &mut l.channel_load_burst,
            ),
            (
                "max_channels_loaded",
                cli.max_channels_loaded,
                file.max_channels_loaded,
                &mut l.max_channels_loaded,
            ),
            (
                "max_unsent_bytes_per_ip",
                cli.max_unsent_bytes_per_ip,
                file.max_unsent_bytes_per_ip,
                &mut l.max_unsent_bytes_per_ip,
            ),
            (
                "max_unsent_bytes",
                cli.max_unsent_bytes,
                file.max_unsent_bytes,
                &mut l.max_unsent_bytes,
            ),
            (
                "bridge_lease_ms",
                cli.bridge_lease_ms,
                file.bridge_lease_ms,
                &mut l.bridge_lease_ms,
            ),
            (
                "moderation_second_ms",
                cli.moderation_second_ms,
                file.moderation_second_ms,
                &mut l.moderation_second_ms,
            ),
        ] {
            if let Some(v) = num(key, flag, file)? {
                *field = v;
            }
        }
        if l.bridge_lease_ms < MIN_BRIDGE_LEASE_MS {
            return Err(ConfigError(format!(
                "bridge_lease_ms must be at least {MIN_BRIDGE_LEASE_MS}"
            )));
        }
        for (key, flag, file, field) in [
            ("history", cli.history, file.history, &mut l.history),
            (
                "resume_buffer",
                cli.resume_buffer,
                file.resume_buffer,
                &mut l.resume_buffer,
            ),
            (
                "broadcast_capacity",
                cli.broadcast_capacity,
                file.broadcast_capacity,
                &mut l.broadcast_capacity,
            ),
        ] {
            if let Some(v) = num(key, flag, file)? {
                *field = v as usize;
            }
        }
        if config.limits.history > 200 {
            return Err(ConfigError("`history` must be at most 200".into()));
        }
        let secret = |env: Option<String>, file: Option<String>| env.or(file).map(Secret::new);
        config.matrix = bridge::config::resolve(MatrixInput {
            homeserver: cli.matrix_homeserver.or(file.matrix_homeserver),
            user: cli.matrix_user.or(file.matrix_user),
            password: secret(env.matrix_password, file.matrix_password),
            token: secret(env.matrix_token, file.matrix_token),
            pairs: cli.bridge.or(file.bridge).unwrap_or_default(),
            clear_on_kick: cli.bridge_clear_on_kick.or(file.bridge_clear_on_kick),
            backfill: cli.bridge_backfill.or(file.bridge_backfill),
        })
        .map_err(ConfigError)?;
        config.chat = chat::resolve(chat::ChatInput {
            public_channels: cli.public_channels.or(file.public_channels),
            public_homeserver: cli
                .matrix_public_homeserver
                .or(file.matrix_public_homeserver),
            channels: file.channels.unwrap_or_default(),
            admins: cli.admins.or(file.admins),
        })?;
        Ok(config)
    }
}

/// The flag (or env) value if given, else the file's; with "came from flag".
fn pick<T>(flag: Option<T>, file: Option<T>) -> Option<(T, bool)> {
    match (flag, file) {
        (Some(v), _) => Some((v, true)),
        (None, Some(v)) => Some((v, false)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests;
