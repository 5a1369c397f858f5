//! One way to answer an interaction, whether it came over the gateway or to
//! `POST /discord/interactions`.
//!
//! Owns: Discord's answering rules. The first answer must reach Discord within 3 s:
//! the engine gets [`DEFER_AFTER`] to decide, and its reply is sent at once (type 4,
//! ephemeral with flag 64 when only the user should see it); if it takes longer
//! (or the reply needs a file), warroom answers "thinking…" (type 5, ephemeral)
//! and edits `@original` when the engine is done. PING gets PONG, autocomplete
//! gets choices (type 8), a button click becomes its command via
//! [`command::from_button`]. The interaction id is the request id, so a replayed
//! interaction or a double click changes nothing twice. A deferred interaction is
//! kept in the inbox before "thinking…" goes back, so a crash before its reply
//! was sent is answered after the restart.
//! Must not: decide anything about incidents (the engine does).

use super::commands::{self, COMMAND_NAME};
use super::embeds::{self as markup, DiscordMessage, parse_custom_id};
use super::rest::Rest;
use super::wire::{self, Interaction};
use crate::command;
use crate::config::Config;
use crate::domain::{Platform, UserId};
use crate::engine::{Actor, Context, Engine, Reply, Visibility};
use crate::render::Message;
use crate::workers::{Inbox, Kept, Replay};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long the engine may take before the first answer is "thinking…" instead;
/// well inside Discord's 3 s, leaving room for the answer to travel.
pub const DEFER_AFTER: Duration = Duration::from_millis(1500);

/// What is left of Discord's 3 s after [`DEFER_AFTER`] to keep a deferred interaction.
const KEEP_BUDGET: Duration = Duration::from_millis(1000);

/// Callback types.
const PONG: u8 = 1;
const CHANNEL_MESSAGE: u8 = 4;
const DEFERRED_CHANNEL_MESSAGE: u8 = 5;
const AUTOCOMPLETE_RESULT: u8 = 8;
/// Message flag: only the user who acted sees it.
const EPHEMERAL: u64 = 64;

/// The first answer to an interaction.
pub enum FirstAnswer {
    /// The whole answer: the callback body.
    Now(Value),
    /// "Thinking…" now; the reply follows by editing `@original` once `later` is done.
    Deferred {
        callback: Value,
        token: String,
        later: JoinHandle<Reply>,
        /// The interaction as kept in the inbox until its reply is sent; `None` if
        /// the database could not keep it (the reply still follows, unless warroom dies).
        kept: Option<Kept>,
    },
}

/// Answers interactions. Cheap to clone.
#[derive(Clone)]
pub struct Interactions {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    rest: Rest,
    application_id: String,
    config: Arc<Config>,
    inbox: Inbox,
}

/// What the inbox holds: a deferred interaction, as Discord sent it.
const INTERACTION: &str = "interaction";

impl Interactions {
    pub fn new(
        engine: Engine,
        rest: Rest,
        application_id: String,
        config: Arc<Config>,
        inbox: Inbox,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                engine,
                rest,
                application_id,
                config,
                inbox,
            }),
        }
    }

    /// The engine's reply to a command or click.
    async fn run(&self, (actor, context, command): (Actor, Context, command::Command)) -> Reply {
        self.inner
            .engine
            .handle(&actor, &context, command)
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "a Discord command failed in the engine");
                error.reply()
            })
    }

    /// Decides the first answer; the engine keeps working past a deferral.
    pub async fn first_answer(&self, interaction: Interaction) -> FirstAnswer {
        let inner = &self.inner;
        let work = match interaction.kind {
            wire::PING => return FirstAnswer::Now(json!({ "type": PONG })),
            wire::AUTOCOMPLETE => {
                let options = interaction
                    .data
                    .as_ref()
                    .map(|data| data.options.as_slice())
                    .unwrap_or_default();
                let choices = commands::autocomplete(options, &inner.config);
                return FirstAnswer::Now(
                    json!({ "type": AUTOCOMPLETE_RESULT, "data": { "choices": choices } }),
                );
            }
            wire::APPLICATION_COMMAND | wire::MESSAGE_COMPONENT => {
                match request(&interaction, &self.inner.config) {
                    Ok(request) => request,
                    Err(reply) => return FirstAnswer::Now(self.message_callback(&reply).0),
                }
            }
            _ => {
                let reply = Reply::ephemeral("warroom does not handle this kind of interaction.");
                return FirstAnswer::Now(self.message_callback(&reply).0);
            }
        };
        let this = self.clone();
        let mut later = tokio::spawn(async move { this.run(work).await });
        if let Ok(done) = tokio::time::timeout(DEFER_AFTER, &mut later).await {
            let reply = done.unwrap_or_else(|_| crashed());
            let (callback, attachment) = self.message_callback(&reply);
            if attachment.is_none() {
                return FirstAnswer::Now(callback);
            }
            later = tokio::spawn(async move { reply });
        }
        let kept = self.keep(&interaction).await;
        FirstAnswer::Deferred {
            callback: json!({ "type": DEFERRED_CHANNEL_MESSAGE, "data": { "flags": EPHEMERAL } }),
            token: interaction.token,
            later,
            kept,
        }
    }

    /// Keeps a deferred interaction until its reply is sent.
    async fn keep(&self, interaction: &Interaction) -> Option<Kept> {
        let payload = serde_json::to_string(interaction)
            .inspect_err(|error| tracing::error!(%error, "a Discord interaction could not be kept"))
            .ok()?;
        self.inner
            .inbox
            .keep_within(KEEP_BUDGET, Platform::Discord, INTERACTION, &payload)
            .await
    }

    /// Sends the reply of a deferred answer once `later` is done, then lets the
    /// inbox forget the interaction.
    pub async fn finish(&self, token: &str, later: JoinHandle<Reply>, kept: Option<Kept>) {
        let send = async {
            let reply = later.await.unwrap_or_else(|_| crashed());
            self.send_deferred(token, &reply).await;
        };
        match kept {
            Some(kept) => kept.apply(send).await,
            None => send.await,
        }
    }

    /// Sends the reply of a deferred answer by editing `@original`; a reply for the
    /// whole channel is posted as a follow-up, since the deferral was ephemeral.
    async fn send_deferred(&self, token: &str, reply: &Reply) {
        let inner = &self.inner;
        let rendered = markup::render(&reply.message, &inner.config);
        let webhook = format!("/webhooks/{}/{token}", inner.application_id);
        let sent = match reply.visibility {
            Visibility::Ephemeral => {
                inner
                    .rest
                    .message(
                        Method::PATCH,
                        &format!("{webhook}/messages/@original"),
                        &rendered,
                    )
                    .await
            }
            Visibility::InChannel => {
                let done = markup::render(&Message::text("Done."), &inner.config);
                match inner
                    .rest
                    .message(
                        Method::PATCH,
                        &format!("{webhook}/messages/@original"),
                        &done,
                    )
                    .await
                {
                    Ok(_) => inner.rest.message(Method::POST, &webhook, &rendered).await,
                    Err(error) => Err(error),
                }
            }
        };
        if let Err(error) = sent {
            tracing::warn!(%error, "could not deliver a deferred interaction reply");
        }
    }

    /// Answers an interaction that came over the gateway: the first answer through
    /// the callback endpoint, then the deferred reply if there is one.
    pub async fn answer_over_rest(&self, interaction: Interaction) {
        let path = format!(
            "/interactions/{}/{}/callback",
            interaction.id, interaction.token
        );
        match self.first_answer(interaction).await {
            FirstAnswer::Now(callback) => {
                if let Err(error) = self
                    .inner
                    .rest
                    .json(Method::POST, &path, Some(&callback))
                    .await
                {
                    tracing::warn!(%error, "could not answer a Discord interaction");
                }
            }
            FirstAnswer::Deferred {
                callback,
                token,
                later,
                kept,
            } => match self
                .inner
                .rest
                .json(Method::POST, &path, Some(&callback))
                .await
            {
                Ok(_) => self.finish(&token, later, kept).await,
                Err(error) => {
                    tracing::warn!(%error, "could not defer a Discord interaction; its reply is dropped");
                }
            },
        }
    }

    /// A type 4 callback for a reply, and the file it would need (which a first
    /// answer cannot carry).
    fn message_callback(&self, reply: &Reply) -> (Value, Option<(String, Vec<u8>)>) {
        let DiscordMessage {
            mut body,
            attachment,
        } = markup::render(&reply.message, &self.inner.config);
        if reply.visibility == Visibility::Ephemeral
            && let Some(map) = body.as_object_mut()
        {
            map.insert("flags".into(), json!(EPHEMERAL));
        }
        (json!({ "type": CHANNEL_MESSAGE, "data": body }), attachment)
    }
}

/// Who, where and what an interaction asks for: the engine's inputs, or the reply
/// explaining why not. Shared by the first answer and the replay of a kept one.
pub fn request(
    interaction: &Interaction,
    config: &Config,
) -> Result<(Actor, Context, command::Command), Reply> {
    let (Some(user), Some(channel)) = (interaction.user_id(), interaction.channel_id()) else {
        return Err(Reply::ephemeral(
            "warroom works in a server channel; this interaction came without one.",
        ));
    };
    let actor = Actor {
        platform: Platform::Discord,
        user: UserId::new(user),
    };
    let context = Context {
        channel: channel.to_string(),
        request_id: Some(interaction.id.clone()),
        room_name: interaction.channel.as_ref().and_then(|c| c.name.clone()),
    };
    let data = interaction.data.as_ref();
    let command = if interaction.kind == wire::MESSAGE_COMPONENT {
        let custom_id = data
            .and_then(|data| data.custom_id.as_deref())
            .unwrap_or("");
        let (action, value) = parse_custom_id(custom_id).unwrap_or((custom_id, ""));
        command::from_button(action, value, &actor.user)
            .map_err(|error| Reply::ephemeral(format!("{}.", capitalised(&error.to_string()))))?
    } else {
        if data.and_then(|data| data.name.as_deref()) != Some(COMMAND_NAME) {
            return Err(Reply::ephemeral(format!(
                "warroom only answers `/{COMMAND_NAME}`."
            )));
        }
        let options = data.map(|data| data.options.as_slice()).unwrap_or_default();
        commands::to_command(options, config).map_err(|error| {
            Reply::ephemeral(format!(
                "{error}\nSee `/{COMMAND_NAME} help` for every subcommand."
            ))
        })?
    };
    Ok((actor, context, command))
}

/// The reply when the task handling a command died.
fn crashed() -> Reply {
    Reply::ephemeral("warroom failed while handling this; nothing may have changed. Try again.")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[async_trait::async_trait]
impl Replay for Interactions {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    /// Answers a deferred interaction whose reply a stopped process never sent.
    async fn replay(&self, kind: &str, payload: &str) -> Result<(), String> {
        if kind != INTERACTION {
            return Err(format!("warroom keeps no Discord payload of kind `{kind}`"));
        }
        let interaction: Interaction = serde_json::from_str(payload)
            .map_err(|error| format!("unreadable interaction: {error}"))?;
        let reply = match request(&interaction, &self.inner.config) {
            Ok(work) => self.run(work).await,
            Err(reply) => reply,
        };
        self.send_deferred(&interaction.token, &reply).await;
        Ok(())
    }
}
