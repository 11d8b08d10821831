//! The bot's commands, parsed from a message (`.set KEY VALUE`) or from a slash
//! command's options (`/kv set key value`) into one [`Action`], so both paths
//! run the same code.

use twilight_model::application::interaction::application_command::{CommandData, CommandOptionValue};

/// What a user asked the bot to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `.set KEY VALUE`, `/kv set`
    KvSet { key: String, value: String },
    /// `.get KEY`, `/kv get`
    KvGet { key: String },
    /// `.del KEY`, `/kv del`
    KvDel { key: String },
    /// `.kv`, `/kv list`
    KvList,
    /// `.token`, `/token`
    Token,
    /// `.github LOGIN`, `/github link`
    GithubLink { login: String },
    /// `.github unlink`, `/github unlink`
    GithubUnlink,
    /// `.show`, `/privacy show`
    Show,
    /// `.hide`, `/privacy hide`
    Hide,
    /// `.forget` (asks first), `.forget confirm`, `/forget confirm:`
    Forget { confirmed: bool },
    /// `.export`, `/export`
    Export,
    /// `.help`
    Help,
}

/// A known command with missing or extra arguments: how to call it, with
/// `{p}` standing for the prefix (see [`Usage::show`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub &'static str);

impl Usage {
    /// The usage line for a prefix.
    pub fn show(&self, prefix: &str) -> String {
        format!("Usage: {}", self.0.replace("{p}", prefix))
    }
}

/// Parses a message. `None` when it is not a command (no prefix, or an unknown
/// name: people write ".." and "...", which must not draw a reply).
pub fn parse_message(prefix: &str, content: &str) -> Option<Result<Action, Usage>> {
    let rest = content.trim_start().strip_prefix(prefix)?;
    if rest.starts_with(char::is_whitespace) {
        return None;
    }
    let (name, args) = split_word(rest);
    let one_word = |usage: &'static str| match split_word(args) {
        (word, "") if !word.is_empty() => Ok(word.to_string()),
        _ => Err(Usage(usage)),
    };
    let no_args = |action: Action, usage: &'static str| if args.is_empty() { Ok(action) } else { Err(Usage(usage)) };
    let parsed = match name.to_ascii_lowercase().as_str() {
        "add" | "set" => match split_word(args) {
            (key, value) if !key.is_empty() && !value.is_empty() => {
                Ok(Action::KvSet { key: key.to_string(), value: value.to_string() })
            }
            _ => Err(Usage("`{p}set KEY VALUE`")),
        },
        "get" => one_word("`{p}get KEY`").map(|key| Action::KvGet { key }),
        "del" => one_word("`{p}del KEY`").map(|key| Action::KvDel { key }),
        "kv" => no_args(Action::KvList, "`{p}kv`"),
        "token" | "apikey" => no_args(Action::Token, "`{p}token`"),
        "github" => one_word("`{p}github LOGIN` or `{p}github unlink`").map(|login| {
            if login.eq_ignore_ascii_case("unlink") { Action::GithubUnlink } else { Action::GithubLink { login } }
        }),
        "show" => no_args(Action::Show, "`{p}show`"),
        "hide" => no_args(Action::Hide, "`{p}hide`"),
        "forget" => match args {
            "" => Ok(Action::Forget { confirmed: false }),
            confirm if confirm.eq_ignore_ascii_case("confirm") => Ok(Action::Forget { confirmed: true }),
            _ => Err(Usage("`{p}forget`, then `{p}forget confirm`")),
        },
        "export" => no_args(Action::Export, "`{p}export`"),
        "help" => Ok(Action::Help),
        _ => return None,
    };
    Some(parsed)
}

/// Splits off the first whitespace-separated word; the rest loses its leading
/// and trailing whitespace but keeps inner spacing and newlines (a KV value).
fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(i) => (&text[..i], text[i..].trim()),
        None => (text, ""),
    }
}

/// Reads a slash command. `None` for a command harmy did not register.
pub fn parse_slash(data: &CommandData) -> Option<Action> {
    let (sub, options) = match data.options.first() {
        Some(option) => match &option.value {
            CommandOptionValue::SubCommand(options) => (option.name.as_str(), options.as_slice()),
            _ => ("", data.options.as_slice()),
        },
        None => ("", &[][..]),
    };
    let string = |name: &str| {
        options.iter().find(|o| o.name == name).and_then(|o| match &o.value {
            CommandOptionValue::String(s) => Some(s.trim().to_string()),
            _ => None,
        })
    };
    let boolean = |name: &str| {
        options.iter().find(|o| o.name == name).is_some_and(|o| matches!(o.value, CommandOptionValue::Boolean(true)))
    };
    match (data.name.as_str(), sub) {
        ("kv", "set") => Some(Action::KvSet { key: string("key")?, value: string("value")? }),
        ("kv", "get") => Some(Action::KvGet { key: string("key")? }),
        ("kv", "del") => Some(Action::KvDel { key: string("key")? }),
        ("kv", "list") => Some(Action::KvList),
        ("token", _) => Some(Action::Token),
        ("github", "link") => Some(Action::GithubLink { login: string("login")? }),
        ("github", "unlink") => Some(Action::GithubUnlink),
        ("privacy", "show") => Some(Action::Show),
        ("privacy", "hide") => Some(Action::Hide),
        ("forget", _) => Some(Action::Forget { confirmed: boolean("confirm") }),
        ("export", _) => Some(Action::Export),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(content: &str) -> Option<Result<Action, Usage>> {
        parse_message(".", content)
    }

    #[test]
    fn set_takes_the_rest_of_the_message_as_value() {
        let expected = Action::KvSet { key: "bio".into(), value: "hello  world\nline two".into() };
        assert_eq!(parse(".set bio   hello  world\nline two  "), Some(Ok(expected.clone())));
        assert_eq!(parse(".add bio hello  world\nline two"), Some(Ok(expected)));
    }

    #[test]
    fn set_without_value_shows_usage() {
        assert_eq!(parse(".set bio"), Some(Err(Usage("`{p}set KEY VALUE`"))));
        assert_eq!(parse(".set"), Some(Err(Usage("`{p}set KEY VALUE`"))));
    }

    #[test]
    fn get_del_take_exactly_one_key() {
        assert_eq!(parse(".get color"), Some(Ok(Action::KvGet { key: "color".into() })));
        assert_eq!(parse(".del color"), Some(Ok(Action::KvDel { key: "color".into() })));
        assert_eq!(parse(".get"), Some(Err(Usage("`{p}get KEY`"))));
        assert_eq!(parse(".del a b"), Some(Err(Usage("`{p}del KEY`"))));
    }

    #[test]
    fn token_apikey_kv_help() {
        assert_eq!(parse(".token"), Some(Ok(Action::Token)));
        assert_eq!(parse(".apikey"), Some(Ok(Action::Token)));
        assert_eq!(parse(".kv"), Some(Ok(Action::KvList)));
        assert_eq!(parse(".help"), Some(Ok(Action::Help)));
        assert_eq!(parse(".HELP"), Some(Ok(Action::Help)));
    }

    #[test]
    fn github_link_and_unlink() {
        assert_eq!(parse(".github vaqqq"), Some(Ok(Action::GithubLink { login: "vaqqq".into() })));
        assert_eq!(parse(".github unlink"), Some(Ok(Action::GithubUnlink)));
        assert!(matches!(parse(".github"), Some(Err(_))));
    }

    #[test]
    fn privacy_commands_and_forget_asks_before_it_deletes() {
        assert_eq!(parse(".show"), Some(Ok(Action::Show)));
        assert_eq!(parse(".hide"), Some(Ok(Action::Hide)));
        assert_eq!(parse(".export"), Some(Ok(Action::Export)));
        assert_eq!(parse(".forget"), Some(Ok(Action::Forget { confirmed: false })));
        assert_eq!(parse(".forget confirm"), Some(Ok(Action::Forget { confirmed: true })));
        assert_eq!(parse(".forget CONFIRM"), Some(Ok(Action::Forget { confirmed: true })));
        assert!(matches!(parse(".forget please"), Some(Err(_))));
        assert!(matches!(parse(".hide now"), Some(Err(_))));
        let slash = |value: serde_json::Value| parse_slash(&serde_json::from_value(value).unwrap());
        let privacy = |sub: &str| {
            serde_json::json!({"id": "43", "name": "privacy", "type": 1,
            "options": [{"name": sub, "type": 1, "options": []}]})
        };
        assert_eq!(slash(privacy("show")), Some(Action::Show));
        assert_eq!(slash(privacy("hide")), Some(Action::Hide));
        let forget = |options| serde_json::json!({"id": "44", "name": "forget", "type": 1, "options": options});
        assert_eq!(slash(forget(serde_json::json!([]))), Some(Action::Forget { confirmed: false }));
        let no = serde_json::json!([{"name": "confirm", "type": 5, "value": false}]);
        assert_eq!(slash(forget(no)), Some(Action::Forget { confirmed: false }));
        let yes = serde_json::json!([{"name": "confirm", "type": 5, "value": true}]);
        assert_eq!(slash(forget(yes)), Some(Action::Forget { confirmed: true }));
        assert_eq!(slash(serde_json::json!({"id": "45", "name": "export", "type": 1})), Some(Action::Export));
    }

    #[test]
    fn other_messages_are_not_commands() {
        for text in ["hello", "...", ". set a b", ".unknown x", "", "set a b"] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn prefix_comes_from_config() {
        assert_eq!(parse_message("!", "!kv"), Some(Ok(Action::KvList)));
        assert_eq!(parse_message("!", ".kv"), None);
        assert_eq!(parse_message("harmy ", "harmy kv"), Some(Ok(Action::KvList)));
    }

    #[test]
    fn slash_options_become_actions() {
        let data: CommandData = serde_json::from_value(serde_json::json!({
            "id": "40", "name": "kv", "type": 1,
            "options": [{"name": "set", "type": 1, "options": [
                {"name": "key", "type": 3, "value": "color"},
                {"name": "value", "type": 3, "value": "blue sky"}]}]
        }))
        .unwrap();
        assert_eq!(parse_slash(&data), Some(Action::KvSet { key: "color".into(), value: "blue sky".into() }));
        let data: CommandData =
            serde_json::from_value(serde_json::json!({"id": "41", "name": "token", "type": 1})).unwrap();
        assert_eq!(parse_slash(&data), Some(Action::Token));
        let data: CommandData = serde_json::from_value(serde_json::json!({
            "id": "42", "name": "github", "type": 1, "options": [{"name": "unlink", "type": 1, "options": []}]
        }))
        .unwrap();
        assert_eq!(parse_slash(&data), Some(Action::GithubUnlink));
    }
}
