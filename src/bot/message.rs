//! MESSAGE_CREATE: the leak guard, then the prefixed message commands, each
//! answered as a reply in the same channel with mentions off.

use twilight_model::channel::Message;
use twilight_model::gateway::event::Event;

use crate::ids::UserId;

use super::command::{self, Action};
use super::{Bot, privacy, reply, token};

/// A cheap first look, on the event loop: whether an event may need handling at
/// all (bots ignored, other guilds ignored, plain chat without a command or a
/// token-shaped word skipped), so ordinary messages never cost a task.
pub fn worth_a_look(bot: &Bot, event: &Event) -> bool {
    match event {
        Event::MessageCreate(message) => {
            let prefix = &bot.app.config().discord.command_prefix;
            !message.author.bot
                && bot.serves(message.guild_id, message.author.id.into())
                && (message.content.trim_start().starts_with(prefix.as_str())
                    || crate::app::tokens::find_in_text(&message.content).next().is_some())
        }
        Event::InteractionCreate(_) => true,
        _ => false,
    }
}

/// Handles one message that passed [`worth_a_look`].
pub async fn handle(bot: &Bot, message: &Message) {
    // In a DM only the bot sees the text, so a token there is no leak.
    if message.guild_id.is_some()
        && let Some(text) = token::guard_leak(bot, message).await
    {
        say(bot, message, &text).await;
        return;
    }
    let prefix = &bot.app.config().discord.command_prefix;
    let Some(parsed) = command::parse_message(prefix, &message.content) else { return };
    let user = UserId::from(message.author.id);
    tracing::debug!(user = %user, channel = %message.channel_id, "message command");
    // A usage line is a reply too: it counts like the command it corrects.
    if let Err(refusal) = bot.admit(user, parsed.as_ref().unwrap_or(&Action::Help), true) {
        if let Some(text) = refusal {
            say(bot, message, &text).await;
        }
        return;
    }
    let text = match parsed {
        Err(usage) => usage.show(prefix),
        Ok(Action::Token) => token::by_message(bot, message).await,
        Ok(Action::Export) => privacy::export(bot, user, message.guild_id.is_none()).await,
        Ok(action) => bot.answer(user, action, false).await,
    };
    if !text.is_empty() {
        say(bot, message, &text).await;
    }
}

/// Replies to a message (without pinging its author); failures are logged.
async fn say(bot: &Bot, message: &Message, text: &str) {
    let text = reply::fit(text);
    let mentions = reply::no_mentions();
    let request = bot
        .http
        .create_message(message.channel_id)
        .content(&text)
        .allowed_mentions(Some(&mentions))
        .reply(message.id)
        .fail_if_not_exists(false);
    if let Err(e) = request.await {
        tracing::warn!(channel = %message.channel_id, error = %e, "could not send a bot reply");
    }
}
