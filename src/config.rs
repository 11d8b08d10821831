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
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::{Table, Value};

/// Where the configuration file is looked for when neither `--config` nor
/// `$HARMY_CONFIG` names one.
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
    /// The Prometheus endpoint.
    pub metrics: MetricsConfig,
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
    pub max_connections: usize,
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
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { per_second: 3, per_minute: 120 }
    }
}

/// `[storage]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// The redb database file.
    pub path: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { path: "/var/lib/harmy/harmy.redb".into() }
    }
}

/// `[admin]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Unix socket of the running server (mode 0600).
    pub socket: PathBuf,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { socket: "/run/harmy/admin.sock".into() }
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
}

impl Default for KvConfig {
    fn default() -> Self {
        Self { max_keys: 512, max_key_length: 165, max_value_length: 10_000 }
    }
}

/// `[metrics]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` at all.
    pub enabled: bool,
    /// Serve `/metrics` on this address instead of `http.listen` (empty: same listener).
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { enabled: true, listen: String::new() }
    }
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

/// A configuration that could not be loaded; the message is one readable line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// The `[section]` names with a `*_file` twin for their `token`.
const SECRET_KEYS: &[(&str, &str)] = &[("discord", "token"), ("github", "token")];

/// Environment variables harmy reads that are not configuration keys.
const RESERVED_ENV: &[&str] = &["HARMY_CONFIG", "HARMY_LOG"];

/// What `load` was given: the file, the environment and the flags.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// `--config`, or `$HARMY_CONFIG`.
    pub file: Option<PathBuf>,
    /// Environment variables (only `HARMY_*` ones are looked at).
    pub env: Vec<(String, String)>,
    /// Flags as `section.key` = raw value.
    pub flags: Vec<(String, String)>,
}

/// The result of loading: the config and any warnings to log.
#[derive(Debug)]
pub struct Loaded {
    /// The merged configuration, secrets resolved.
    pub config: Config,
    /// The file it came from, if any.
    pub file: Option<PathBuf>,
    /// Things worth telling the operator (unknown environment variables).
    pub warnings: Vec<String>,
}

/// Loads the configuration from its sources.
pub fn load(sources: &Sources) -> Result<Loaded, ConfigError> {
    let defaults = defaults_table();
    let mut merged = defaults.clone();
    let mut warnings = Vec::new();

    let file = resolve_file(sources.file.as_deref());
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("config file {}: {}", path.display(), io_reason(&e))))?;
        let table = parse_file(path, &text)?;
        merge_layer(&mut merged, table, &format!("config file {}", path.display()))?;
    }

    let mut env_layer = Table::new();
    for (name, raw) in &sources.env {
        if !name.starts_with("HARMY_") || RESERVED_ENV.contains(&name.as_str()) {
            continue;
        }
        match find_env_key(&defaults, name) {
            Some((section, key)) => {
                let value = parse_raw(&defaults, &section, &key, raw)
                    .map_err(|e| ConfigError(format!("environment variable {name}: {e}")))?;
                insert(&mut env_layer, &section, &key, value);
            }
            None => warnings.push(format!("unknown environment variable {name} (not a harmy setting)")),
        }
    }
    merge_layer(&mut merged, env_layer, "environment")?;

    let mut flag_layer = Table::new();
    for (path, raw) in &sources.flags {
        let (section, key) = path
            .split_once('.')
            .filter(|(s, k)| defaults.get(*s).and_then(|t| t.get(*k)).is_some())
            .ok_or_else(|| ConfigError(format!("--set {path}: unknown key")))?;
        let value = parse_raw(&defaults, section, key, raw).map_err(|e| ConfigError(format!("--set {path}: {e}")))?;
        insert(&mut flag_layer, section, key, value);
    }
    merge_layer(&mut merged, flag_layer, "flags")?;

    let mut config: Config = Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError(format!("configuration: {}", e.message())))?;
    resolve_secret(&mut config.discord.token, &config.discord.token_file, "discord.token_file")?;
    resolve_secret(&mut config.github.token, &config.github.token_file, "github.token_file")?;
    Ok(Loaded { config, file, warnings })
}

/// Loads from the process's real environment.
pub fn load_from_env(file: Option<PathBuf>, flags: Vec<(String, String)>) -> Result<Loaded, ConfigError> {
    let file = file.or_else(|| std::env::var_os("HARMY_CONFIG").map(PathBuf::from));
    load(&Sources { file, env: std::env::vars().collect(), flags })
}

/// The environment variable that sets `section.key`.
pub fn env_name(section: &str, key: &str) -> String {
    format!("HARMY_{}_{}", section.to_ascii_uppercase(), key.to_ascii_uppercase())
}

/// The defaults as a TOML table: the single list of every section and key.
pub fn defaults_table() -> Table {
    match Value::try_from(Config::default()) {
        Ok(Value::Table(table)) => table,
        _ => unreachable!("Config serializes to a table"),
    }
}

fn resolve_file(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    [SYSTEM_CONFIG, LOCAL_CONFIG].iter().map(PathBuf::from).find(|p| p.exists())
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Parses a config file, reporting syntax errors and unknown keys as `file:line:col: what`.
fn parse_file(path: &Path, text: &str) -> Result<Table, ConfigError> {
    let at = |span: Option<std::ops::Range<usize>>, what: &str| {
        let offset = span.map_or(0, |s| s.start).min(text.len());
        let line = text[..offset].matches('\n').count() + 1;
        let col = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
        ConfigError(format!("{}:{line}:{col}: {what}", path.display()))
    };
    let table: Table = text.parse().map_err(|e: toml::de::Error| at(e.span(), e.message().trim()))?;
    // Deserializing the file on its own finds unknown keys and wrong types with a position.
    if let Err(e) = toml::from_str::<Config>(text) {
        let what = e.message().trim().to_string();
        let what = match section_of(text, e.span()) {
            Some(section) if what.starts_with("unknown field") => format!("{what} in [{section}]"),
            _ => what,
        };
        return Err(at(e.span(), &what));
    }
    Ok(table)
}

/// The `[section]` header above a position of the file.
fn section_of(text: &str, span: Option<std::ops::Range<usize>>) -> Option<String> {
    let offset = span?.start.min(text.len());
    text[..offset]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
}

fn find_env_key(defaults: &Table, name: &str) -> Option<(String, String)> {
    defaults.iter().find_map(|(section, keys)| {
        let keys = keys.as_table()?;
        keys.keys().find(|key| env_name(section, key) == name).map(|key| (section.clone(), key.clone()))
    })
}

/// Parses a raw string (environment or flag) as the type of the key's default.
fn parse_raw(defaults: &Table, section: &str, key: &str, raw: &str) -> Result<Value, String> {
    let default = &defaults[section][key];
    Ok(match default {
        Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| format!("`{raw}` is not a whole number"))?),
        Value::Boolean(_) => Value::Boolean(match raw.trim() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => return Err(format!("`{raw}` is not true or false")),
        }),
        Value::Array(_) => Value::Array(
            raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.into())).collect(),
        ),
        _ => Value::String(raw.to_string()),
    })
}

fn insert(layer: &mut Table, section: &str, key: &str, value: Value) {
    layer
        .entry(section)
        .or_insert_with(|| Value::Table(Table::new()))
        .as_table_mut()
        .expect("sections are tables")
        .insert(key.to_string(), value);
}

/// Lays one layer over the merged table; a secret set in this layer replaces its `*_file` twin
/// from the layers below, and the other way round.
fn merge_layer(merged: &mut Table, layer: Table, name: &str) -> Result<(), ConfigError> {
    for (section, keys) in layer {
        let Value::Table(keys) = keys else {
            continue; // a non-table section is reported by the typed parse
        };
        for &(secret_section, secret) in SECRET_KEYS {
            let twin = format!("{secret}_file");
            if section == secret_section && keys.contains_key(secret) && keys.contains_key(&twin) {
                let a = keys[secret].as_str().unwrap_or_default();
                let b = keys[&twin].as_str().unwrap_or_default();
                if !a.is_empty() && !b.is_empty() {
                    return Err(ConfigError(format!(
                        "{name}: set either {section}.{secret} or {section}.{twin}, not both"
                    )));
                }
            }
        }
        let target = merged.entry(&section).or_insert_with(|| Value::Table(Table::new()));
        let Value::Table(target) = target else { continue };
        for (key, value) in keys {
            if let Some(&(_, secret)) = SECRET_KEYS.iter().find(|(s, _)| *s == section) {
                let twin = format!("{secret}_file");
                if key == secret {
                    target.insert(twin, Value::String(String::new()));
                } else if key == twin {
                    target.insert(secret.to_string(), Value::String(String::new()));
                }
            }
            target.insert(key, value);
        }
    }
    Ok(())
}

fn resolve_secret(secret: &mut Secret, file: &str, key: &str) -> Result<(), ConfigError> {
    if file.is_empty() {
        return Ok(());
    }
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError(format!("{key} {file}: {}", io_reason(&e))))?;
    *secret = Secret(text.trim_end_matches(['\n', '\r']).to_string());
    Ok(())
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

#[cfg(test)]
mod tests;
