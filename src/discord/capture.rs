//! Timeline capture on Discord: fetch the message that was pinned or given 📌 and
//! hand it to [`Engine::capture`].
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

impl Capture {
    pub fn new(engine: Engine, rest: Rest) -> Self {
        Self { engine, rest }
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
