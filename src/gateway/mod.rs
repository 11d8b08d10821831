//! The Discord gateway: one twilight shard whose dispatches fill the presence
//! cache (`roster`) and whose MESSAGE_CREATE / INTERACTION_CREATE (and READY)
//! events go to the bot over a bounded channel.
//!
//! The shard loop never blocks: presence events are applied in place (short
//! lock sections, no I/O), bot events are handed over with `try_send` (dropped
//! with a warning when the bot lags), and nothing awaits except the shard.
//! Presence-bearing events are read with harmy's own borrowed payloads
//! (`payload`); only the bot's events are deserialised into twilight-model.
//!
//! Session liveness (`/health`, `harmy_gateway_up`) is twilight's shard state:
//! up while it is `Active` (set at READY or RESUMED), down otherwise. It is
//! read after every item the shard yields and on a timer, because a
//! connection that ends without a close frame, and the reconnect after it,
//! yield nothing until the reconnect succeeds or fails (which may take
//! twilight's 10 s connect timeout). The member requests (op 8) that Discord's
//! limit kept back (`members`) are sent when they are due.

mod fatal;
pub(crate) mod members;
pub(crate) mod payload;
mod roster;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use twilight_gateway::queue::InMemoryQueue;
use twilight_gateway::{
    CloseFrame, ConfigBuilder, Event, EventTypeFlags, Intents, Message, Shard, ShardId, ShardState,
};
use twilight_model::gateway::event::GatewayEventDeserializer;

use crate::app::App;
use crate::app::health::GatewayHealth;
use crate::config::{DISCORD_GATEWAY, DiscordConfig};

/// The intents harmy identifies with (37635): guilds, members and presences,
/// and the messages (with their content) of guild channels and DMs for the bot.
pub const INTENTS: Intents = Intents::GUILDS
    .union(Intents::GUILD_MEMBERS)
    .union(Intents::GUILD_PRESENCES)
    .union(Intents::GUILD_MESSAGES)
    .union(Intents::DIRECT_MESSAGES)
    .union(Intents::MESSAGE_CONTENT);

/// The events handed to the bot (deserialised by twilight).
pub const BOT_EVENTS: EventTypeFlags =
    EventTypeFlags::MESSAGE_CREATE.union(EventTypeFlags::INTERACTION_CREATE).union(EventTypeFlags::READY);

/// Capacity of the bot's event channel; beyond it events are dropped with a warning.
pub const BOT_QUEUE: usize = 1024;

/// How often the shard loop reads the shard's state and sends due member
/// requests: well within the 2 s in which `/health` must see a lost session.
pub const TICK: Duration = Duration::from_millis(250);

/// The channel the bot reads its events from.
pub fn bot_channel() -> (mpsc::Sender<Event>, mpsc::Receiver<Event>) {
    mpsc::channel(BOT_QUEUE)
}

/// Runs the shard until `shutdown` (Ok) or a fatal close such as 4014 / 4004 (Err,
/// with the message for the operator).
pub async fn run(app: Arc<App>, bot: mpsc::Sender<Event>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut shard = Shard::with_config(ShardId::ONE, shard_config(&app.config().discord));
    let span = tracing::info_span!("shard", id = shard.id().number());
    shard_loop(&mut shard, app, bot, shutdown).instrument(span).await
}

fn shard_config(discord: &DiscordConfig) -> twilight_gateway::Config {
    let builder = ConfigBuilder::new(discord.token.expose().to_string(), INTENTS).large_threshold(250);
    if discord.gateway_url == DISCORD_GATEWAY {
        builder.build()
    } else {
        // A proxy or a local test server: no 5 s identify spacing (it is Discord's own limit).
        builder
            .proxy_url(discord.gateway_url.trim_end_matches('/').to_string())
            .queue(InMemoryQueue::new(0, 0, Duration::ZERO, 0))
            .build()
    }
}

async fn shard_loop(
    shard: &mut Shard,
    app: Arc<App>,
    bot: mpsc::Sender<Event>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut roster = roster::Roster::new(app.clone());
    let gateway = &app.gateway;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(url = %app.config().discord.gateway_url, "connecting to the Discord gateway");
    loop {
        // Twilight sends commands only while identified; earlier, a request would
        // wait in its queue and leave later than its schedule says. While
        // identified, the loop wakes up when the next one is due, so a request
        // leaves on time (a `retry_after` of Discord's is kept to the millisecond).
        let next_request = roster.next_due().filter(|_| shard.state().is_identified());
        let item = tokio::select! {
            () = shutdown.cancelled() => {
                close(shard).await;
                return Ok(());
            }
            _ = tick.tick() => {
                observe(shard, gateway);
                send_due(shard, &mut roster);
                continue;
            }
            () = until(next_request) => {
                send_due(shard, &mut roster);
                continue;
            }
            item = shard.next() => item,
        };
        observe(shard, gateway);
        let message = match item {
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                tracing::warn!(%error, "gateway receive error");
                continue;
            }
            None => {
                gateway.set_up(false);
                anyhow::bail!("the Discord gateway connection ended");
            }
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Close(frame) => {
                let code = frame.as_ref().map(|f| f.code);
                if let Some(fatal) = fatal::diagnose(code, &app.config().discord).await {
                    return Err(fatal);
                }
                tracing::warn!(code, "gateway connection closed; reconnecting");
                continue;
            }
        };
        let for_bot = if text.len() > BIG_FRAME && multi_thread() {
            // A big guild's member list takes a while to apply: let the runtime
            // move this worker's other tasks (HTTP) elsewhere meanwhile.
            tokio::task::block_in_place(|| dispatch(&mut roster, shard, &app, &text))
        } else {
            dispatch(&mut roster, shard, &app, &text)
        };
        if for_bot {
            forward(&bot, text);
        }
    }
}

/// Sends the member requests whose time has come, if the shard is identified.
fn send_due(shard: &Shard, roster: &mut roster::Roster) {
    if shard.state().is_identified() {
        for request in roster.due_requests() {
            shard.command(&request);
        }
    }
}

/// Waits until `at`, or forever when there is no `at`.
async fn until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Records whether the shard has a session: twilight's state is `Active` from
/// READY or RESUMED until it notices any loss (a close frame, a read error or
/// EOF, a heartbeat left unacknowledged until the next one is due, a failed
/// reconnect).
fn observe(shard: &Shard, health: &GatewayHealth) {
    health.set_up(shard.state() == ShardState::Active);
}

/// Frames above this size (a large GUILD_CREATE or member chunk) are applied
/// with `block_in_place`.
const BIG_FRAME: usize = 256 * 1024;

fn multi_thread() -> bool {
    tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
}

/// Applies a frame to the cache; true when it is an event for the bot.
fn dispatch(roster: &mut roster::Roster, shard: &Shard, app: &App, text: &str) -> bool {
    let Some(peek) = GatewayEventDeserializer::from_json(text) else {
        tracing::warn!("unparseable gateway frame");
        return false;
    };
    let Some(kind) = peek.event_type().filter(|_| peek.op() == 0) else { return false };
    app.gateway.note_event();
    if kind == "RESUMED" {
        tracing::info!("gateway session resumed");
    }
    match roster.handle(kind, text) {
        Ok(Some(request)) => shard.command(&request),
        Ok(None) => {}
        Err(error) => tracing::warn!(event = kind, %error, "unreadable gateway event"),
    }
    matches!(kind, "MESSAGE_CREATE" | "INTERACTION_CREATE" | "READY")
}

/// Deserialises a bot event and hands it over without waiting.
fn forward(bot: &mpsc::Sender<Event>, text: String) {
    let event = match twilight_gateway::parse(text, BOT_EVENTS) {
        Ok(Some(event)) => Event::from(event),
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, "unreadable bot event");
            return;
        }
    };
    if let Err(mpsc::error::TrySendError::Full(event)) = bot.try_send(event) {
        tracing::warn!(event = ?event.kind(), "the bot is lagging: event dropped");
    }
}

/// Says goodbye so that Discord shows the bot offline at once.
async fn close(shard: &mut Shard) {
    shard.close(CloseFrame::NORMAL);
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(item) = shard.next().await {
            if matches!(item, Ok(Message::Close(_))) {
                break;
            }
        }
    })
    .await;
}
