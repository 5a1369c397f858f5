//! `POST /hooks/alertmanager` and `POST /hooks/grafana`: alerts from monitoring.
//!
//! Every request needs `Authorization: Bearer $WARROOM_ALERTS_TOKEN` (checked
//! before the body is read for meaning); without the variable the hooks answer
//! 503 saying how to turn them on. A body that is not the source's webhook JSON
//! gets 400 naming what was wrong. Answers and errors have the JSON API's shape.
//! A database failure is a 503, so the sender delivers again later.

use super::api::{ApiError, authorize};
use crate::alerts::{self, AlertGroup, MalformedAlert};
use crate::config::Secret;
use crate::engine::{AlertOutcome, Engine};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

/// Alertmanager sends every alert of a group in one body; a large group is far
/// more than a chat platform's request.
const ALERT_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Clone)]
struct HookState {
    engine: Engine,
    /// `WARROOM_ALERTS_TOKEN`; `None` turns the hooks off.
    token: Option<Secret>,
}

/// The alert webhooks, answering for `engine`.
pub fn router(engine: Engine, token: Option<Secret>) -> Router {
    Router::new()
        .route("/hooks/alertmanager", post(alertmanager))
        .route("/hooks/grafana", post(grafana))
        .layer(DefaultBodyLimit::max(ALERT_BODY_LIMIT))
        .with_state(HookState { engine, token })
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
    if let Err(error) = authorize(state.token.as_ref(), headers, "alerts token", disabled) {
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
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                error.reply().text(),
            )
            .into_response()
        }
    }
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
