//! Configuration: one pipeline, defaults < TOML file < `HARMY_<SECTION>_<KEY>`
//! environment variables < command-line flags (later wins).
//!
//! Every layer is merged as a TOML table keyed by the defaults' own table, so a
//! key exists in exactly one place (the structs below) and the environment
//! names, the precedence and the unknown-key check all derive from it. Secrets
//! (`token`) may come from a `*_file` twin; setting one of the pair in a layer
//! clears the other from the layers below.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where the configuration file is looked for when neither `--config` nor
/// `$HARMY_CONFIG` names one (after the user's own, for a user other than root:
/// see [`paths`]).
pub const SYSTEM_CONFIG: &str = "/etc/harmy/config.toml";
/// The fallback beside the working directory.
pub const LOCAL_CONFIG: &str = "harmy.toml";

/// The whole configuration of a harmy instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The Discord bot.
    pub discord: DiscordConfig,
    /// The HTTP and WebSocket API.
    pub http: HttpConfig,
    /// Per-client rate limits of the HTTP API.
    pub rate_limit: RateLimitConfig,
    /// The redb database.
    pub storage: StorageConfig,
    /// The admin socket the CLI talks to while `harmy serve` runs.
    pub admin: AdminConfig,
    /// The GitHub profile link.
    pub github: GithubConfig,
    /// Limits of the per-user key/value store.
    pub kv: KvConfig,
    /// Limits of Lanyard's WebSocket (`/socket`).
    pub socket: SocketConfig,
    /// The status card (`/user/:id/card.svg`) and avatar links (`/:id.png`).
    pub card: CardConfig,
    /// The Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// Who is served: everyone, or only those who said so (docs/API.md, "Privacy").
    pub privacy: PrivacyConfig,
    /// One primary and read replicas joined by NATS JetStream (README, "More than one machine").
    pub cluster: ClusterConfig,
}

/// `[discord]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// Bot token (or `token_file`, or `HARMY_DISCORD_TOKEN`).
    pub token: Secret,
    /// File holding the bot token, e.g. a systemd credential.
    pub token_file: String,
    /// Guilds whose members are monitored; empty means every guild the bot is in.
    #[serde(deserialize_with = "snowflakes", serialize_with = "snowflakes_out")]
    pub guild_ids: Vec<u64>,
    /// Prefix of the message commands.
    pub command_prefix: String,
    /// Gateway URL (a gateway proxy, or a test server; `ws://` allowed). Any URL
    /// other than Discord's own also turns off the 5 s spacing between IDENTIFYs.
    pub gateway_url: String,
    /// REST base URL; paths are `/api/v10/...` below it (`http://` allowed).
    pub api_url: String,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            token: Secret::default(),
            token_file: String::new(),
            guild_ids: Vec::new(),
            command_prefix: ".".into(),
            gateway_url: DISCORD_GATEWAY.into(),
            api_url: DISCORD_API.into(),
        }
    }
}

impl DiscordConfig {
    /// `api_url` as twilight-http's proxy setting: `None` for Discord's own API,
    /// else the host (with any path) and whether it is reached over plain HTTP.
    pub fn api_proxy(&self) -> Option<(String, bool)> {
        let base = self.api_url.trim_end_matches('/');
        if base == DISCORD_API {
            return None;
        }
        Some(match base.strip_prefix("http://") {
            Some(host) => (host.to_string(), true),
            None => (base.strip_prefix("https://").unwrap_or(base).to_string(), false),
        })
    }
}

/// Discord's own gateway.
pub const DISCORD_GATEWAY: &str = "wss://gateway.discord.gg";
/// Discord's own REST API.
pub const DISCORD_API: &str = "https://discord.com";

/// `[http]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// CIDRs whose `X-Forwarded-For` is believed for the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Origins allowed by CORS (`*` for any).
    pub cors_origins: Vec<String>,
    /// Concurrent connections served; further ones wait in the listen backlog.
    /// WebSocket sessions are capped at the same number (more are closed with 1013).
    pub max_connections: usize,
    /// Connections open at once per peer address (IPv6 per /64; 0: no limit); past
    /// it a new connection is closed at once, so one address cannot hold every slot.
    pub max_connections_per_ip: usize,
    /// A connection that has not sent a full request head within this time is closed.
    #[serde(with = "duration")]
    pub header_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 4001)),
            trusted_proxies: Vec::new(),
            cors_origins: vec!["*".into()],
            max_connections: 10_000,
            max_connections_per_ip: 256,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// `[rate_limit]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per second per client address.
    pub per_second: u32,
    /// Requests per minute per client address.
    pub per_minute: u32,
    /// Client addresses whose windows are kept at most; past it, the least
    /// recently seen are dropped first.
    pub max_addresses: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { per_second: 3, per_minute: 120, max_addresses: 100_000 }
    }
}

/// `[storage]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// The redb database file. The default here is root's; loading gives a user
    /// other than root their own ([`paths`]).
    pub path: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { path: paths::SYSTEM_DATABASE.into() }
    }
}

/// `[admin]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Unix socket of the running server (mode 0600). The default here is root's;
    /// loading gives a user other than root their own ([`paths`]).
    pub socket: PathBuf,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { socket: paths::SYSTEM_SOCKET.into() }
    }
}

/// `[github]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GithubConfig {
    /// GitHub REST base URL.
    pub api_url: String,
    /// Optional token; raises GitHub's limit from 60 to 5000 requests/hour.
    pub token: Secret,
    /// File holding the GitHub token.
    pub token_file: String,
    /// How often linked profiles are refetched.
    #[serde(with = "duration")]
    pub refresh_interval: Duration,
}

impl Default for GithubConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.github.com".into(),
            token: Secret::default(),
            token_file: String::new(),
            refresh_interval: Duration::from_secs(6 * 3600),
        }
    }
}

/// `[kv]`
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KvConfig {
    /// Keys per user.
    pub max_keys: usize,
    /// Characters per key.
    pub max_key_length: usize,
    /// Characters (Unicode scalar values) per value.
    pub max_value_length: usize,
    /// Bytes of a user's whole KV as rendered (escaped) JSON.
    pub max_total_bytes: usize,
    /// KV writes per user per minute, from all their addresses, the bot and
    /// slash commands together (0: no limit; the operator's CLI is not counted).
    pub writes_per_minute: u32,
}

impl Default for KvConfig {
    /// Lanyard's limits (512 keys, keys of 165 characters, values of 10 000), and
    /// 256 KiB of rendered JSON per user, 60 writes a minute.
    fn default() -> Self {
        Self {
            max_keys: 512,
            max_key_length: 165,
            max_value_length: 10_000,
            max_total_bytes: 262_144,
            writes_per_minute: 60,
        }
    }
}

/// `[socket]`
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketConfig {
    /// Distinct user ids one session may subscribe to (more: close 4006).
    pub max_ids: usize,
    /// Bytes a session may have queued and not yet written, its INIT_STATE not
    /// counted (more: close 1008).
    pub max_queue_bytes: usize,
    /// Sockets open at once per client address (more: the upgrade is 429).
    pub max_per_ip: usize,
    /// Whether `subscribe_to_all` is allowed (if not: close 4006).
    pub subscribe_to_all: bool,
    /// Time the client of a session may take to receive what it was sent (the
    /// kernel's send queue to drain, not merely the hand-off to the kernel); a
    /// client that takes longer is disconnected.
    #[serde(with = "duration")]
    pub write_timeout: Duration,
    /// Each socket's kernel send buffer (`SO_SNDBUF`), so that a client that stops
    /// reading holds at most this much kernel memory.
    pub send_buffer_bytes: usize,
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            max_ids: 1000,
            max_queue_bytes: 8 << 20,
            max_per_ip: 64,
            subscribe_to_all: true,
            write_timeout: Duration::from_secs(60),
            send_buffer_bytes: 256 << 10,
        }
    }
}

/// `[card]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardConfig {
    /// Discord's CDN: avatars, custom emoji, application assets, avatar decorations.
    /// Media-proxy images (`mp:` assets) come from `https://media.discordapp.net` while this
    /// is Discord's own CDN, and from this URL otherwise (a proxy or a test server).
    pub cdn_url: String,
    /// Spotify's image host; album art is `<spotify_image_url>/<image id>`.
    pub spotify_image_url: String,
    /// Bytes of fetched images the card keeps (base64, as inlined), each for an hour.
    pub image_cache_bytes: usize,
}

impl Default for CardConfig {
    fn default() -> Self {
        Self {
            cdn_url: DISCORD_CDN.into(),
            spotify_image_url: "https://i.scdn.co/image".into(),
            image_cache_bytes: 32 << 20,
        }
    }
}

/// Discord's own CDN.
pub const DISCORD_CDN: &str = "https://cdn.discordapp.com";

/// `[metrics]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` at all.
    pub enabled: bool,
    /// Serve `/metrics` on this address, a listener of its own that serves
    /// nothing else; empty: on `http.listen` with the API. Loopback by default,
    /// since the API listener faces the internet and the metrics say how busy
    /// and how large the server is.
    pub listen: String,
}

/// Where `/metrics` is served unless `metrics.listen` says otherwise (9464, the
/// port Prometheus' registry of exporter ports lists for OpenTelemetry's).
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { enabled: true, listen: DEFAULT_METRICS_LISTEN.into() }
    }
}

/// `[privacy]`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Whom the API serves when they have not said (`.show` / `.hide`).
    pub mode: PrivacyMode,
}

/// `privacy.mode`: whether members are served until they hide, or hidden until they show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyMode {
    /// Every monitored member is served until they `.hide` (what api.harmy.gg and Lanyard do).
    #[default]
    Public,
    /// Nobody is served until they `.show`.
    OptIn,
}

/// `[cluster]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The NATS server (`nats://host:4222`, `tls://…` for TLS); empty: one process, no cluster.
    pub nats_url: String,
    /// What this process is: the primary (gateway, bot, database, writes) or a replica (reads).
    pub role: Role,
    /// Prefix of the subjects and JetStream buckets, so that deployments can share a NATS server.
    pub name: String,
    /// A NATS credentials file (`.creds`: a JWT and its nkey seed).
    pub credentials_file: String,
    /// A file holding a NATS token (the server's `authorization { token }`).
    pub token_file: String,
    /// PEM certificates of the authorities trusted for the NATS server's TLS
    /// certificate; empty: the system's.
    pub ca_file: String,
    /// A PEM client certificate and its key, for a NATS server that verifies its
    /// clients (`tls { verify: true }`).
    pub cert_file: String,
    pub key_file: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            nats_url: String::new(),
            role: Role::Primary,
            name: "harmy".into(),
            credentials_file: String::new(),
            token_file: String::new(),
            ca_file: String::new(),
            cert_file: String::new(),
            key_file: String::new(),
        }
    }
}

impl ClusterConfig {
    /// Whether this process is part of a cluster.
    pub fn enabled(&self) -> bool {
        !self.nats_url.is_empty()
    }

    /// Whether this process is a read replica.
    pub fn is_replica(&self) -> bool {
        self.enabled() && self.role == Role::Replica
    }
}

/// `cluster.role`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Connected to Discord, keeps the database, takes the writes, publishes.
    #[default]
    Primary,
    /// Serves the reads from what the primary publishes; relays writes to it.
    Replica,
}

/// A secret string: never shown by `Debug`, so it cannot reach a log line.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"<redacted>\"" })
    }
}

/// Guild ids as integers or strings.
fn snowflakes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Int(u64),
        Str(String),
    }
    Vec::<Id>::deserialize(d)?
        .into_iter()
        .map(|id| match id {
            Id::Int(0) => Err(serde::de::Error::custom("guild id 0 is not a snowflake")),
            Id::Int(n) => Ok(n),
            Id::Str(s) => crate::ids::parse_snowflake(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("guild id `{s}` is not a snowflake"))),
        })
        .collect()
}

fn snowflakes_out<S: Serializer>(ids: &[u64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| id.to_string()))
}

/// Durations as humantime strings ("6h", "10s").
mod duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let raw = String::deserialize(d)?;
        humantime::parse_duration(&raw)
            .map_err(|e| serde::de::Error::custom(format!("`{raw}` is not a duration such as \"6h\": {e}")))
    }
}

pub mod example;
mod load;
pub mod paths;
#[cfg(test)]
mod tests;

pub use load::{ConfigError, Loaded, Sources, defaults_table, env_name, load, load_from_env, load_text, typed};
