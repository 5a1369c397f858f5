//! The HTTP face: the public status page and its Atom feed, the JSON API, health,
//! readiness and metrics; the platform endpoints mount here as they arrive.
//!
//! Owns: routing, request limits, security headers, and turning store answers into
//! HTTP answers (HTML, JSON, Atom, Prometheus text).
//! Must not: hold incident logic. What the public sees of an incident, and how
//! incidents set component states, is decided in [`crate::engine::public`]; this
//! module reads the store, asks that module, and draws the result.
//!
//! Submodules: `status_page` (`/`, `/incidents/{id}`, `/feed.atom`), `api`
//! (`/api/*`, behind the Bearer token), `hooks` (`/hooks/*`, alerts from
//! monitoring, behind a Bearer token of their own, handed to the engine),
//! `metrics` (`/metrics`) and `github_hook` (`/github/webhook`, closed issues
//! back to their follow-ups).

mod api;
pub mod github_hook;
pub mod hooks;
mod metrics;
mod status_page;

use crate::clock::SharedClock;
use crate::config::{Config, Secret};
use crate::engine::Engine;
use crate::store::Store;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Request bodies above this are refused before they are read: no platform sends more.
pub const BODY_LIMIT: usize = 64 * 1024;

/// An undelivered operation older than this means delivery is stuck.
pub const OUTBOX_STUCK_AFTER: Duration = Duration::from_secs(300);

/// How long `/readyz` waits for each database query before it answers not ready.
const READINESS_WAIT: Duration = Duration::from_secs(1);

/// Sent with every answer. The pages need no script at all, so none may run; styles
/// come only from our own stylesheet, images only from us or `data:` URLs; no
/// other site may frame the pages, and links leak nothing about where they were.
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub clock: SharedClock,
    pub config: Arc<Config>,
    /// `WARROOM_API_TOKEN`; `None` turns `/api/*` off.
    pub api_token: Option<Secret>,
    /// `WARROOM_API_PRIVATE_TOKEN`: also accepted, and the only token that shows
    /// private incidents.
    pub api_private_token: Option<Secret>,
    /// The process's metrics recorder (see [`crate::telemetry::install`]).
    pub metrics: Option<PrometheusHandle>,
    /// What the API's writes go through; `None` serves the API read-only.
    pub engine: Option<Engine>,
}

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::scrape))
        .nest("/api", api::router(state.clone()))
        .merge(status_page::router())
        .layer(middleware::map_response(security_headers))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Liveness: the process answers.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and can take a change, and queued chat
/// operations are moving. A database that does not answer within
/// [`READINESS_WAIT`] counts as away: probes give up about then, and commands
/// would not be answered in time either.
async fn readyz(State(state): State<WebState>) -> (StatusCode, Json<serde_json::Value>) {
    let unavailable = |database: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": database })),
        )
    };
    match tokio::time::timeout(READINESS_WAIT, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) if error.is_out_of_space() => {
            tracing::warn!(%error, "readiness: the database's disk is full");
            return unavailable("full");
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: database unreachable");
            return unavailable("unreachable");
        }
        Err(_) => {
            tracing::warn!(wait = ?READINESS_WAIT, "readiness: the database did not answer in time");
            return unavailable("unreachable");
        }
    }
    let backlog = tokio::time::timeout(
        READINESS_WAIT,
        state.store.outbox_backlog(state.clock.now()),
    )
    .await;
    match backlog {
        Ok(Ok((pending, oldest))) => {
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
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: outbox query failed");
            unavailable("error")
        }
        Err(_) => {
            tracing::warn!(wait = ?READINESS_WAIT, "readiness: the outbox query did not answer in time");
            unavailable("error")
        }
    }
}
