//! Slack's HTTP endpoints (`slack.mode = "http"`): `POST /slack/commands`,
//! `/slack/interactions` and `/slack/events`.
//!
//! Owns: refusing unsigned or stale requests (401, before anything is parsed) and
//! decoding each endpoint's body. Must not: act on a payload itself; it hands
//! verified payloads to [`Inbound`].

use super::inbound::{Inbound, Kind, SlashCommand};
use super::verify::{SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier, VerifyError};
use crate::clock::SharedClock;
use crate::web::BODY_LIMIT;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Clone)]
struct Endpoints {
    inbound: Arc<Inbound>,
    verifier: Verifier,
    clock: SharedClock,
}

/// The routes, ready to merge into the server.
pub fn routes(inbound: Arc<Inbound>, verifier: Verifier, clock: SharedClock) -> Router {
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactions", post(interactions))
        .route("/slack/events", post(events))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(Endpoints {
            inbound,
            verifier,
            clock,
        })
}

impl Endpoints {
    /// Whether the request provably comes from Slack; a refusal is logged.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        self.verifier
            .verify(
                header(TIMESTAMP_HEADER),
                header(SIGNATURE_HEADER),
                body,
                self.clock.now().timestamp(),
            )
            .inspect_err(|error| {
                tracing::warn!(%error, "refused a request claiming to come from Slack");
            })
    }
}

async fn commands(State(endpoints): State<Endpoints>, headers: HeaderMap, body: Bytes) -> Response {
    if endpoints.verify(&headers, &body).is_err() {
        return unauthorized();
    }
    let Ok(command) = slash_command(&body) else {
        return bad_request("expected a form-encoded slash command");
    };
    Json(endpoints.inbound.command(command).await).into_response()
}

/// A slash command from the form-encoded body of `POST /slack/commands`.
pub fn slash_command(body: &[u8]) -> Result<SlashCommand, serde_urlencoded::de::Error> {
    serde_urlencoded::from_bytes(body)
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

/// The form field `payload` of a `POST /slack/interactions` body: its JSON, and
/// its text as the inbox keeps it. `None` when there is no such field holding JSON.
pub fn interaction_payload(body: &[u8]) -> Option<(Value, String)> {
    let form = serde_urlencoded::from_bytes::<InteractionForm>(body).ok()?;
    let payload = serde_json::from_str(&form.payload).ok()?;
    Some((payload, form.payload))
}

async fn interactions(
    State(endpoints): State<Endpoints>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if endpoints.verify(&headers, &body).is_err() {
        return unauthorized();
    }
    let Some((payload, text)) = interaction_payload(&body) else {
        return bad_request("expected a form field `payload` holding JSON");
    };
    // Kept, then acknowledged at once; the clicker hears back through `response_url`.
    let inbound = endpoints.inbound.clone();
    let Some(kept) = inbound.keep(Kind::Interaction, &text).await else {
        return not_kept();
    };
    tokio::spawn(kept.apply(async move { inbound.interaction(payload).await }));
    StatusCode::OK.into_response()
}

async fn events(State(endpoints): State<Endpoints>, headers: HeaderMap, body: Bytes) -> Response {
    if endpoints.verify(&headers, &body).is_err() {
        return unauthorized();
    }
    let Ok(callback) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("expected a JSON event");
    };
    match callback.get("type").and_then(Value::as_str) {
        Some("url_verification") => {
            let challenge = callback.get("challenge").cloned().unwrap_or(Value::Null);
            Json(json!({ "challenge": challenge })).into_response()
        }
        Some("event_callback") => {
            if let Some(retry) = headers.get("x-slack-retry-num") {
                tracing::debug!(?retry, "Slack redelivered an event");
            }
            // Kept, then acknowledged at once, as Slack retries what is not answered
            // in 3 s; a redelivery is recognised by its message key in the engine.
            let inbound = endpoints.inbound.clone();
            let Ok(payload) = std::str::from_utf8(&body) else {
                return bad_request("expected a JSON event");
            };
            let Some(kept) = inbound.keep(Kind::Event, payload).await else {
                return not_kept();
            };
            tokio::spawn(kept.apply(async move { inbound.event(callback).await }));
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, "invalid Slack signature").into_response()
}

/// Not acknowledged: Slack redelivers an event, and tells the user a click failed.
fn not_kept() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "warroom could not record this request; please try again",
    )
        .into_response()
}

fn bad_request(reason: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, reason).into_response()
}
