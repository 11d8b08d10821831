//! `harmy config check`: loads the configuration as `harmy serve` would (file,
//! `HARMY_*` variables, flags, secret files) and says what it came to, without
//! opening the database or asking Discord, so that an edited config, or the one a
//! package installed, is checked before the service restarts on it.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Loaded;

/// `harmy config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load the configuration as `harmy serve` would and print what it came to.
    ///
    /// Exits 2 with the file, line and key when the file does not parse, names an
    /// unknown key, or a token file cannot be read; else prints the paths and the
    /// address harmy would use and whether a bot token is set. Discord is not
    /// asked: `harmy bot check` does that.
    Check,
}

pub fn run(loaded: &Loaded, command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Check => {
            let mut stdout = std::io::stdout().lock();
            write!(stdout, "{}", summary(loaded))?;
            stdout.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What `config check` prints for a loaded configuration.
fn summary(loaded: &Loaded) -> String {
    let config = &loaded.config;
    let file = match &loaded.file {
        Some(path) => path.display().to_string(),
        None => "none (defaults and HARMY_* variables)".to_string(),
    };
    let token = if config.discord.token.is_empty() {
        "not set (harmy serve needs one: discord.token, discord.token_file, HARMY_DISCORD_TOKEN or \
         HARMY_DISCORD_TOKEN_FILE, which harmy.service sets)"
    } else {
        "set"
    };
    let guilds = match config.discord.guild_ids.as_slice() {
        [] => "every guild the bot is in".to_string(),
        ids => ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
    };
    format!(
        "config file: {file}\ndatabase: {}\nadmin socket: {}\nhttp: {}\ndiscord token: {token}\nguilds: {guilds}\nok\n",
        config.storage.path.display(),
        config.admin.socket.display(),
        config.http.listen,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Sources, load_text};

    #[test]
    fn the_summary_names_the_paths_and_whether_a_token_is_set_never_the_token() {
        let text = "[discord]\ntoken = \"MTAw.secret\"\nguild_ids = [\"42\"]\n";
        let loaded = load_text("/etc/harmy/config.toml".as_ref(), text, &Sources::default()).unwrap();
        let summary = summary(&loaded);
        assert!(summary.contains("config file: /etc/harmy/config.toml\n"), "{summary}");
        assert!(summary.contains("database: /var/lib/harmy/harmy.redb\n"), "{summary}");
        assert!(summary.contains("admin socket: /run/harmy/admin.sock\n"), "{summary}");
        assert!(summary.contains("http: 127.0.0.1:4001\n"), "{summary}");
        assert!(summary.contains("discord token: set\nguilds: 42\n"), "{summary}");
        assert!(!summary.contains("secret"), "{summary}");
    }

    #[test]
    fn a_missing_token_is_said_not_refused() {
        let loaded = load_text("/c.toml".as_ref(), "", &Sources::default()).unwrap();
        let summary = summary(&loaded);
        assert!(summary.contains("discord token: not set (harmy serve needs one"), "{summary}");
        assert!(summary.contains("guilds: every guild the bot is in\n"), "{summary}");
        assert!(summary.ends_with("ok\n"), "{summary}");
    }
}
