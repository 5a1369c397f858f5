//! Discord: slash commands, buttons and pins in; threads, embeds and pins out.
//!
//! Owns: translating Discord interactions and gateway events into [`Command`]s
//! (and captured messages) for the engine, delivering the outbox's operations
//! through Discord's REST API, and Discord's markup: a
//! [`Message`](crate::render::Message) as content, embeds and buttons. Every REST call goes to `DISCORD_API_URL`, and the
//! gateway is found through it, so the whole adapter can be pointed at another server.
//! Must not: hold incident logic or SQL; the engine decides and the store keeps.
//!
//! - [`commands`]: the `/incident` definition (registered by bulk overwrite at
//!   start, in `discord.guild_id`'s server unless `discord.global_commands`) and options → `Command`;
//! - [`interactions`]: answering within Discord's 3 s, shared by both ways in:
//!   [`gateway`] (default) and [`http`] (`POST /discord/interactions`, verified by [`verify`]);
//! - [`platform`]: the outbox's [`ChatPlatform`] (war rooms are threads);
//! - [`embeds`]: messages as content, embeds and buttons, within Discord's limits;
//! - [`capture`]: 📌 and pins onto the timeline; [`invite`]: the OAuth2 URL.
//!
//! [`Command`]: crate::command::Command

pub mod capture;
pub mod commands;
pub mod embeds;
pub mod gateway;
pub mod http;
pub mod interactions;
pub mod invite;
pub mod platform;
pub mod rest;
pub mod verify;
pub mod wire;

use crate::clock::SharedClock;
use crate::config::{Config, DiscordSettings};
use crate::engine::Engine;
use crate::outbox::ChatPlatform;
use crate::workers::{Inbox, Replay};
use capture::Capture;
use interactions::Interactions;
use platform::{DiscordPlatform, Place};
use reqwest::Method;
use rest::{Rest, RestError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use verify::{RequestVerifier, VerifyError};

/// Waits between attempts to register commands or connect, doubling up to the cap.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("Discord needs {0}")]
    Missing(&'static str),
    #[error("DISCORD_PUBLIC_KEY: {0}")]
    PublicKey(#[from] VerifyError),
    #[error("Discord REST client: {0}")]
    Rest(#[from] RestError),
}

/// The Discord adapter, built at startup when Discord is enabled.
pub struct Discord {
    rest: Rest,
    platform: Arc<DiscordPlatform>,
    interactions: Interactions,
    capture: Capture,
    verifier: Option<RequestVerifier>,
    config: Arc<Config>,
    api_url: String,
    token: crate::config::Secret,
    application_id: String,
    /// Where `/incident` is registered: this server, or every one when `None`.
    guild_id: Option<String>,
}

impl Discord {
    pub fn new(
        settings: &DiscordSettings,
        config: Arc<Config>,
        engine: Engine,
        inbox: Inbox,
    ) -> Result<Self, DiscordError> {
        let token = settings
            .token
            .clone()
            .ok_or(DiscordError::Missing("DISCORD_TOKEN"))?;
        let application_id = settings
            .application_id
            .clone()
            .ok_or(DiscordError::Missing("DISCORD_APPLICATION_ID"))?;
        let section = config
            .discord()
            .ok_or(DiscordError::Missing("a [discord] section in the config"))?;
        let place = Place {
            guild_id: section.guild_id.clone(),
            incidents_channel: section.incidents_channel.clone(),
        };
        let guild_id = (!section.global_commands).then(|| section.guild_id.clone());
        let verifier = settings
            .public_key
            .as_deref()
            .map(RequestVerifier::new)
            .transpose()?;
        let rest = Rest::new(&settings.api_url, token.clone())?;
        Ok(Self {
            platform: Arc::new(DiscordPlatform::new(rest.clone(), place, config.clone())),
            interactions: Interactions::new(
                engine.clone(),
                rest.clone(),
                application_id.clone(),
                config.clone(),
                inbox,
            ),
            capture: Capture::new(engine, rest.clone()),
            rest,
            verifier,
            config,
            api_url: settings.api_url.clone(),
            token,
            application_id,
            guild_id,
        })
    }

    /// How the inbox worker answers what an earlier process kept and did not answer.
    pub fn replay(&self) -> Arc<dyn Replay> {
        Arc::new(self.interactions.clone())
    }

    /// The outbox's way onto Discord.
    pub fn platform(&self) -> Arc<dyn ChatPlatform> {
        self.platform.clone()
    }

    /// `POST /discord/interactions`, when `DISCORD_PUBLIC_KEY` is set; `self` keeps
    /// the rest for [`Discord::run`].
    pub fn take_routes(&mut self, clock: SharedClock) -> Option<axum::Router> {
        let verifier = self.verifier.take()?;
        Some(http::router(self.interactions.clone(), verifier, clock))
    }

    /// Registers `/incident` and stays connected to the gateway until `shutdown`,
    /// then closes the gateway connection.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop, stopping) = watch::channel(false);
        let register = async {
            tokio::select! {
                () = self.register_commands() => {}
                () = stopped(stopping.clone()) => {}
            }
        };
        let work = async {
            tokio::join!(register, self.stay_connected(stopping.clone()));
        };
        tokio::pin!(work);
        tokio::select! {
            () = &mut work => {}
            () = shutdown => {
                // The receivers live as long as `work`, so this cannot fail.
                let _ = stop.send(true);
                work.await;
            }
        }
        tracing::info!("Discord adapter stopped");
    }

    /// Bulk-overwrites the application's commands with `/incident`, retrying until
    /// Discord accepts it.
    async fn register_commands(&self) {
        let path = match &self.guild_id {
            Some(guild) => format!(
                "/applications/{}/guilds/{guild}/commands",
                self.application_id
            ),
            None => format!("/applications/{}/commands", self.application_id),
        };
        let definition = commands::definition(&self.config);
        let mut wait = RETRY_FIRST;
        loop {
            match self.rest.json(Method::PUT, &path, Some(&definition)).await {
                Ok(_) => {
                    tracing::info!(
                        scope = if self.guild_id.is_some() {
                            "guild"
                        } else {
                            "global"
                        },
                        "registered /{}",
                        commands::COMMAND_NAME
                    );
                    return;
                }
                Err(RestError::RateLimited { retry_after, .. }) => wait = retry_after,
                Err(error) => {
                    tracing::warn!(%error, ?wait, "registering the Discord command failed; trying again")
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY_MAX);
        }
    }

    /// Runs the gateway client, starting it again if it gives up, until stopped.
    async fn stay_connected(&self, stopping: watch::Receiver<bool>) {
        let mut wait = RETRY_FIRST;
        while !*stopping.borrow() {
            let settings = gateway::GatewaySettings {
                api_url: &self.api_url,
                token: self.token.expose(),
                application_id: &self.application_id,
            };
            let ran = gateway::run(
                settings,
                self.interactions.clone(),
                self.capture.clone(),
                stopped(stopping.clone()),
            )
            .await;
            if *stopping.borrow() {
                return;
            }
            match ran {
                Ok(()) => tracing::warn!(?wait, "the Discord gateway closed; connecting again"),
                Err(error) => {
                    tracing::warn!(%error, ?wait, "the Discord gateway failed; connecting again")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stopped(stopping.clone()) => return,
            }
            wait = (wait * 2).min(RETRY_MAX);
        }
    }
}

/// Completes once `stopping` turns true (or its sender is gone).
async fn stopped(mut stopping: watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}
