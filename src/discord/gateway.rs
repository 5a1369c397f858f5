//! The gateway connection (serenity's client): interactions, and the 📌 reactions
//! and pins that put a message on the timeline.
//!
//! Owns: the connection and its intents — `GUILDS` (threads and channels),
//! `GUILD_MESSAGES` (the "pinned a message" notice), `GUILD_MESSAGE_REACTIONS`
//! (📌), and the privileged `MESSAGE_CONTENT`, without which the captured message
//! arrives empty (switch it on under Bot → Privileged Gateway Intents).
//! Serenity keeps the session: heartbeats, and after a dropped connection it
//! RESUMEs (Discord replays what was missed) or identifies again; a new session
//! catches up on the pins and 📌 it may have missed ([`Capture::catch_up`]).
//! The gateway URL is the one `GET /api/v10/gateway` answers on `DISCORD_API_URL`:
//! serenity's HTTP client is pointed there as a proxy, without its rate limiter
//! (which would ignore the proxy); that one call is all serenity sends over REST.
//! Must not: answer interactions itself ([`Interactions`] does) or decide anything.

use super::capture::{CAPTURE_EMOJI, Capture};
use super::interactions::Interactions;
use super::wire;
use serenity::all::{
    ApplicationId, ClientBuilder, Context, EventHandler, GatewayIntents, HttpBuilder, Interaction,
    Message, MessageType, Reaction, ReactionType, Ready,
};
use std::future::Future;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("DISCORD_APPLICATION_ID is not a Discord id")]
    ApplicationId,
    #[error("the Discord gateway client failed: {0}")]
    Client(#[from] serenity::Error),
}

/// The intents warroom asks for; see the module documentation for why each.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::GUILD_MESSAGE_REACTIONS
        | GatewayIntents::MESSAGE_CONTENT
}

/// What the gateway needs to connect.
pub struct GatewaySettings<'a> {
    pub api_url: &'a str,
    pub token: &'a str,
    pub application_id: &'a str,
}

/// Connects and handles events until `shutdown` completes.
pub async fn run(
    settings: GatewaySettings<'_>,
    interactions: Interactions,
    capture: Capture,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GatewayError> {
    let application_id: u64 = settings
        .application_id
        .parse()
        .ok()
        .filter(|id| *id != 0)
        .ok_or(GatewayError::ApplicationId)?;
    let http = HttpBuilder::new(settings.token)
        .proxy(settings.api_url)
        .ratelimiter_disabled(true)
        .application_id(ApplicationId::new(application_id))
        .build();
    let mut client = ClientBuilder::new_with_http(http, intents())
        .event_handler(Handler {
            interactions,
            capture,
        })
        .await?;
    let shards = client.shard_manager.clone();
    tokio::select! {
        ended = client.start() => ended?,
        () = shutdown => shards.shutdown_all().await,
    }
    Ok(())
}

struct Handler {
    interactions: Interactions,
    capture: Capture,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    /// A new session (not a resumed one, where Discord replays what was missed):
    /// what was marked while nobody listened is read back.
    async fn ready(&self, _: Context, ready: Ready) {
        tracing::info!(
            guilds = ready.guilds.len(),
            "connected to the Discord gateway"
        );
        let capture = self.capture.clone();
        tokio::spawn(async move { capture.catch_up().await });
    }

    async fn interaction_create(&self, _: Context, interaction: Interaction) {
        // Back to its JSON and through the same lenient shapes the HTTP endpoint
        // reads, so both ways in take one path. Serenity writes the variant's
        // fields without the `type` it was read from, so it is put back.
        let kind = u8::from(interaction.kind());
        let parsed = serde_json::to_value(&interaction).and_then(|mut json| {
            if let Some(fields) = json.as_object_mut() {
                fields.insert("type".into(), kind.into());
            }
            serde_json::from_value::<wire::Interaction>(json)
        });
        match parsed {
            Ok(interaction) => self.interactions.answer_over_rest(interaction).await,
            Err(error) => tracing::warn!(%error, "an interaction from the gateway was unreadable"),
        }
    }

    async fn reaction_add(&self, _: Context, reaction: Reaction) {
        let ReactionType::Unicode(emoji) = &reaction.emoji else {
            return;
        };
        if emoji != CAPTURE_EMOJI {
            return;
        }
        let Some(by) = reaction.user_id else {
            return;
        };
        self.capture
            .message(
                &reaction.channel_id.to_string(),
                &reaction.message_id.to_string(),
                &by.to_string(),
            )
            .await;
    }

    /// Discord announces a pin with a "pinned a message" notice that refers to it.
    async fn message(&self, _: Context, notice: Message) {
        if notice.kind != MessageType::PinsAdd {
            return;
        }
        let Some(pinned) = notice
            .message_reference
            .as_ref()
            .and_then(|reference| reference.message_id)
        else {
            return;
        };
        self.capture
            .message(
                &notice.channel_id.to_string(),
                &pinned.to_string(),
                &notice.author.id.to_string(),
            )
            .await;
    }
}
