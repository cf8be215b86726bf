//! The TOML file named by `--config`: its keys, each the snake_case name of
//! a flag, and reading it.

use super::{chat, ConfigError};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The TOML file's keys; unknown keys are errors so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    /// Same as `--listen`.
    pub(super) listen: Option<String>,
    /// Same as `--data`; relative paths are relative to the working directory.
    pub(super) data: Option<PathBuf>,
    /// Same as `--dist`.
    pub(super) dist: Option<PathBuf>,
    /// Same as `--allowed-origins`.
    pub(super) allowed_origins: Option<Vec<String>>,
    /// Same as `--public-url`.
    pub(super) public_url: Option<String>,
    /// Same as `--redis` (the file suits a URL with a password).
    pub(super) redis: Option<String>,
    /// Same as `--admins`.
    pub(super) admins: Option<Vec<String>>,
    /// Same as `--trusted-proxies`.
    pub(super) trusted_proxies: Option<Vec<String>>,
    /// Same as `--database` (the file suits a URL with a password).
    pub(super) database: Option<String>,
    /// One API token (the file is the only place besides the environment).
    pub(super) api_token: Option<String>,
    /// Several API tokens, e.g. one per integration, rate limited separately.
    pub(super) api_tokens: Option<Vec<String>>,
    /// Same as `--max-connections-per-ip`.
    pub(super) max_connections_per_ip: Option<u32>,
    /// Same as `--rate-limit-per-second`.
    pub(super) rate_limit_per_second: Option<u32>,
    /// Same as `--rate-limit-burst`.
    pub(super) rate_limit_burst: Option<u32>,
    /// Same as `--webhook-rate-limit-per-second`.
    pub(super) webhook_rate_limit_per_second: Option<u32>,
    /// Same as `--webhook-rate-limit-burst`.
    pub(super) webhook_rate_limit_burst: Option<u32>,
    /// Same as `--history`.
    pub(super) history: Option<u32>,
    /// Same as `--resume-buffer`.
    pub(super) resume_buffer: Option<u32>,
    /// Same as `--broadcast-capacity`.
    pub(super) broadcast_capacity: Option<u32>,
    /// Same as `--max-connections`.
    pub(super) max_connections: Option<u32>,
    /// Same as `--header-read-timeout-secs`.
    pub(super) header_read_timeout_secs: Option<u32>,
    /// Same as `--request-timeout-secs`.
    pub(super) request_timeout_secs: Option<u32>,
    /// Same as `--moderation-second-ms`.
    pub(super) moderation_second_ms: Option<u32>,
    /// Same as `--bridge-lease-ms`.
    pub(super) bridge_lease_ms: Option<u32>,
    /// Same as `--anonymous-rate-limit-per-second`.
    pub(super) anonymous_rate_limit_per_second: Option<u32>,
    /// Same as `--anonymous-rate-limit-burst`.
    pub(super) anonymous_rate_limit_burst: Option<u32>,
    /// Same as `--channel-loads-per-minute`.
    pub(super) channel_loads_per_minute: Option<u32>,
    /// Same as `--channel-load-burst`.
    pub(super) channel_load_burst: Option<u32>,
    /// Same as `--max-channels-loaded`.
    pub(super) max_channels_loaded: Option<u32>,
    /// Same as `--max-unsent-bytes-per-ip`.
    pub(super) max_unsent_bytes_per_ip: Option<u32>,
    /// Same as `--max-unsent-bytes`.
    pub(super) max_unsent_bytes: Option<u32>,
    /// Same as `--matrix-homeserver`.
    pub(super) matrix_homeserver: Option<String>,
    /// Same as `--matrix-user`.
    pub(super) matrix_user: Option<String>,
    /// The bot's password (the file is the only place besides the environment).
    pub(super) matrix_password: Option<String>,
    /// The bot's access token, instead of a password.
    pub(super) matrix_token: Option<String>,
    /// Same as `--bridge`, as a list of `channel=room` strings.
    pub(super) bridge: Option<Vec<String>>,
    /// Same as `--bridge-clear-on-kick`.
    pub(super) bridge_clear_on_kick: Option<bool>,
    /// Same as `--bridge-backfill`.
    pub(super) bridge_backfill: Option<u32>,
    /// Same as `--public-channels`.
    pub(super) public_channels: Option<Vec<String>>,
    /// Same as `--matrix-public-homeserver`.
    pub(super) matrix_public_homeserver: Option<String>,
    /// Titles and rules per channel: `[channels.NAME]`.
    pub(super) channels: Option<std::collections::BTreeMap<String, chat::ChannelFile>>,
}

pub(super) fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))
}
