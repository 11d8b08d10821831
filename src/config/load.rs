//! Loading the configuration: each layer (defaults, file, environment, flags)
//! becomes a TOML table checked against the defaults' keys, and the merged
//! table becomes a `Config`; `*_file` secrets are read last. The default paths
//! depend on who runs harmy (`paths`).

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::paths::{Defaults, effective_uid};
use super::{Config, Secret};

/// A configuration that could not be loaded; the message is one readable line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub(super) String);

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
    /// The effective user id, which picks the default paths with `env` (see
    /// `paths`): 0 (root, and `Default`) keeps the system paths.
    pub euid: u32,
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
    /// The default paths that applied.
    pub defaults: Defaults,
}

/// Loads the configuration from its sources.
pub fn load(sources: &Sources) -> Result<Loaded, ConfigError> {
    let paths = Defaults::for_process(sources.euid, &sources.env);
    let file = match resolve_file(sources.file.as_deref(), &paths) {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError(format!("config file {}: {}", path.display(), io_reason(&e))))?;
            Some((path, text))
        }
        None => None,
    };
    load_layers(sources, paths, file)
}

/// Loads the configuration that `text` would give as the file at `path` (not yet
/// written), with the environment and flags of `sources`: what a server started
/// on that file would run with.
pub fn load_text(path: &Path, text: &str, sources: &Sources) -> Result<Loaded, ConfigError> {
    let paths = Defaults::for_process(sources.euid, &sources.env);
    load_layers(sources, paths, Some((path.to_path_buf(), text.to_string())))
}

fn load_layers(sources: &Sources, paths: Defaults, file: Option<(PathBuf, String)>) -> Result<Loaded, ConfigError> {
    let mut defaults = defaults_table();
    insert(&mut defaults, "storage", "path", Value::String(paths.database.display().to_string()));
    if let Some(socket) = &paths.admin_socket {
        insert(&mut defaults, "admin", "socket", Value::String(socket.display().to_string()));
    }
    let mut merged = defaults.clone();
    let mut warnings = Vec::new();
    // Whether any layer names the admin socket (else it may go beside the database).
    let names_socket = |layer: &Table| layer.get("admin").and_then(|a| a.get("socket")).is_some();
    let mut socket_named = false;

    if let Some((path, text)) = &file {
        let table = parse_file(path, text)?;
        socket_named |= names_socket(&table);
        merge_layer(&mut merged, table, &format!("config file {}", path.display()))?;
    }
    let file = file.map(|(path, _)| path);

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
    socket_named |= names_socket(&env_layer);
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
    socket_named |= names_socket(&flag_layer);
    merge_layer(&mut merged, flag_layer, "flags")?;

    let mut config: Config = Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError(format!("configuration: {}", e.message())))?;
    resolve_secret(&mut config.discord.token, &config.discord.token_file, "discord.token_file")?;
    resolve_secret(&mut config.github.token, &config.github.token_file, "github.token_file")?;
    if !socket_named {
        config.admin.socket = paths.admin_socket_beside(&config.storage.path);
    }
    Ok(Loaded { config, file, warnings, defaults: paths })
}

/// Loads from the process's real environment.
pub fn load_from_env(file: Option<PathBuf>, flags: Vec<(String, String)>) -> Result<Loaded, ConfigError> {
    let file = file.or_else(|| std::env::var_os("HARMY_CONFIG").map(PathBuf::from));
    load(&Sources { file, env: std::env::vars().collect(), flags, euid: effective_uid() })
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

fn resolve_file(explicit: Option<&Path>, paths: &Defaults) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    paths.config_search().into_iter().find(|p| p.exists())
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

/// A raw setting (`--set section.key=raw`) as the TOML value it stands for:
/// typed as the key's default.
pub fn typed(section: &str, key: &str, raw: &str) -> Result<Value, String> {
    let defaults = defaults_table();
    if defaults.get(section).and_then(|t| t.get(key)).is_none() {
        return Err("unknown key".into());
    }
    parse_raw(&defaults, section, key, raw)
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
            // Only a value replaces its twin: the example's `token_file = ""` beside a
            // filled-in `token` leaves the token alone.
            let set = value.as_str().is_none_or(|v| !v.is_empty());
            if let Some(&(_, secret)) = SECRET_KEYS.iter().find(|(s, _)| *s == section).filter(|_| set) {
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
