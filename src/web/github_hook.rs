//! `POST /github/webhook`: GitHub's `issues` events, so that closing the issue
//! a follow-up was filed as marks the follow-up done.
//!
//! Owns: checking `X-Hub-Signature-256` (HMAC-SHA256 of the body with
//! `GITHUB_WEBHOOK_SECRET`, compared in constant time) and reading the event.
//! Anything unsigned or signed with another secret gets 401 and changes
//! nothing. The follow-up is found by the marker warroom wrote into the issue's
//! body, so only issues warroom filed, in the configured repository, count.
//! Must not: decide what a closed issue means (the engine does).

use crate::config::Secret;
use crate::domain::{IncidentId, Tracker};
use crate::engine::Engine;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde::Deserialize;

#[derive(Clone)]
struct Hook {
    engine: Engine,
    secret: Secret,
    /// `owner/name` of `[trackers.github]`.
    repository: String,
}

/// The route, when `[trackers.github]` and `GITHUB_WEBHOOK_SECRET` are both set.
pub fn router(engine: Engine, secret: Secret, repository: String) -> Router {
    Router::new()
        .route("/github/webhook", post(receive))
        .with_state(Hook {
            engine,
            secret,
            repository,
        })
}

#[derive(Debug, Deserialize)]
struct IssuesEvent {
    action: String,
    issue: Issue,
    repository: Repository,
}

#[derive(Debug, Deserialize)]
struct Issue {
    #[serde(default)]
    body: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: String,
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("sha256="))
        .and_then(|hex| decode_hex(hex.trim()));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, hook.secret.expose().as_bytes());
    let verified = signature.is_some_and(|tag| ring::hmac::verify(&key, &body, &tag).is_ok());
    if !verified {
        return StatusCode::UNAUTHORIZED;
    }
    let event = headers
        .get("x-github-event")
        .and_then(|value| value.to_str().ok());
    if event != Some("issues") {
        // `ping` and every other event: acknowledged, nothing to do.
        return StatusCode::NO_CONTENT;
    }
    let Ok(event) = serde_json::from_slice::<IssuesEvent>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if event.action != "closed"
        || !event
            .repository
            .full_name
            .eq_ignore_ascii_case(&hook.repository)
    {
        return StatusCode::NO_CONTENT;
    }
    let Some((incident, number)) = event.issue.body.as_deref().and_then(followup_of) else {
        return StatusCode::NO_CONTENT;
    };
    match hook
        .engine
        .follow_up_closed(&incident, number, Tracker::GitHub)
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(error) => {
            tracing::warn!(%error, %incident, number, "a closed issue could not be recorded; GitHub may deliver it again");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// The follow-up an issue body's marker names: `<!-- warroom:followup:INC-…/3/… -->`.
fn followup_of(body: &str) -> Option<(IncidentId, i64)> {
    let marker = body.split("<!-- warroom:followup:").nth(1)?;
    let marker = marker.split(" -->").next()?;
    let mut parts = marker.split('/');
    let incident = parts.next()?.parse().ok()?;
    let number = parts.next()?.parse().ok()?;
    Some((incident, number))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_the_follow_up() {
        let body = "Follow-up #3 …\n\n<!-- warroom:followup:INC-20261123-001/3/1795424400000 -->\n";
        let (incident, number) = followup_of(body).unwrap();
        assert_eq!(incident.as_str(), "INC-20261123-001");
        assert_eq!(number, 3);
        assert_eq!(followup_of("no marker here"), None);
        assert_eq!(decode_hex("0aff"), Some(vec![10, 255]));
        assert_eq!(decode_hex("0g"), None);
    }
}
