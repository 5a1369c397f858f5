//! `POST /github/webhook`: GitHub's `issues` events, so that closing the issue
//! a follow-up was filed as marks the follow-up done.
//!
//! Owns: checking `X-Hub-Signature-256` (HMAC-SHA256 of the body with
//! `GITHUB_WEBHOOK_SECRET`, compared in constant time, in its hex form) and reading the event.
//! Anything unsigned or signed with another secret gets 401 and changes
//! nothing. The follow-up is found by the marker warroom wrote into the issue's
//! body, so only issues warroom filed, in the configured repository, count.
//! Must not: decide what a closed issue means (the engine does).

use crate::config::Secret;
use crate::domain::{IncidentId, Tracker, hex};
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
    let given = headers
        .get("x-hub-signature-256")
        .map(|value| value.as_bytes().trim_ascii());
    if !given.is_some_and(|given| {
        same_in_constant_time(given, signature(&hook.secret, &body).as_bytes())
    }) {
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

/// `sha256=<hex>`: the `X-Hub-Signature-256` GitHub sends with `body`.
fn signature(secret: &Secret, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose().as_bytes());
    let tag = ring::hmac::sign(&key, body);
    format!("sha256={}", hex(tag.as_ref()))
}

/// Compares the signatures as GitHub's documentation does, in their hex form,
/// in time that does not depend on where they first differ.
fn same_in_constant_time(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
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
    }

    #[test]
    fn signatures_are_githubs_documented_example() {
        // docs.github.com, "Validating webhook deliveries": secret and payload
        // "It's a Secret to Everybody" / "Hello, World!".
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let signed = signature(&Secret::new("It's a Secret to Everybody"), b"Hello, World!");
        assert_eq!(signed, expected);
        assert!(same_in_constant_time(
            signed.as_bytes(),
            expected.as_bytes()
        ));
        assert!(!same_in_constant_time(b"sha256=00", expected.as_bytes()));
    }
}
