//! `config.example.toml`, the documented config, as the template `harmy init`
//! fills in: the same comments and keys, with some values replaced.

use toml::Value;

use super::ConfigError;

/// The example config, every key with its default and its documentation.
pub const EXAMPLE: &str = include_str!("../../config.example.toml");

/// The example with each `(section, key, value)` set: the key's line in its
/// section is replaced, its comments kept.
pub fn filled(values: &[(&str, &str, Value)]) -> Result<String, ConfigError> {
    let mut lines: Vec<String> = EXAMPLE.lines().map(str::to_string).collect();
    for (section, key, value) in values {
        let header = format!("[{section}]");
        let start = lines
            .iter()
            .position(|l| l.trim() == header)
            .ok_or_else(|| ConfigError(format!("the example config has no [{section}]")))?;
        let prefix = format!("{key} = ");
        let line = lines[start + 1..]
            .iter()
            .take_while(|l| !l.trim_start().starts_with('['))
            .position(|l| l.starts_with(&prefix))
            .map(|i| start + 1 + i)
            .ok_or_else(|| ConfigError(format!("the example config has no {section}.{key}")))?;
        lines[line] = format!("{key} = {value}");
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Sources, load_text};

    #[test]
    fn the_filled_example_loads_with_the_values_and_keeps_its_comments() {
        let values = [
            ("discord", "token", Value::String("a \"quoted\" token".into())),
            ("discord", "guild_ids", Value::Array(vec![Value::String("42".into())])),
            ("storage", "path", Value::String("/home/ada/.local/state/harmy/harmy.redb".into())),
            ("rate_limit", "per_second", Value::Integer(9)),
        ];
        let text = filled(&values).unwrap();
        assert!(text.contains("# Bot token. Env: HARMY_DISCORD_TOKEN\ntoken = "), "{text}");
        assert_eq!(text.lines().count(), EXAMPLE.lines().count(), "lines replaced, none added");
        let config = load_text("/x/config.toml".as_ref(), &text, &Sources::default()).unwrap().config;
        assert_eq!(config.discord.token.expose(), "a \"quoted\" token");
        assert_eq!(config.discord.guild_ids, vec![42]);
        assert_eq!(config.storage.path, std::path::Path::new("/home/ada/.local/state/harmy/harmy.redb"));
        assert_eq!(config.rate_limit.per_second, 9);
        let untouched =
            Config { discord: config.discord.clone(), storage: config.storage.clone(), ..Config::default() };
        assert_eq!(config.rate_limit.per_minute, untouched.rate_limit.per_minute);
    }

    #[test]
    fn a_key_the_example_lacks_is_an_error() {
        assert!(filled(&[("discord", "nope", Value::Integer(1))]).is_err());
        assert!(filled(&[("nope", "token", Value::Integer(1))]).is_err());
    }
}
