//! What the bot says: every reply goes through [`fit`] (mentions neutralised,
//! under Discord's 2000-character limit), and every error becomes friendly text
//! in one place, [`error_text`].

use twilight_model::channel::message::AllowedMentions;

use crate::app::github::GithubError;
use crate::app::kv::KvError;
use crate::error::Error;

/// Discord's limit on a message's content, in characters.
pub const MAX_CHARS: usize = 2000;

/// Allowed mentions for every reply: none, so a reply never pings anyone
/// (`{"parse":[]}`), whatever text a user managed to get echoed.
pub fn no_mentions() -> AllowedMentions {
    AllowedMentions::default()
}

/// Makes text safe to send: mass mentions broken with a zero-width space (a
/// second line of defence behind [`no_mentions`]), then cut to the limit.
pub fn fit(text: &str) -> String {
    let text = neutralise(text);
    if text.chars().count() <= MAX_CHARS {
        return text;
    }
    const MARK: &str = "… (cut)";
    let keep = MAX_CHARS - MARK.chars().count();
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str(MARK);
    cut
}

/// Breaks `@everyone`, `@here` and `<@…>` / `<@&…>` mentions so they render as text.
pub fn neutralise(text: &str) -> String {
    text.replace("@everyone", "@\u{200B}everyone").replace("@here", "@\u{200B}here").replace("<@", "<@\u{200B}")
}

/// `text` as inline code, with backticks (which would end the span) removed.
pub fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', ""))
}

/// The text a user sees for an error; internal details go to the log instead.
pub fn error_text(error: &Error) -> String {
    match error {
        Error::Kv(KvError::InvalidKey(key)) => {
            format!("{} is not a valid key: keys are letters, digits and underscores only.", code(key))
        }
        Error::Kv(KvError::KeyTooLong { len, max }) => {
            format!("That key is {len} characters long; the limit is {max} characters per key.")
        }
        Error::Kv(KvError::ValueTooLong { len, max }) => {
            format!("That value is {len} characters long; the limit is {max} characters per value.")
        }
        Error::Kv(KvError::TooManyKeys { max }) => {
            format!("You already have {max} keys, the limit per user. Delete one before adding another.")
        }
        Error::Kv(KvError::TooLarge { max, .. }) => format!(
            "Your keys and values would take more than {max} bytes together, the limit per user. \
             Delete or shorten some first."
        ),
        Error::KvKeyNotFound(key) => format!("You have no key {}.", code(key)),
        Error::Github(GithubError::UnknownLogin(login)) => format!("GitHub has no user {}.", code(login)),
        Error::Github(GithubError::InvalidLogin(login)) => format!(
            "{} is not a GitHub login (letters, digits and single hyphens, at most 39 characters).",
            code(login)
        ),
        Error::Github(GithubError::NotLinked) => "You have no GitHub profile linked.".into(),
        Error::Github(GithubError::Unavailable(_)) => {
            "GitHub cannot be reached right now; please try again in a few minutes.".into()
        }
        Error::TokenLocked { retry_after } => format!(
            "That API token had too many failed attempts in the last minute, so it is not checked \
             for {retry_after} s. Use `/token` if you need a new one."
        ),
        Error::KvWriteRate { per_minute, retry_after } => {
            format!("Slow down: at most {per_minute} key/value writes a minute. Try again in {retry_after} s.")
        }
        Error::InvalidUserId(_) | Error::NotMonitored(_) | Error::Unauthorized => {
            "That did not work: harmy could not tell who you are.".into()
        }
        Error::Store(_) | Error::Internal(_) => {
            tracing::error!(error = %error, "bot command failed");
            "Something went wrong on harmy's side; the operator can find the details in its log.".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept() {
        assert_eq!(fit("hello"), "hello");
        assert_eq!(fit(&"x".repeat(MAX_CHARS)).chars().count(), MAX_CHARS);
    }

    #[test]
    fn long_text_is_cut_under_the_limit_counting_characters() {
        let cut = fit(&"é".repeat(5000));
        assert_eq!(cut.chars().count(), MAX_CHARS);
        assert!(cut.ends_with("… (cut)"));
    }

    #[test]
    fn mass_mentions_and_mentions_are_neutralised() {
        let safe = fit("hi @everyone and @here, <@123> <@&456>");
        assert!(!safe.contains("@everyone") && !safe.contains("@here"));
        assert!(!safe.contains("<@1") && !safe.contains("<@&"));
        assert!(safe.contains("everyone") && safe.contains("123"));
    }

    #[test]
    fn no_mentions_serialises_to_an_empty_parse_list() {
        assert_eq!(serde_json::to_string(&no_mentions()).unwrap(), r#"{"parse":[]}"#);
    }

    #[test]
    fn code_spans_cannot_be_broken_out_of() {
        assert_eq!(code("a`b"), "`ab`");
    }

    #[test]
    fn kv_limit_errors_name_the_limit() {
        let text = error_text(&Error::Kv(KvError::ValueTooLong { len: 10_001, max: 10_000 }));
        assert!(text.contains("10000"), "{text}");
        let text = error_text(&Error::Kv(KvError::TooManyKeys { max: 512 }));
        assert!(text.contains("512"), "{text}");
        let text = error_text(&Error::Kv(KvError::KeyTooLong { len: 200, max: 165 }));
        assert!(text.contains("165"), "{text}");
    }

    #[test]
    fn internal_errors_do_not_leak_details() {
        let text = error_text(&Error::Internal("secret path /var/lib".into()));
        assert!(!text.contains("/var/lib"));
    }
}
