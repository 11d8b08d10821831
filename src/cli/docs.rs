//! The hidden `harmy generate-docs`: man pages and shell completions from the
//! clap definition, so they can never say something the CLI does not do.
//! `tests/docs.rs` regenerates them into a temporary directory and fails on drift.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

/// `harmy generate-docs`
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Directory to write `man/` and `completions/` into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

pub fn run(args: &DocsArgs) -> anyhow::Result<ExitCode> {
    generate(&args.out)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `DIR/man/*.1` and `DIR/completions/*`.
pub fn generate(out: &Path) -> std::io::Result<()> {
    let man = out.join("man");
    let completions = out.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    let mut command = Cli::command();
    // Building propagates the global options and the version into every subcommand's page.
    command.build();
    write_man(&man, &command, "harmy")?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
        let mut command = Cli::command();
        clap_complete::generate_to(shell, &mut command, "harmy", &completions)?;
    }
    Ok(())
}

/// One page per command and subcommand, named `harmy-kv-set.1` and so on.
fn write_man(dir: &Path, command: &clap::Command, name: &str) -> std::io::Result<()> {
    let command = command.clone().name(name.to_string()).bin_name(name.replace('-', " "));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(dir.join(format!("{name}.1")), page)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        write_man(dir, sub, &format!("{name}-{}", sub.get_name()))?;
    }
    Ok(())
}
