//! INTERACTION_CREATE: the slash commands, answered with an ephemeral message
//! (interaction callback type 4, flags 64) that only the caller sees.

use twilight_model::application::interaction::{Interaction, InteractionData};
use twilight_model::channel::message::MessageFlags;
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseData, InteractionResponseType};

use crate::ids::UserId;

use super::command::{self, Action};
use super::{Bot, privacy, reply, token};

/// Handles one interaction; only application commands are harmy's.
pub async fn handle(bot: &Bot, interaction: &Interaction) {
    let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else { return };
    let Some(user) = interaction.author_id().map(UserId::from) else { return };
    tracing::debug!(user = %user, command = %data.name, "slash command");
    let text = if !bot.serves(interaction.guild_id, user) {
        "harmy does not serve this server.".to_string()
    } else {
        match command::parse_slash(data) {
            None => "harmy does not know this command; the operator should run `harmy bot commands`.".into(),
            Some(action) => match bot.admit(user, &action, false) {
                Err(refusal) => refusal.unwrap_or_default(),
                Ok(()) if action == Action::Token => token::by_slash(bot, user).await,
                Ok(()) if action == Action::Export => privacy::export(bot, user, false).await,
                Ok(()) => bot.answer(user, action, true).await,
            },
        }
    };
    let response = InteractionResponse {
        kind: InteractionResponseType::ChannelMessageWithSource,
        data: Some(InteractionResponseData {
            content: Some(reply::fit(&text)),
            flags: Some(MessageFlags::EPHEMERAL),
            allowed_mentions: Some(reply::no_mentions()),
            ..Default::default()
        }),
    };
    let client = bot.http.interaction(interaction.application_id);
    if let Err(e) = client.create_response(interaction.id, &interaction.token, &response).await {
        tracing::warn!(interaction = %interaction.id, error = %e, "could not answer a slash command");
    }
}
