//! Timeline capture: a chat message someone marked as worth keeping (pinned, or given
//! the 📌 reaction) in a war room becomes a timeline event.
//!
//! Owns: turning a captured message into one `Captured` event, once per message.
//! Must not: fetch the message (the adapter hands it over) or post anything: the
//! capture is silent, the pin or reaction itself is the acknowledgement.

use super::session::Session;
use super::{Actor, Context, Engine, EngineError, request_key};
use crate::domain::{EventKind, UserId};
use chrono::{DateTime, Utc};

/// The most characters of a captured message the timeline keeps.
const CAPTURED_MAX_CHARS: usize = 1000;

/// A message as the platform reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMessage {
    pub author: UserId,
    pub text: String,
    /// When the message was written, which is when it belongs in the timeline.
    pub at: DateTime<Utc>,
}

impl Engine {
    /// Records `message` in the timeline of the incident whose war room is
    /// `context.channel`. `actor` is who pinned or reacted. Returns false when the
    /// channel is not a war room of `actor`'s platform. With `context.request_id`
    /// set (the message id), capturing the same message again records nothing more.
    pub async fn capture(
        &self,
        actor: &Actor,
        context: &Context,
        message: CapturedMessage,
    ) -> Result<bool, EngineError> {
        let mut session = Session::begin(&self.inner, actor, context).await?;
        let Some(incident) = session
            .tx
            .lock_incident_by_room(actor.platform, &context.channel)
            .await?
        else {
            return Ok(false);
        };
        if let Some(key) = &context.request_id {
            let key = request_key(actor.platform, &format!("capture:{key}"));
            if session.tx.claim_request(&key, session.now).await?.is_some() {
                return Ok(true);
            }
            session.tx.save_reply(&key, "").await?;
        }
        let text = one_line(&message.text);
        let line = format!("Pinned message by {}: {text}", message.author);
        let at = message.at.min(session.now);
        session
            .record_at(&incident.id, EventKind::Captured, line, at)
            .await?;
        session.tx.commit().await?;
        Ok(true)
    }
}

/// The message folded onto one line and bounded, as a timeline entry reads.
fn one_line(text: &str) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(CAPTURED_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &folded[..cut]),
        None => folded,
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn captured_text_is_one_bounded_line() {
        assert_eq!(
            one_line("  rollback\n started \t now "),
            "rollback started now"
        );
        let long = "é".repeat(1500);
        let kept = one_line(&long);
        assert_eq!(kept.chars().count(), 1001);
        assert!(kept.ends_with('…'));
    }
}
