//! The command line: the clap definition (the one source of `--help`, the man
//! pages and the completions) and the dispatch to one file per command group.

mod bot;
mod config;
mod docs;
mod github;
mod health;
mod init;
mod kv;
mod lanyard;
mod migrate;
mod prompt;
mod serve;
mod token;
mod user;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Loaded;

pub use docs::generate as generate_docs;

/// harmy: your Discord presence on your own website, served by your own server.
///
/// harmy sits in your Discord server as a bot, tracks the live presence of its
/// members (status, Spotify, games, custom status) and serves it over an HTTP
/// and WebSocket API that speaks both the api.harmy.gg shape and Lanyard's, next
/// to a per-user key/value store and a linked GitHub profile.
#[derive(Debug, Parser)]
#[command(name = "harmy", version, propagate_version = true, max_term_width = 100, after_long_help = DEFAULT_PATHS)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Which default paths apply when (the long help and the man page say it).
const DEFAULT_PATHS: &str = "\
Default paths, when the config names none:
  as root, or under systemd (STATE_DIRECTORY or RUNTIME_DIRECTORY set, as harmy.service does):
    database /var/lib/harmy/harmy.redb, admin socket /run/harmy/admin.sock,
    config /etc/harmy/config.toml, else ./harmy.toml;
  as any other user:
    database $XDG_STATE_HOME/harmy/harmy.redb (else ~/.local/state/harmy/harmy.redb),
    admin socket $XDG_RUNTIME_DIR/harmy/admin.sock (else beside the database),
    config $XDG_CONFIG_HOME/harmy/config.toml (else ~/.config/harmy/config.toml), then as root.
--config and $HARMY_CONFIG come first. `harmy init` writes a first config; `harmy serve --demo` needs none.";

/// Options every subcommand takes, before or after its name.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: for a user other than root $XDG_CONFIG_HOME/harmy/config.toml
    /// (~/.config/harmy/config.toml) if it exists, else /etc/harmy/config.toml, else ./harmy.toml].
    #[arg(long, global = true, value_name = "PATH", env = "HARMY_CONFIG")]
    pub config: Option<PathBuf>,
    /// The database file (overrides storage.path) [default: /var/lib/harmy/harmy.redb as root or
    /// under systemd, else $XDG_STATE_HOME/harmy/harmy.redb (~/.local/state/harmy/harmy.redb)].
    #[arg(long, global = true, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// The admin socket (overrides admin.socket) [default: /run/harmy/admin.sock as root or under
    /// systemd, else $XDG_RUNTIME_DIR/harmy/admin.sock, or beside the database without $XDG_RUNTIME_DIR].
    #[arg(long, global = true, value_name = "PATH")]
    pub admin_socket: Option<PathBuf>,
    /// Override any setting, as SECTION.KEY=VALUE (repeatable), e.g. `--set rate_limit.per_second=10`.
    #[arg(long = "set", global = true, value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Discord gateway, the bot commands, the HTTP/WebSocket API and the admin socket.
    Serve(serve::ServeArgs),
    /// Check, invite and configure the Discord bot.
    #[command(subcommand)]
    Bot(bot::BotCommand),
    /// Issue and revoke users' API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Read and write users' key/value pairs.
    #[command(subcommand)]
    Kv(kv::KvCommand),
    /// Link, unlink and refresh users' GitHub profiles.
    #[command(subcommand)]
    Github(github::GithubCommand),
    /// Serve or hide a user, forget them, or export what is stored about them.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Create or upgrade the database schema, or bring in a Lanyard instance's data.
    ///
    /// Without --from-lanyard: creates the database, or upgrades its schema to this harmy's.
    ///
    /// With --from-lanyard URL: reads a Lanyard instance's Redis (read-only, with SCAN) and
    /// imports each user's KV (`lanyard_kv:<id>` as stored, `lanyard:user_kv:<id>` JSON-decoded;
    /// where both hold a key, the latter's value), API key (`user_api_key:<id>`, when
    /// `api_key:<key>` names the user: it keeps working as the user's token) and last seen
    /// (`lanyard:user_last_seen:<id>`). What breaks harmy's KV limits is reported per user and
    /// skipped, never truncated; what harmy already has wins unless --overwrite. Prints every
    /// skip, then what was imported, unchanged and skipped per kind; --dry-run prints the same
    /// and writes nothing. Stores in batches: a run stopped half-way can be run again.
    Migrate(migrate::MigrateArgs),
    /// Check the configuration without starting anything.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Ask a running server's /health: exit 0 when it answers 200, 1 otherwise.
    ///
    /// For a container's HEALTHCHECK, which has no curl to ask with. The URL is
    /// http://<http.listen>/health from the configuration (a wildcard address such as
    /// 0.0.0.0 is asked on loopback), unless --url names one. The answer's body is
    /// printed; any failure (no answer, a status other than 200, a configuration that
    /// does not load) exits 1, with the reason on stderr.
    Health(health::HealthArgs),
    /// Write a first config: ask for the bot token and guild, check the bot, create the database.
    ///
    /// Asks for the bot token (not shown as it is typed) and the guild id, unless
    /// --token-file and --guild give them; checks them against Discord as `harmy
    /// bot check` does (nothing is written if the token is refused); writes the
    /// commented example config with them filled in, mode 0600; creates the
    /// database; prints the URL that adds the bot to the server and the next command.
    Init(init::InitArgs),
    /// Write the man pages and shell completions (for packagers and the repo's own docs).
    #[command(hide = true)]
    GenerateDocs(docs::DocsArgs),
}

/// Runs a parsed command line; the error is printed by `main`.
pub fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match &cli.command {
        Command::GenerateDocs(args) => return docs::run(args),
        Command::Serve(args) if args.demo => return serve::run_demo(&cli.global, args),
        Command::Init(args) => return init::run(&cli.global, args, flags(&cli)?),
        Command::Health(args) => return health::run(&cli.global, args, flags(&cli)),
        _ => {}
    }
    let loaded = crate::config::load_from_env(cli.global.config.clone(), flags(&cli)?)?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve(args) => serve::run(loaded, args),
        Command::Bot(command) => bot::run(loaded, command),
        Command::Token(command) => token::run(&loaded, command),
        Command::Kv(command) => kv::run(&loaded, command),
        Command::Github(command) => github::run(&loaded, command),
        Command::User(command) => user::run(&loaded, command),
        Command::Migrate(args) => migrate::run(&loaded, args),
        Command::Config(command) => config::run(&loaded, command),
        Command::GenerateDocs(_) | Command::Init(_) | Command::Health(_) => unreachable!("handled above"),
    }
}

/// The settings the command line overrides, as `section.key` = raw value.
fn flags(cli: &Cli) -> anyhow::Result<Vec<(String, String)>> {
    let mut flags = Vec::new();
    if let Some(path) = &cli.global.database {
        flags.push(("storage.path".to_string(), path.display().to_string()));
    }
    if let Some(path) = &cli.global.admin_socket {
        flags.push(("admin.socket".to_string(), path.display().to_string()));
    }
    if let Command::Serve(args) = &cli.command {
        flags.extend(args.flags());
    }
    for item in &cli.global.set {
        let (key, value) =
            item.split_once('=').ok_or_else(|| anyhow::anyhow!("--set {item}: expected SECTION.KEY=VALUE"))?;
        flags.push((key.trim().to_string(), value.to_string()));
    }
    Ok(flags)
}

/// Threads of the blocking pool (database calls): tokio's default of 512 would let a
/// burst of writers pile up threads, each with its stack, far past what the disk can
/// serve; past this many, blocking calls wait in the pool's queue instead.
pub const MAX_BLOCKING_THREADS: usize = 128;

/// A runtime for the commands that need one.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(MAX_BLOCKING_THREADS).build()?)
}

/// Runs an operator command through the admin socket, or on the database itself
/// when no server runs, and prints its output.
fn run_admin(loaded: &Loaded, request: crate::admin::Request) -> anyhow::Result<std::process::ExitCode> {
    let output = runtime()?.block_on(crate::admin::client::run(&loaded.config, request))?;
    if !output.is_empty() {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{output}")?;
        stdout.flush()?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}
