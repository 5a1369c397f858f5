//! The HTTP face: health and readiness now; the platform endpoints, status page,
//! JSON API and metrics mount here as they arrive.
//!
//! Owns: routing, request limits, and turning store answers into HTTP answers.
//! Must not: hold incident logic (it asks the engine or reads the store).

use crate::clock::SharedClock;
use crate::store::Store;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::time::Duration;

/// Request bodies above this are refused before they are read: no platform sends more.
pub const BODY_LIMIT: usize = 64 * 1024;

/// An undelivered operation older than this means delivery is stuck.
pub const OUTBOX_STUCK_AFTER: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub clock: SharedClock,
}

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Liveness: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers, and queued chat operations are moving.
async fn readyz(State(state): State<WebState>) -> (StatusCode, Json<serde_json::Value>) {
    if let Err(error) = state.store.ping().await {
        tracing::warn!(%error, "readiness: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": "unreachable" })),
        );
    }
    match state.store.outbox_backlog(state.clock.now()).await {
        Ok((pending, oldest)) => {
            let oldest_seconds = oldest.map(|age| age.as_secs());
            let stuck = oldest.is_some_and(|age| age > OUTBOX_STUCK_AFTER);
            let status = if stuck {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            let body = json!({
                "status": if stuck { "degraded" } else { "ok" },
                "database": "ok",
                "outbox": { "pending": pending, "oldest_seconds": oldest_seconds, "stuck": stuck },
            });
            (status, Json(body))
        }
        Err(error) => {
            tracing::warn!(%error, "readiness: outbox query failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "error" })),
            )
        }
    }
}
