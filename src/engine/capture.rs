//! Capturing chat messages into the timeline: a message a responder marks in a war
//! room (pinned, or given the 📌 reaction, on Slack or Discord) becomes a timeline
//! entry with its author as actor, its own time and its text.
//!
//! The adapter chooses the request key; keyed by the message, a message pinned
//! and also marked, or an event the platform delivers twice, is captured once.
//! Capturing is silent: the pin or reaction itself is the acknowledgement.

use super::session::Session;
use super::{Actor, Context, Engine, EngineError, request_key};
use crate::domain::{EventKind, IncidentId, Platform, TimelineEvent, UserId, UserText};
use crate::store::IncidentFilter;
use chrono::{DateTime, Utc};

/// A message as the platform reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMessage {
    /// Who wrote it.
    pub author: UserId,
    /// Its text, already translated from the platform's markup to plain words.
    pub text: String,
    /// When it was posted.
    pub at: DateTime<Utc>,
}

/// What became of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capture {
    Recorded(IncidentId),
    /// The same message (request key) was captured before.
    Repeated,
    /// The channel is not an incident's war room; nothing was recorded.
    NotAWarRoom,
}

/// How many open incidents' war rooms an adapter catches up on at most.
const CATCH_UP_ROOMS: u32 = 200;

impl Engine {
    /// The war rooms of the open incidents on `platform`, newest first: where an
    /// adapter that was not listening for a while looks for messages marked
    /// meanwhile.
    pub async fn open_war_rooms(&self, platform: Platform) -> Result<Vec<String>, EngineError> {
        let open = self
            .inner
            .store
            .incidents(IncidentFilter::Open, CATCH_UP_ROOMS)
            .await?;
        Ok(open
            .into_iter()
            .filter(|incident| incident.platform == platform)
            .filter_map(|incident| incident.room)
            .collect())
    }

    /// Records `message`, marked by `actor` in `context.channel`, on the timeline
    /// of that war room's incident.
    pub async fn capture(
        &self,
        actor: &Actor,
        context: &Context,
        message: CapturedMessage,
    ) -> Result<Capture, EngineError> {
        let mut session = Session::begin(&self.inner, actor.clone(), context.clone()).await?;
        let Some(incident) = session
            .tx
            .lock_incident_by_room(actor.platform, &context.channel)
            .await?
        else {
            return Ok(Capture::NotAWarRoom);
        };
        if let Some(key) = &context.request_id
            && session
                .tx
                .claim_request(&request_key(actor.platform, key), session.now)
                .await?
                .is_some()
        {
            return Ok(Capture::Repeated);
        }
        let text = timeline_text(&message.text);
        // A message cannot have been written after it was marked; a platform clock
        // running ahead must not put it in the future.
        let event = TimelineEvent {
            at: message.at.min(session.now),
            kind: EventKind::Captured,
            actor: message.author.as_str().to_string(),
            text,
        };
        session.tx.record_event(&incident.id, &event).await?;
        session.commit().await?;
        Ok(Capture::Recorded(incident.id))
    }
}

/// One line within the bounds of any text typed into a command; longer is cut.
fn timeline_text(raw: &str) -> String {
    let line: String = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if line.is_empty() {
        return "(a message without text)".to_string();
    }
    if line.chars().count() <= UserText::MAX_CHARS {
        return line;
    }
    let kept: String = line.chars().take(UserText::MAX_CHARS - 1).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_text_is_one_bounded_line() {
        assert_eq!(timeline_text(" roll\nback\u{7}  now "), "roll back now");
        assert_eq!(timeline_text(" \n "), "(a message without text)");
        let long = timeline_text(&"x".repeat(5000));
        assert_eq!(long.chars().count(), UserText::MAX_CHARS);
        assert!(long.ends_with('…'));
    }
}
