//! `harmy bot commands`: the slash command definitions (`/kv`, `/token`,
//! `/github`, `/privacy`, `/forget`, `/export`) and their registration, a bulk overwrite (PUT) so that running it
//! again replaces rather than duplicates.

use twilight_http::Client;
use twilight_model::application::command::{Command, CommandOption, CommandOptionType, CommandType};
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, GuildMarker};

use crate::app::kv::KvLimits;

/// Discord's limit on a string option's length.
const MAX_OPTION_LENGTH: usize = 6000;

/// Where to register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every guild and DMs (Discord may take a while to show them everywhere).
    Global,
    /// One guild, at once.
    Guild(u64),
}

/// The slash commands, with the configured KV limits as option lengths.
pub fn definitions(limits: KvLimits) -> Vec<Command> {
    let length = |n: usize| Some(n.min(MAX_OPTION_LENGTH) as u16);
    let key =
        CommandOption { max_length: length(limits.max_key_length), ..string("key", "The key (letters, digits, _)") };
    let value = CommandOption { max_length: length(limits.max_value_length), ..string("value", "The value") };
    vec![
        command(
            "kv",
            "Your key/value pairs, shown with your presence",
            vec![
                subcommand("set", "Set a key", vec![key.clone(), value]),
                subcommand("get", "Show a value", vec![key.clone()]),
                subcommand("del", "Delete a key", vec![key]),
                subcommand("list", "List your keys", vec![]),
            ],
        ),
        command("token", "Get a new API token (the old one stops working)", vec![]),
        command(
            "github",
            "Your linked GitHub profile",
            vec![
                subcommand("link", "Link your GitHub profile", vec![string("login", "Your GitHub login")]),
                subcommand("unlink", "Remove the link", vec![]),
            ],
        ),
        command(
            "privacy",
            "Whether harmy serves your presence",
            vec![
                subcommand("show", "Serve your presence, key/value pairs and GitHub profile", vec![]),
                subcommand("hide", "Answer everyone as if harmy did not know you", vec![]),
            ],
        ),
        command(
            "forget",
            "Delete everything harmy stores about you, and hide you",
            vec![CommandOption {
                kind: CommandOptionType::Boolean,
                required: Some(false),
                ..string("confirm", "True to delete (without it, harmy only says what would go)")
            }],
        ),
        command("export", "Get everything harmy stores about you, as a file by DM", vec![]),
    ]
}

/// Registers the commands; returns how many Discord now has.
pub async fn register(client: &Client, scope: Scope, limits: KvLimits) -> anyhow::Result<usize> {
    let application: Id<ApplicationMarker> = client.current_user_application().await?.model().await?.id;
    let commands = definitions(limits);
    let interaction = client.interaction(application);
    let registered = match scope {
        Scope::Global => interaction.set_global_commands(&commands).await?.models().await?,
        Scope::Guild(guild) => {
            let guild = Id::<GuildMarker>::new_checked(guild).ok_or_else(|| anyhow::anyhow!("guild id 0"))?;
            interaction.set_guild_commands(guild, &commands).await?.models().await?
        }
    };
    Ok(registered.len())
}

#[allow(deprecated)] // `dm_permission` must still be named to build the struct
fn command(name: &str, description: &str, options: Vec<CommandOption>) -> Command {
    Command {
        application_id: None,
        contexts: None,
        default_member_permissions: None,
        description: description.into(),
        description_localizations: None,
        dm_permission: None,
        guild_id: None,
        id: None,
        integration_types: None,
        kind: CommandType::ChatInput,
        name: name.into(),
        name_localizations: None,
        nsfw: None,
        options,
        // Discord ignores it on registration; twilight's type requires one.
        version: Id::new(1),
    }
}

fn subcommand(name: &str, description: &str, options: Vec<CommandOption>) -> CommandOption {
    CommandOption {
        kind: CommandOptionType::SubCommand,
        options: Some(options),
        required: None,
        ..string(name, description)
    }
}

fn string(name: &str, description: &str) -> CommandOption {
    CommandOption {
        autocomplete: None,
        channel_types: None,
        choices: None,
        description: description.into(),
        description_localizations: None,
        kind: CommandOptionType::String,
        max_length: None,
        max_value: None,
        min_length: None,
        min_value: None,
        name: name.into(),
        name_localizations: None,
        options: None,
        file_types: None,
        required: Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_match_the_documented_names() {
        let json = serde_json::to_value(definitions(KvLimits::default())).unwrap();
        let names: Vec<&str> = json.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["kv", "token", "github", "privacy", "forget", "export"]);
        assert_eq!(json[4]["options"][0]["name"], "confirm");
        assert_eq!(json[4]["options"][0]["type"], 5, "a boolean");
        let kv_subs: Vec<&str> =
            json[0]["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(kv_subs, ["set", "get", "del", "list"]);
        assert_eq!(json[0]["options"][0]["options"][0]["max_length"], 165);
        // Discord caps string options at 6000 characters.
        assert_eq!(json[0]["options"][0]["options"][1]["max_length"], 6000);
        assert_eq!(json[2]["options"][0]["options"][0]["name"], "login");
    }
}
