//! `POST /hooks/alertmanager` and `POST /hooks/grafana`: alerts from monitoring;
//! `POST /hooks/pagerduty`: what responders did in PagerDuty.
//!
//! Alertmanager and Grafana send `Authorization: Bearer $WARROOM_ALERTS_TOKEN`;
//! PagerDuty signs each body (`X-PagerDuty-Signature`, HMAC-SHA256 with
//! `PAGERDUTY_WEBHOOK_SECRET`). Both are checked before the body is read for
//! meaning; without its variable a hook answers 503 saying how to turn it on, and
//! anything unauthenticated gets 401 and changes nothing. A body that is not the
//! source's webhook JSON gets 400 naming what was wrong. Answers and errors have
//! the JSON API's shape. A database failure is a 503, so the sender delivers
//! again later.

use super::api::{ApiError, authorize, same_secret, unavailable};
use crate::alerts::{self, AlertGroup, MalformedAlert};
use crate::config::Secret;
use crate::domain::hex;
use crate::engine::{AlertOutcome, Engine, PagerSync};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ring::hmac;
use serde_json::json;

/// Alertmanager sends every alert of a group in one body; a large group is far
/// more than a chat platform's request.
const ALERT_BODY_LIMIT: usize = 1024 * 1024;

/// What the senders authenticate with; a hook whose secret is `None` is off.
#[derive(Clone)]
pub struct HookSecrets {
    /// `WARROOM_ALERTS_TOKEN`, for Alertmanager and Grafana.
    pub alerts_token: Option<Secret>,
    /// `PAGERDUTY_WEBHOOK_SECRET`.
    pub pagerduty: Option<Secret>,
}

#[derive(Clone)]
struct HookState {
    engine: Engine,
    secrets: HookSecrets,
}

/// The webhooks, answering for `engine`.
pub fn router(engine: Engine, secrets: HookSecrets) -> Router {
    Router::new()
        .route("/hooks/alertmanager", post(alertmanager))
        .route("/hooks/grafana", post(grafana))
        .route("/hooks/pagerduty", post(pagerduty))
        .layer(DefaultBodyLimit::max(ALERT_BODY_LIMIT))
        .with_state(HookState { engine, secrets })
}

async fn alertmanager(State(state): State<HookState>, headers: HeaderMap, body: Bytes) -> Response {
    receive(&state, &headers, &body, alerts::alertmanager).await
}

async fn grafana(State(state): State<HookState>, headers: HeaderMap, body: Bytes) -> Response {
    receive(&state, &headers, &body, alerts::grafana).await
}

async fn receive(
    state: &HookState,
    headers: &HeaderMap,
    body: &[u8],
    read: fn(&[u8]) -> Result<AlertGroup, MalformedAlert>,
) -> Response {
    let disabled = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "hooks_disabled",
            "The alert webhooks are disabled. Set WARROOM_ALERTS_TOKEN to a long random secret \
             and restart warroom; then send it as `Authorization: Bearer <token>`.",
        )
    };
    if let Err(error) = authorize(
        state.secrets.alerts_token.as_ref(),
        headers,
        "alerts token",
        disabled,
    ) {
        return error.into_response();
    }
    let group = match read(body) {
        Ok(group) => group,
        Err(error) => return ApiError::bad_request(error.to_string()).into_response(),
    };
    match state.engine.receive_alerts(&group).await {
        Ok(outcome) => Json(answer(&outcome)).into_response(),
        Err(error) => {
            tracing::error!(%error, source = %group.source, "an alert group could not be recorded");
            unavailable(error.reply().text()).into_response()
        }
    }
}

/// `POST /hooks/pagerduty`: a V3 webhook event, signed.
async fn pagerduty(State(state): State<HookState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.secrets.pagerduty else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "hooks_disabled",
            "The PagerDuty webhook is disabled. Set PAGERDUTY_WEBHOOK_SECRET to the webhook \
             subscription's secret and restart warroom.",
        )
        .into_response();
    };
    let signatures = headers
        .get("x-pagerduty-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !signed_by(secret, &body, signatures) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "X-PagerDuty-Signature is missing or does not match the body.",
        )
        .into_response();
    }
    let event = match alerts::pagerduty(&body) {
        Ok(event) => event,
        Err(error) => return ApiError::bad_request(error.to_string()).into_response(),
    };
    match state.engine.receive_pagerduty(&event).await {
        Ok(synced) => {
            let incident = match &synced {
                PagerSync::Acknowledged(id)
                | PagerSync::Resolved(id)
                | PagerSync::PageResolved(id)
                | PagerSync::Kept(id) => Some(id.to_string()),
                PagerSync::Alert(outcome) => return Json(answer(outcome)).into_response(),
                PagerSync::Ignored => None,
            };
            Json(json!({ "outcome": synced.as_str(), "incident": incident })).into_response()
        }
        Err(error) => {
            tracing::error!(%error, event = %event.id, "a PagerDuty event could not be recorded");
            unavailable(error.reply().text()).into_response()
        }
    }
}

/// Whether one of the comma-separated `v1=<hex>` signatures is the HMAC-SHA256
/// of `body` with `secret` (several while PagerDuty rotates the secret). Each is
/// compared in constant time.
fn signed_by(secret: &Secret, body: &[u8], signatures: &str) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let expected = hex(hmac::sign(&key, body).as_ref());
    signatures
        .split(',')
        .filter_map(|signature| signature.trim().strip_prefix("v1="))
        .any(|given| same_secret(expected.as_bytes(), given.to_ascii_lowercase().as_bytes()))
}

/// `{"outcome": …, "group": N, "incident": id | null}`.
fn answer(outcome: &AlertOutcome) -> serde_json::Value {
    let (group, incident) = match outcome {
        AlertOutcome::Unrouted { group }
        | AlertOutcome::Proposed { group }
        | AlertOutcome::Kept { group } => (*group, None),
        AlertOutcome::Declared { group, incident }
        | AlertOutcome::Joined {
            group, incident, ..
        } => (*group, Some(incident.to_string())),
    };
    json!({ "outcome": outcome.as_str(), "group": group, "incident": incident })
}
