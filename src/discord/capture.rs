//! Timeline capture on Discord: fetch the message that was pinned or given 📌 and
//! hand it to [`Engine::capture`].
//!
//! The gateway delivers a pin or a reaction once and takes no acknowledgement, so
//! a mark made while warroom was down (or dying) would be lost. Each new gateway
//! session therefore catches up ([`Capture::catch_up`]): the latest messages of
//! every open war room are read back, and the pins and 📌 among them captured;
//! the engine knows each message by its id, so nothing is captured twice.
//!
//! Owns: reading the message (author, content, time) over REST. Messages written by
//! bots are left out, warroom's own pinned summary above all.
//! Must not: decide whether the channel is a war room (the engine does).

use super::rest::{Rest, text_field};
use crate::domain::{Platform, UserId};
use crate::engine::{self, Actor, CapturedMessage, Context, Engine};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::Value;

#[derive(Clone)]
pub struct Capture {
    engine: Engine,
    rest: Rest,
}

/// The reaction that captures a message.
pub const CAPTURE_EMOJI: &str = "📌";

/// How many of a war room's latest messages a catch-up reads (Discord's page size).
const CATCH_UP_MESSAGES: u32 = 100;
/// Discord's type for the "pinned a message" notice.
const PIN_NOTICE: u64 = 6;

impl Capture {
    pub fn new(engine: Engine, rest: Rest) -> Self {
        Self { engine, rest }
    }

    /// Captures what was pinned or given 📌 in the open war rooms among their
    /// latest messages, however long warroom was away.
    pub async fn catch_up(&self) {
        let rooms = match self.engine.open_war_rooms(Platform::Discord).await {
            Ok(rooms) => rooms,
            Err(error) => {
                tracing::warn!(%error, "could not list the war rooms to catch up on");
                return;
            }
        };
        for room in rooms {
            let path = format!("/channels/{room}/messages?limit={CATCH_UP_MESSAGES}");
            let messages = match self.rest.json(Method::GET, &path, None).await {
                Ok(Value::Array(messages)) => messages,
                Ok(_) => continue,
                Err(error) => {
                    tracing::warn!(%error, %room, "could not read a war room to catch up on");
                    continue;
                }
            };
            for message in &messages {
                if let Some((pinned, by)) = pin_notice(message) {
                    self.message(&room, pinned, by).await;
                }
                if let Some(id) = marked(message)
                    && let Some(by) = self.first_marker(&room, id).await
                {
                    self.message(&room, id, &by).await;
                }
            }
        }
    }

    /// The first person (not a bot) who gave `message` the 📌.
    async fn first_marker(&self, channel: &str, message: &str) -> Option<String> {
        let emoji: String = CAPTURE_EMOJI
            .bytes()
            .map(|byte| format!("%{byte:02X}"))
            .collect();
        let path = format!("/channels/{channel}/messages/{message}/reactions/{emoji}");
        let users = match self.rest.json(Method::GET, &path, None).await {
            Ok(Value::Array(users)) => users,
            Ok(_) => return None,
            Err(error) => {
                tracing::warn!(%error, "could not read who marked a message");
                return None;
            }
        };
        users
            .iter()
            .filter(|user| !user.get("bot").and_then(Value::as_bool).unwrap_or(false))
            .find_map(|user| text_field(user, "id"))
            .map(str::to_string)
    }

    /// Captures message `message_id` of `channel`, marked by user `by`.
    pub async fn message(&self, channel: &str, message_id: &str, by: &str) {
        let path = format!("/channels/{channel}/messages/{message_id}");
        let message = match self.rest.json(Method::GET, &path, None).await {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "could not read a message marked for the timeline");
                return;
            }
        };
        let Some(captured) = captured(&message) else {
            return;
        };
        let actor = Actor {
            platform: Platform::Discord,
            user: UserId::new(by),
        };
        let context = Context {
            channel: channel.to_string(),
            request_id: Some(message_id.to_string()),
            room_name: None,
        };
        match self.engine.capture(&actor, &context, captured).await {
            Ok(engine::Capture::Recorded(incident)) => {
                tracing::debug!(%incident, "captured a message on the timeline");
            }
            Ok(engine::Capture::Repeated | engine::Capture::NotAWarRoom) => {}
            Err(error) => tracing::warn!(%error, "could not record a captured message"),
        }
    }
}

/// A "pinned a message" notice: the pinned message's id and who pinned it.
fn pin_notice(message: &Value) -> Option<(&str, &str)> {
    if message.get("type").and_then(Value::as_u64) != Some(PIN_NOTICE) {
        return None;
    }
    let pinned = message
        .get("message_reference")
        .and_then(|reference| text_field(reference, "message_id"))?;
    let by = message
        .get("author")
        .and_then(|author| text_field(author, "id"))?;
    Some((pinned, by))
}

/// The id of a message that carries the 📌 reaction.
fn marked(message: &Value) -> Option<&str> {
    let reactions = message.get("reactions").and_then(Value::as_array)?;
    reactions
        .iter()
        .any(|reaction| {
            reaction.pointer("/emoji/name").and_then(Value::as_str) == Some(CAPTURE_EMOJI)
        })
        .then(|| text_field(message, "id"))
        .flatten()
}

/// The message as the timeline keeps it; `None` for bots' messages and unreadable ones.
fn captured(message: &Value) -> Option<CapturedMessage> {
    let author = message.get("author")?;
    if author.get("bot").and_then(Value::as_bool).unwrap_or(false) {
        return None;
    }
    let at = text_field(message, "timestamp")
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    Some(CapturedMessage {
        author: UserId::new(text_field(author, "id")?),
        text: text_field(message, "content")
            .unwrap_or_default()
            .to_string(),
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bots_are_not_captured() {
        let human = json!({
            "author": { "id": "7", "username": "alice" },
            "content": "rolled back",
            "timestamp": "2026-11-23T14:05:00.000000+00:00",
        });
        let got = captured(&human).unwrap();
        assert_eq!(got.author, UserId::new("7"));
        assert_eq!(got.text, "rolled back");
        assert_eq!(got.at.to_rfc3339(), "2026-11-23T14:05:00+00:00");
        let bot = json!({ "author": { "id": "8", "bot": true }, "content": "summary" });
        assert!(captured(&bot).is_none());
    }
}
