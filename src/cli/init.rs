//! `harmy init`: the first config. Asks for the bot token (hidden) and the guild
//! id unless `--token-file` and `--guild` give them, checks the bot against
//! Discord as `harmy bot check` does, writes the commented example config with
//! them filled in (mode 0600: it holds the token), creates the database, and
//! says what to do next.
//!
//! Nothing is written unless Discord accepts the token. A privileged intent left
//! off or a bot not yet in the guild does not stop it: the config is right, and
//! the fix is on Discord's side (the invite URL is printed here; `harmy bot
//! check` checks again).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use toml::Value;

use super::GlobalArgs;
use super::prompt::Terminal;
use crate::bot::{check, invite};
use crate::config::paths::{Defaults, effective_uid};
use crate::config::{Sources, example, load_text, typed};
use crate::store::Store;

/// `harmy init`
#[derive(Debug, Args)]
#[command(after_long_help = AFTER)]
pub struct InitArgs {
    /// Read the bot token from this file instead of asking for it.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The id of the guild (server) to monitor, instead of asking for it.
    #[arg(long, value_name = "GUILD_ID")]
    pub guild: Option<String>,
}

const AFTER: &str = "The config goes to --config (or $HARMY_CONFIG), else, for a user other than root, to \
$XDG_CONFIG_HOME/harmy/config.toml (~/.config/harmy/config.toml), else to /etc/harmy/config.toml. An \
existing file is never overwritten. With both --token-file and --guild nothing is asked (for scripts).";

/// Runs `harmy init`; `flags` are the settings of `--database`, `--admin-socket` and `--set`.
pub fn run(global: &GlobalArgs, args: &InitArgs, flags: Vec<(String, String)>) -> anyhow::Result<ExitCode> {
    let defaults = Defaults::current();
    let target = global.config.clone().unwrap_or_else(|| defaults.init_config());
    if target.exists() {
        bail!(
            "{} exists; harmy init never overwrites a config: edit it, or pass --config with a new path",
            target.display()
        );
    }
    let mut terminal = None;
    let mut ask = |question: &str, hidden: bool, flag: &str| -> anyhow::Result<String> {
        if terminal.is_none() {
            terminal = Some(Terminal::open().ok_or_else(|| anyhow!("no terminal to ask on: pass {flag}"))?);
        }
        let terminal = terminal.as_mut().expect("opened above");
        if hidden { terminal.ask_hidden(question) } else { terminal.ask(question) }
    };
    let token = match &args.token_file {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("--token-file {}", file.display()))?
            .trim()
            .to_string(),
        None => ask(
            "Bot token (Developer Portal → your application → Bot → Reset Token; not shown): ",
            true,
            "--token-file FILE",
        )?,
    };
    anyhow::ensure!(!token.is_empty(), "the bot token is empty");
    let guild = match &args.guild {
        Some(guild) => guild.clone(),
        None => ask("Guild id (Developer Mode on, right-click the server → Copy Server ID): ", false, "--guild ID")?,
    };
    let guild = crate::ids::parse_snowflake(guild.trim()).ok_or_else(|| {
        anyhow!("guild id `{}` is not a Discord id (a number such as 1300000000000000000)", guild.trim())
    })?;

    let text = config_text(&defaults, &flags, &token, guild)?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let sources = Sources { file: None, env, flags, euid: effective_uid() };
    let config = load_text(&target, &text, &sources)?.config;

    let runtime = super::runtime()?;
    // twilight's client spawns its rate limiter task when built: inside the runtime.
    let _entered = runtime.enter();
    let mut stdout = std::io::stdout().lock();
    let outcomes = runtime.block_on(check::run(&config));
    for outcome in &outcomes {
        writeln!(stdout, "{outcome}")?;
    }
    stdout.flush()?;
    // The token is the first check; the others run only when it passed.
    if !outcomes.first().is_some_and(|o| o.passed) {
        bail!("Discord did not accept the bot token (see above); nothing was written");
    }

    write_private(&target, &text)?;
    writeln!(stdout, "wrote {} (mode 0600: it holds the token)", target.display())?;
    let database = config.storage.path.clone();
    let steps = Store::migrate(&database, false)?;
    if steps.is_empty() {
        writeln!(stdout, "database {} is up to date", database.display())?;
    }
    for step in steps {
        writeln!(stdout, "{step}")?;
    }

    let id = match invite::application_id_from_token(&token) {
        Some(id) => id,
        None => runtime.block_on(super::bot::application_id(&config))?,
    };
    let config_flag = if Some(&target) == defaults.config_search().iter().find(|p| p.exists()) {
        String::new()
    } else {
        format!(" --config {}", target.display())
    };
    writeln!(stdout, "\nAdd the bot to your server (once): {}", invite::url(id))?;
    if outcomes.iter().any(|o| !o.passed) {
        writeln!(stdout, "Then fix what FAIL says above and check again: harmy bot check{config_flag}")?;
    }
    writeln!(stdout, "Next: harmy serve{config_flag}")?;
    writeln!(stdout, "(Slash commands, optional: harmy bot commands{config_flag})")?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The example config with the token, the guild and the paths filled in (the
/// paths this user's defaults give, or the flags' own), and every `--set`.
fn config_text(defaults: &Defaults, flags: &[(String, String)], token: &str, guild: u64) -> anyhow::Result<String> {
    let flag = |name: &str| flags.iter().rev().find(|(k, _)| k == name).map(|(_, v)| PathBuf::from(v));
    let database = flag("storage.path").unwrap_or_else(|| defaults.database.clone());
    let socket = flag("admin.socket").unwrap_or_else(|| defaults.admin_socket_beside(&database));
    let path = |p: &Path| Value::String(p.display().to_string());
    let mut values = vec![
        ("storage".to_string(), "path".to_string(), path(&database)),
        ("admin".to_string(), "socket".to_string(), path(&socket)),
    ];
    for (name, raw) in flags {
        let (section, key) = name.split_once('.').ok_or_else(|| anyhow!("--set {name}: expected SECTION.KEY"))?;
        let value = typed(section, key, raw).map_err(|e| anyhow!("--set {name}: {e}"))?;
        values.push((section.to_string(), key.to_string(), value));
    }
    values.push(("discord".into(), "token".into(), Value::String(token.into())));
    values.push(("discord".into(), "guild_ids".into(), Value::Array(vec![Value::String(guild.to_string())])));
    let values: Vec<(&str, &str, Value)> = values.iter().map(|(s, k, v)| (s.as_str(), k.as_str(), v.clone())).collect();
    let body = example::filled(&values)?;
    Ok(format!(
        "# Written by `harmy init`; every key is documented below, and `harmy bot check` checks the bot.\n#\n{body}"
    ))
}

/// Writes a new file, owner-only from the start, in a directory created 0700 if missing.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        crate::store::create_private_dirs(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_holds_the_token_guild_paths_and_settings() {
        let defaults = Defaults::for_process(1000, &[("HOME".into(), "/home/ada".into())]);
        let flags = vec![("rate_limit.per_second".to_string(), "9".to_string())];
        let text = config_text(&defaults, &flags, "MTAw.x.y", 42).unwrap();
        let config = load_text("/c.toml".as_ref(), &text, &Sources::default()).unwrap().config;
        assert_eq!(config.discord.token.expose(), "MTAw.x.y");
        assert_eq!(config.discord.guild_ids, vec![42]);
        assert_eq!(config.storage.path, Path::new("/home/ada/.local/state/harmy/harmy.redb"));
        assert_eq!(config.admin.socket, Path::new("/home/ada/.local/state/harmy/admin.sock"));
        assert_eq!(config.rate_limit.per_second, 9);
        assert!(text.starts_with("# Written by `harmy init`"));
        assert!(text.contains("# Guilds whose members are monitored"), "the example's comments are kept");
    }

    #[test]
    fn a_database_flag_moves_the_socket_beside_it() {
        let defaults = Defaults::for_process(1000, &[("HOME".into(), "/home/ada".into())]);
        let flags = vec![("storage.path".to_string(), "/srv/h/harmy.redb".to_string())];
        let text = config_text(&defaults, &flags, "t", 1).unwrap();
        let config = load_text("/c.toml".as_ref(), &text, &Sources::default()).unwrap().config;
        assert_eq!(config.admin.socket, Path::new("/srv/h/admin.sock"));
        assert!(config_text(&defaults, &[("nope.key".into(), "1".into())], "t", 1).is_err());
    }
}
