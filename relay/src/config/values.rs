//! The configuration's value types and the checks of its URLs.

use sha2::{Digest, Sha256};

/// An API token, kept only as its SHA-256 so it cannot be logged by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// SHA-256 of the token: compared in constant time with the presented one's.
    pub digest: [u8; 32],
}

impl ApiToken {
    /// The digest of a token as configured or presented.
    pub fn new(token: &str) -> Self {
        ApiToken {
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// A Redis URL (`--redis`); it may hold a password, so it is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(pub String);

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisUrl(<redacted>)")
    }
}

/// The `trusted_proxies` entries: addresses (one host) or CIDR ranges.
pub fn parse_proxies(list: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| format!("{s:?} is not an address or a range like 10.0.0.0/8"))
        })
        .collect()
}

/// A PostgreSQL URL (`--database`); it may hold a password, so it is never
/// printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub String);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// Numeric limits; each protects the relay or its viewers from one abuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Feed connections per client IP, so one host cannot exhaust sockets.
    pub max_connections_per_ip: u32,
    /// Sustained Chat API requests per second per token.
    pub rate_limit_per_second: u32,
    /// Chat API burst per token, for short legitimate spikes.
    pub rate_limit_burst: u32,
    /// Sustained posts per second per webhook (webhook URLs leak more easily).
    pub webhook_rate_limit_per_second: u32,
    /// Webhook burst per webhook.
    pub webhook_rate_limit_burst: u32,
    /// Default snapshot size for viewers that do not ask.
    pub history: usize,
    /// Events kept in memory per channel: how far back a viewer can resume.
    pub resume_buffer: usize,
    /// Live frames queued per channel; a viewer further behind is resynced.
    pub broadcast_capacity: usize,
    /// Open TCP connections in all: over it a connection is answered `503`
    /// and closed, so file descriptors never run out.
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers; it also ends an idle
    /// keep-alive connection (slowloris, half-sent requests).
    pub header_read_timeout_secs: u32,
    /// Seconds an HTTP request may take, body included (slow bodies).
    pub request_timeout_secs: u32,
    /// Sustained requests per second per client address on the anonymous
    /// endpoints that reach the database (`/hooks/…`, `/media/…`).
    pub anonymous_rate_limit_per_second: u32,
    /// Burst of those requests per client address.
    pub anonymous_rate_limit_burst: u32,
    /// Sustained loads of channels not in memory per client address per
    /// minute (feeds of made-up names).
    pub channel_loads_per_minute: u32,
    /// Burst of those loads per client address.
    pub channel_load_burst: u32,
    /// Channels held in memory at most; past it idle channels are dropped at
    /// once, and a new one is refused (`503`) only if all are in use.
    pub max_channels_loaded: u32,
    /// Bytes of frames being written to one client address's feeds at once
    /// (snapshots to sockets that never read); past it a feed is closed.
    pub max_unsent_bytes_per_ip: u32,
    /// Bytes of frames being written to all feeds together: what many
    /// addresses together can make the relay hold; past it a feed is closed.
    pub max_unsent_bytes: u32,
    /// Clustered mode: how long the Matrix bridge lease lasts unless renewed
    /// (renewed every third of it): a dead holder's link is taken over
    /// within about this. Short only in tests.
    pub bridge_lease_ms: u32,
    /// How long one second of the moderation clock lasts, in milliseconds:
    /// timeouts (2–10 minutes) and karma's decay are counted in it, so a
    /// test can run a 2-minute timeout in 1.2 s. 1000 in production.
    pub moderation_second_ms: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections_per_ip: 256,
            rate_limit_per_second: 20,
            rate_limit_burst: 40,
            webhook_rate_limit_per_second: 5,
            webhook_rate_limit_burst: 20,
            history: chyron_protocol::limits::DEFAULT_SNAPSHOT_MESSAGES,
            resume_buffer: 1024,
            broadcast_capacity: 256,
            max_connections: 10_000,
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            anonymous_rate_limit_per_second: 20,
            anonymous_rate_limit_burst: 100,
            channel_loads_per_minute: 60,
            channel_load_burst: 60,
            max_channels_loaded: 50_000,
            max_unsent_bytes_per_ip: 8 * 1024 * 1024,
            max_unsent_bytes: 128 * 1024 * 1024,
            bridge_lease_ms: 15_000,
            moderation_second_ms: 1000,
        }
    }
}

/// An origin is `http(s)://host[:port]`, with no path, as browsers send it.
pub(super) fn check_origin(origin: &str) -> Result<(), &'static str> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@', ' '])
        || rest.chars().any(|c| c.is_control())
    {
        return Err("must be scheme://host[:port] with no path");
    }
    rest.parse::<axum::http::uri::Authority>()
        .map(|_| ())
        .map_err(|_| "has an invalid host or port")
}

/// An `http(s)` URL with a host and no query (a path is allowed).
pub fn check_http_url(url: &str) -> Result<(), &'static str> {
    let uri: axum::http::Uri = url.parse().map_err(|_| "is not a URL")?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) if uri.query().is_none() => Ok(()),
        _ => Err("must be an http(s) URL without query"),
    }
}
