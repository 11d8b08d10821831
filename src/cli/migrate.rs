//! `harmy migrate`: create or upgrade the database schema.

use clap::Args;

use crate::config::Loaded;
use crate::store::Store;

/// `harmy migrate [--dry-run]`
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Say what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(loaded: &Loaded, args: MigrateArgs) -> anyhow::Result<std::process::ExitCode> {
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
