//! The Slack adapter.
//!
//! Owns: translating Slack requests (slash commands, button clicks, events, over
//! HTTP or Socket Mode) into [`Command`](crate::command::Command)s and engine
//! calls, delivering the outbox's operations through the Slack Web API, and
//! Slack's markup: a [`Message`](crate::render::Message) as Block Kit.
//! Must not: hold incident logic (the engine decides) or SQL (the store has it).
//!
//! Built on `reqwest` and `tokio-tungstenite` against Slack's documented JSON
//! rather than on slack-morphism: the adapter needs a handful of methods and
//! exact control over what decides delivery (`Retry-After` on 429, which errors
//! are transient, per-call timeouts) and over the form of each request; plain
//! calls give that directly, keep every URL under `SLACK_API_URL` (plain `http://`
//! included, for a local fake) and build faster on a small CI machine.
//!
//! - [`verify`]: request signatures; [`http`]: the endpoints; [`socket`]: Socket Mode;
//! - [`inbound`]: payloads into engine calls, shared by both transports;
//! - [`platform`]: the outbox's [`ChatPlatform`]; [`api`]: the Web API client;
//! - [`blocks`]: messages as Block Kit, within Slack's limits;
//! - [`manifest`]: the app manifest.

pub mod api;
pub mod blocks;
pub mod http;
pub mod inbound;
pub mod manifest;
pub mod platform;
pub mod socket;
pub mod verify;

use crate::clock::SharedClock;
use crate::config::{Secret, SlackConfig, SlackMode, SlackSettings};
use crate::engine::Engine;
use crate::outbox::ChatPlatform;
use crate::workers::{Inbox, Replay};
use api::WebApi;
use axum::Router;
use inbound::Inbound;
use platform::SlackPlatform;
use std::future::Future;
use std::sync::Arc;
use verify::Verifier;

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("SLACK_BOT_TOKEN is not set")]
    NoBotToken,
    #[error("SLACK_SIGNING_SECRET is not set (needed by slack.mode = \"http\")")]
    NoSigningSecret,
    #[error("SLACK_APP_TOKEN is not set (needed by slack.mode = \"socket\")")]
    NoAppToken,
    #[error("cannot build the HTTP client for Slack: {0}")]
    Client(#[from] reqwest::Error),
}

/// How Slack reaches warroom, with the credential that mode needs.
enum Transport {
    Http(Verifier),
    Socket(Secret),
}

/// A configured Slack adapter, before the engine exists.
pub struct Slack {
    api: Arc<WebApi>,
    platform: Arc<SlackPlatform>,
    transport: Transport,
}

impl Slack {
    pub fn new(settings: &SlackSettings, config: &SlackConfig) -> Result<Self, SlackError> {
        let bot_token = settings.bot_token.clone().ok_or(SlackError::NoBotToken)?;
        let transport = match config.mode {
            SlackMode::Http => Transport::Http(Verifier::new(
                settings
                    .signing_secret
                    .as_ref()
                    .ok_or(SlackError::NoSigningSecret)?,
            )),
            SlackMode::Socket => {
                Transport::Socket(settings.app_token.clone().ok_or(SlackError::NoAppToken)?)
            }
        };
        let api = Arc::new(WebApi::new(&settings.api_url, bot_token)?);
        let platform = Arc::new(SlackPlatform::new(api.clone(), &config.channel_prefix));
        Ok(Self {
            api,
            platform,
            transport,
        })
    }

    /// What the outbox delivers Slack operations through.
    pub fn platform(&self) -> Arc<dyn ChatPlatform> {
        self.platform.clone()
    }

    /// Connects the adapter to the engine, keeping what it acknowledges in `inbox`.
    pub fn attach(self, engine: Engine, inbox: Inbox, clock: SharedClock) -> SlackService {
        let inbound = Inbound::new(engine, self.api.clone(), inbox);
        let replay = inbound.clone();
        let transport = match self.transport {
            Transport::Http(verifier) => Attached::Http(http::routes(inbound, verifier, clock)),
            Transport::Socket(app_token) => Attached::Socket {
                inbound,
                api: self.api,
                app_token,
            },
        };
        SlackService { transport, replay }
    }
}

enum Attached {
    Http(Router),
    Socket {
        inbound: Arc<Inbound>,
        api: Arc<WebApi>,
        app_token: Secret,
    },
}

/// The running side of the adapter: routes to serve, or a socket to hold.
pub struct SlackService {
    transport: Attached,
    replay: Arc<Inbound>,
}

impl SlackService {
    /// How the inbox worker applies what an earlier process kept and did not apply.
    pub fn replay(&self) -> Arc<dyn Replay> {
        self.replay.clone()
    }

    /// The HTTP endpoints, in HTTP mode.
    pub fn routes(&self) -> Option<Router> {
        match &self.transport {
            Attached::Http(router) => Some(router.clone()),
            Attached::Socket { .. } => None,
        }
    }

    /// Holds the Socket Mode connection until `shutdown`; in HTTP mode there is
    /// nothing to hold and it returns at once.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        if let Attached::Socket {
            inbound,
            api,
            app_token,
        } = self.transport
        {
            socket::run(inbound, api, app_token, shutdown).await;
        }
    }
}
