//! What Slack sends us, whichever way it arrives (HTTP endpoints or Socket Mode):
//! slash commands, button clicks and events, translated into engine calls.
//!
//! Owns: the payload shapes, the 3-second answer rule, the request ids that make a
//! retried delivery or a repeated click harmless, the answers' Slack form, and
//! keeping what is acknowledged before it is applied (clicks, events, and a slash
//! command answered "Working on it…") in the inbox, so a crash loses none of them.
//! Must not: decide anything about an incident (the engine does) or check
//! signatures (the HTTP layer does, before a payload gets here).

use super::api::{WebApi, find_in};
use super::blocks::render;
use crate::command::{self, ButtonError, from_button};
use crate::domain::{Platform, UserId};
use crate::engine::{Actor, Capture, CapturedMessage, Context, Engine, Reply, Visibility};
use crate::workers::{Inbox, Kept, Replay};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Slack shows an error if a slash command is not answered within 3 s; past this
/// budget the answer becomes "working on it" and the real one follows by `response_url`.
const ANSWER_BUDGET: Duration = Duration::from_millis(2500);

/// What is left of Slack's 3 s after [`ANSWER_BUDGET`] to keep a late command.
const KEEP_BUDGET: Duration = Duration::from_millis(200);

/// How long a click or an event may take to be kept before it is refused instead
/// of acknowledged: within Slack's 3 s, so that Slack hears "not now" and sends
/// it again rather than giving up on an answer that never came.
const KEEP_BEFORE_ACK: Duration = Duration::from_millis(2500);

/// The reaction that marks a message for the timeline.
const CAPTURE_REACTION: &str = "pushpin";

/// What the inbox holds, by the kind of payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An interaction payload (a button click).
    Interaction,
    /// An Events API callback.
    Event,
    /// A slash command whose answer was not ready in time.
    Command,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Interaction, Kind::Event, Kind::Command];

    /// The kind an inbox row was stored under, read back through [`Kind::as_str`].
    fn stored(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|known| known.as_str() == kind)
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Interaction => "interaction",
            Kind::Event => "event",
            Kind::Command => "command",
        }
    }
}

/// A slash command, as Slack form-encodes it (HTTP) or wraps it (Socket Mode).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SlashCommand {
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub channel_id: String,
    #[serde(default)]
    pub channel_name: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub trigger_id: String,
    #[serde(default)]
    pub response_url: String,
}

#[derive(Debug, Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: String,
    user: Option<Id>,
    channel: Option<Id>,
    container: Option<Container>,
    #[serde(default)]
    trigger_id: String,
    #[serde(default)]
    response_url: String,
    #[serde(default)]
    actions: Vec<ButtonClick>,
}

#[derive(Debug, Deserialize)]
struct Id {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Container {
    channel_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ButtonClick {
    action_id: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    action_ts: String,
}

/// The translator between Slack and the engine. Cheap to share.
pub struct Inbound {
    engine: Engine,
    api: Arc<WebApi>,
    inbox: Inbox,
}

impl Inbound {
    pub fn new(engine: Engine, api: Arc<WebApi>, inbox: Inbox) -> Arc<Self> {
        Arc::new(Self { engine, api, inbox })
    }

    /// Keeps a payload before it is acknowledged. `None` means it was not kept
    /// (the database failed, or took longer than [`KEEP_BEFORE_ACK`]), and must not
    /// be acknowledged: Slack then tells the user, or sends it again.
    pub async fn keep(&self, kind: Kind, payload: &str) -> Option<Kept> {
        let keeping = self.inbox.keep(Platform::Slack, kind.as_str(), payload);
        match tokio::time::timeout(KEEP_BEFORE_ACK, keeping).await {
            Ok(Ok(kept)) => Some(kept),
            Ok(Err(error)) => {
                tracing::error!(%error, kind = kind.as_str(), "could not keep a Slack payload; not acknowledged");
                None
            }
            Err(_) => {
                tracing::error!(within = ?KEEP_BEFORE_ACK, kind = kind.as_str(), "the database did not keep a Slack payload in time; not acknowledged");
                None
            }
        }
    }

    /// The answer to a slash command, as the JSON Slack expects in the HTTP
    /// response (or the Socket Mode ack). Always within `ANSWER_BUDGET`.
    pub async fn command(self: &Arc<Self>, command: SlashCommand) -> Value {
        let response_url = command.response_url.clone();
        let late = command.clone();
        let inbound = self.clone();
        let mut work = tokio::spawn(async move { inbound.run_command(command).await });
        match tokio::time::timeout(ANSWER_BUDGET, &mut work).await {
            Ok(Ok(reply)) => answer(&reply),
            Ok(Err(failed)) => {
                tracing::error!(error = %failed, "a slash command's handler died");
                answer(&Reply::ephemeral(
                    "Something went wrong inside warroom; the command may not have been applied. `/incident list` shows the state.",
                ))
            }
            Err(_) => {
                // "Working on it" promises an answer: keep the command until it is given.
                let kept = match serde_json::to_string(&late) {
                    Ok(payload) => {
                        self.inbox
                            .keep_within(
                                KEEP_BUDGET,
                                Platform::Slack,
                                Kind::Command.as_str(),
                                &payload,
                            )
                            .await
                    }
                    Err(error) => {
                        tracing::error!(%error, "a slash command could not be kept");
                        None
                    }
                };
                let api = self.api.clone();
                let deliver = async move {
                    let Ok(reply) = work.await else { return };
                    respond_late(&api, &response_url, &reply).await;
                };
                match kept {
                    Some(kept) => tokio::spawn(kept.apply(deliver)),
                    None => tokio::spawn(deliver),
                };
                answer(&Reply::ephemeral("Working on it…"))
            }
        }
    }

    async fn run_command(&self, command: SlashCommand) -> Reply {
        if command.user_id.is_empty() || command.channel_id.is_empty() {
            return Reply::ephemeral("This request has no user or channel; warroom ignored it.");
        }
        let actor = slack_actor(&command.user_id);
        let context = Context {
            channel: command.channel_id,
            // A retried delivery carries the same trigger id.
            request_id: non_empty(command.trigger_id),
            room_name: non_empty(command.channel_name),
        };
        let parsed = match command::parse(&command.text, self.engine.config()) {
            Ok(parsed) => parsed,
            Err(error) => return Reply::ephemeral(error.to_string()),
        };
        self.handle(&actor, &context, parsed).await
    }

    async fn handle(&self, actor: &Actor, context: &Context, command: command::Command) -> Reply {
        match self.engine.handle(actor, context, command).await {
            Ok(reply) => reply,
            Err(error) => {
                tracing::error!(%error, "the engine could not apply a Slack command");
                error.reply()
            }
        }
    }

    /// Handles an interaction payload (the JSON in the `payload` form field, or a
    /// Socket Mode envelope's payload). Slack only needs the delivery acknowledged;
    /// the clicker hears back through the payload's `response_url`.
    pub async fn interaction(&self, payload: Value) {
        let Some(clicks) = read_clicks(payload) else {
            return;
        };
        for (context, command) in clicks.commands {
            let reply = match command {
                Ok(command) => self.handle(&clicks.actor, &context, command).await,
                Err(error) => Reply::ephemeral(format!("{error}.")),
            };
            if clicks.response_url.is_empty() {
                continue;
            }
            let mut body = answer(&reply);
            body["replace_original"] = json!(false);
            body["response_type"] = json!("ephemeral");
            if let Err(error) = self.api.respond(&clicks.response_url, &body).await {
                tracing::warn!(%error, "the answer to a click was not delivered");
            }
        }
    }

    /// Handles an Events API callback (`event_callback` body): timeline capture
    /// from `pin_added` and `reaction_added` (📌).
    pub async fn event(&self, callback: Value) {
        let Some(marked) = marked_message(&callback) else {
            return;
        };
        if let Err(error) = self.capture(marked).await {
            tracing::warn!(%error, "a marked message was not captured");
        }
    }

    async fn capture(&self, marked: Marked) -> Result<(), super::api::ApiError> {
        // The bot pins its own summary; that is not a moment in the incident.
        if marked.by == self.api.bot_user().await? {
            return Ok(());
        }
        let (author, text) = match (marked.author, marked.text) {
            (Some(author), Some(text)) => (author, text),
            _ => match self.fetch_message(&marked.channel, &marked.ts).await? {
                Some(found) => found,
                None => {
                    tracing::info!("a marked message could not be read (deleted?); not captured");
                    return Ok(());
                }
            },
        };
        let Some(at) = message_time(&marked.ts) else {
            return Ok(());
        };
        let actor = slack_actor(&marked.by);
        let context = Context {
            request_id: Some(format!("capture:{}:{}", marked.channel, marked.ts)),
            channel: marked.channel,
            room_name: None,
        };
        let message = CapturedMessage {
            author: UserId::new(author),
            text: plain_text(&text),
            at,
        };
        match self.engine.capture(&actor, &context, message).await {
            Ok(Capture::Recorded(incident)) => {
                tracing::info!(%incident, "message captured on the timeline");
            }
            Ok(Capture::Repeated | Capture::NotAWarRoom) => {}
            Err(error) => tracing::error!(%error, "capturing a message failed"),
        }
        Ok(())
    }

    /// The author and text of the message at `ts`: from `conversations.history`,
    /// or, for a reply in a thread (which history leaves out), from
    /// `conversations.replies`, which takes a reply's ts and answers with the
    /// thread's parent first.
    async fn fetch_message(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<(String, String)>, super::api::ApiError> {
        let history = self
            .api
            .call(
                "conversations.history",
                &[
                    ("channel", channel),
                    ("latest", ts),
                    ("inclusive", "true"),
                    ("limit", "1"),
                ],
            )
            .await?;
        if let Some(found) = author_and_text(&history, ts) {
            return Ok(Some(found));
        }
        let thread = self
            .api
            .call(
                "conversations.replies",
                &[
                    ("channel", channel),
                    ("ts", ts),
                    ("oldest", ts),
                    ("inclusive", "true"),
                    ("limit", "2"),
                ],
            )
            .await?;
        Ok(author_and_text(&thread, ts))
    }
}

/// The author and text of message `ts` among an answer's `messages`.
fn author_and_text(answer: &Value, ts: &str) -> Option<(String, String)> {
    let message = find_in(answer, "messages", "ts", ts)?;
    let author = message
        .get("user")
        .or_else(|| message.get("bot_id"))
        .and_then(Value::as_str)?;
    let text = message.get("text").and_then(Value::as_str)?;
    Some((author.to_string(), text.to_string()))
}

/// What a `block_actions` payload asks for: who clicked, where to answer, and
/// each button's command (or why it is none), in the order they were clicked.
#[derive(Debug)]
pub struct Clicks {
    pub actor: Actor,
    pub response_url: String,
    pub commands: Vec<(Context, Result<command::Command, ButtonError>)>,
}

/// Reads an interaction payload as [`Inbound::interaction`] acts on it; `None`
/// for a payload it ignores (logged).
pub fn read_clicks(payload: Value) -> Option<Clicks> {
    let interaction: Interaction = match serde_json::from_value(payload) {
        Ok(interaction) => interaction,
        Err(error) => {
            tracing::warn!(%error, "an interaction payload did not parse; ignored");
            return None;
        }
    };
    if interaction.kind != "block_actions" {
        tracing::debug!(kind = %interaction.kind, "interaction type not handled; ignored");
        return None;
    }
    let (Some(user), Some(channel)) = (
        interaction.user.map(|user| user.id),
        interaction
            .channel
            .map(|channel| channel.id)
            .or_else(|| interaction.container.and_then(|c| c.channel_id)),
    ) else {
        tracing::warn!("a click without user or channel; ignored");
        return None;
    };
    let actor = slack_actor(&user);
    let commands = interaction
        .actions
        .into_iter()
        .map(|click| {
            let request_id = if click.action_ts.is_empty() {
                non_empty(format!("{}:{}", interaction.trigger_id, click.action_id))
            } else {
                Some(format!("click:{user}:{}", click.action_ts))
            };
            let context = Context {
                channel: channel.clone(),
                request_id,
                room_name: None,
            };
            let command = from_button(&click.action_id, &click.value, &actor.user);
            (context, command)
        })
        .collect();
    Some(Clicks {
        actor,
        response_url: interaction.response_url,
        commands,
    })
}

/// The message an Events API callback marks for the timeline (`pin_added`, or
/// `reaction_added` with 📌), as [`Inbound::event`] captures it; `None` for any
/// other event.
pub fn marked_message(callback: &Value) -> Option<Marked> {
    let event = callback.get("event")?;
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "pin_added" => pinned_message(event),
        "reaction_added"
            if event.get("reaction").and_then(Value::as_str) == Some(CAPTURE_REACTION) =>
        {
            reacted_message(event)
        }
        _ => None,
    }
}

/// A message someone marked for the timeline.
#[derive(Debug)]
pub struct Marked {
    /// Who marked it.
    by: String,
    channel: String,
    ts: String,
    /// Present when the event carried the message itself.
    author: Option<String>,
    text: Option<String>,
}

fn pinned_message(event: &Value) -> Option<Marked> {
    let item = event.get("item")?;
    if item.get("type").and_then(Value::as_str) != Some("message") {
        return None;
    }
    let message = item.get("message");
    let text_of = |key: &str| {
        message
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Some(Marked {
        by: str_at(event, "user")?,
        channel: str_at(event, "channel_id").or_else(|| str_at(item, "channel"))?,
        ts: text_of("ts").or_else(|| str_at(item, "ts"))?,
        author: text_of("user"),
        text: text_of("text"),
    })
}

fn reacted_message(event: &Value) -> Option<Marked> {
    let item = event.get("item")?;
    if item.get("type").and_then(Value::as_str) != Some("message") {
        return None;
    }
    Some(Marked {
        by: str_at(event, "user")?,
        channel: str_at(item, "channel")?,
        ts: str_at(item, "ts")?,
        author: None,
        text: None,
    })
}

fn str_at(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}

/// A Slack message timestamp (`1531420618.000200`) as a time.
fn message_time(ts: &str) -> Option<DateTime<Utc>> {
    let (seconds, fraction) = ts.split_once('.').unwrap_or((ts, "0"));
    let seconds: i64 = seconds.parse().ok()?;
    let micros: u32 = format!("{fraction:0<6}").get(..6)?.parse().ok()?;
    DateTime::from_timestamp(seconds, micros * 1000)
}

/// Slack message markup as plain words: `<@U1|carol>` → `@carol`, `<#C1|ops>` →
/// `#ops`, `<https://x|label>` → `label (https://x)`, `<!here>` → `@here`, and
/// the three entities decoded. The renderers escape it again on the way out.
pub fn plain_text(mrkdwn: &str) -> String {
    let mut out = String::with_capacity(mrkdwn.len());
    let mut rest = mrkdwn;
    while let Some(open) = rest.find('<') {
        out.push_str(&command::decode_slack_text(&rest[..open]));
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            out.push_str(&command::decode_slack_text(&rest[open..]));
            rest = "";
            break;
        };
        let token = &after[..close];
        let (target, label) = match token.split_once('|') {
            Some((target, label)) => (target, Some(label)),
            None => (token, None),
        };
        let label = label.map(command::decode_slack_text);
        let shown = if let Some(user) = target.strip_prefix('@') {
            format!("@{}", label.unwrap_or_else(|| user.to_string()))
        } else if let Some(channel) = target.strip_prefix('#') {
            format!("#{}", label.unwrap_or_else(|| channel.to_string()))
        } else if let Some(special) = target.strip_prefix('!') {
            let name = special.split('^').next().unwrap_or(special);
            format!("@{}", label.unwrap_or_else(|| name.to_string()))
        } else {
            let url = command::decode_slack_text(target);
            match label {
                Some(label) if label != url => format!("{label} ({url})"),
                _ => url,
            }
        };
        out.push_str(&shown);
        rest = &after[close + 1..];
    }
    out.push_str(&command::decode_slack_text(rest));
    out
}

/// A reply as Slack's slash-command answer JSON.
pub fn answer(reply: &Reply) -> Value {
    let slack = render(&reply.message);
    let response_type = match reply.visibility {
        Visibility::Ephemeral => "ephemeral",
        Visibility::InChannel => "in_channel",
    };
    json!({
        "response_type": response_type,
        "text": slack.text,
        "blocks": slack.blocks,
    })
}

fn slack_actor(user: &str) -> Actor {
    Actor {
        platform: Platform::Slack,
        user: UserId::new(user),
    }
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// Posts the answer to a slash command that was first answered "Working on it…".
async fn respond_late(api: &WebApi, response_url: &str, reply: &Reply) {
    if response_url.is_empty() {
        return;
    }
    if let Err(error) = api.respond(response_url, &answer(reply)).await {
        tracing::warn!(%error, "the late answer to a slash command was not delivered");
    }
}

#[async_trait::async_trait]
impl Replay for Inbound {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn replay(&self, kind: &str, payload: &str) -> Result<(), String> {
        let unreadable = |error: serde_json::Error| format!("unreadable {kind}: {error}");
        let Some(stored) = Kind::stored(kind) else {
            return Err(format!("warroom keeps no Slack payload of kind `{kind}`"));
        };
        match stored {
            Kind::Interaction => {
                self.interaction(serde_json::from_str(payload).map_err(unreadable)?)
                    .await
            }
            Kind::Event => {
                self.event(serde_json::from_str(payload).map_err(unreadable)?)
                    .await
            }
            Kind::Command => {
                let command: SlashCommand = serde_json::from_str(payload).map_err(unreadable)?;
                let response_url = command.response_url.clone();
                let reply = self.run_command(command).await;
                respond_late(&self.api, &response_url, &reply).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_markup_becomes_plain_words() {
        assert_eq!(
            plain_text(
                "<@U1|carol> rolled back &amp; <#C9|ops> saw <https://x.test/a?b=1&amp;c=2|the graph> <!here> <https://y.test> &lt;b&gt;"
            ),
            "@carol rolled back & #ops saw the graph (https://x.test/a?b=1&c=2) @here https://y.test <b>"
        );
        assert_eq!(plain_text("a < b"), "a < b");
        assert_eq!(plain_text("<@U2>"), "@U2");
    }

    #[test]
    fn message_timestamps_become_times() {
        let at = message_time("1531420618.000200").unwrap();
        assert_eq!(at.timestamp(), 1_531_420_618);
        assert_eq!(at.timestamp_subsec_micros(), 200);
        assert_eq!(
            message_time("1531420618").unwrap().timestamp(),
            1_531_420_618
        );
        assert_eq!(message_time("soon"), None);
    }
}
