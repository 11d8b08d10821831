//! `harmy migrate`: create or upgrade the database schema; with `--from-lanyard`,
//! bring a Lanyard instance's data in (`cli::lanyard`).

use clap::Args;

use crate::config::Loaded;
use crate::store::Store;

/// `harmy migrate [--dry-run] [--from-lanyard URL [--overwrite]]`
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Say what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import a Lanyard instance's KV, API keys and last-seen times from its Redis, read-only:
    /// redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss:// for TLS, or `-` to read the URL from
    /// standard input (keeps a password out of the process list). Goes through the running
    /// server when there is one. The database must exist (run `harmy migrate` first).
    #[arg(long, value_name = "URL")]
    pub from_lanyard: Option<String>,
    /// With --from-lanyard: Lanyard's data replaces what harmy already has (KV values, a user's
    /// token, last seen); without it, harmy's own wins.
    #[arg(long, requires = "from_lanyard")]
    pub overwrite: bool,
}

pub fn run(loaded: &Loaded, args: MigrateArgs) -> anyhow::Result<std::process::ExitCode> {
    if let Some(url) = &args.from_lanyard {
        return super::lanyard::run(&loaded.config, url, args.overwrite, args.dry_run);
    }
    let path = &loaded.config.storage.path;
    let steps = Store::migrate(path, args.dry_run)?;
    if steps.is_empty() {
        println!("database {} is up to date", path.display());
    }
    for step in steps {
        println!("{}{step}", if args.dry_run { "would " } else { "" });
    }
    Ok(std::process::ExitCode::SUCCESS)
}
