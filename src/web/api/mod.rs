//! The JSON API under `/api`: incidents page by page, and one incident in full;
//! and, in `writes`, declaring and acting on incidents.
//!
//! `GET /api/incidents/{id}/postmortem.md` is the one answer that is not JSON: the
//! postmortem draft as Markdown (errors stay JSON).
//!
//! Every route sits behind `Authorization: Bearer $WARROOM_API_TOKEN`. Without a
//! token configured the API is off and every `/api/*` answers 503 saying how to
//! turn it on; a missing or wrong token is a 401. Unlike the status page, the API
//! shows everything: drills, roles, the internal timeline and follow-ups; private
//! incidents only to `WARROOM_API_PRIVATE_TOKEN`, whose scope allows them (with
//! the other token they are "not found").
//!
//! The shapes below are the contract (see the README); fields are only ever added.
//! Times are RFC 3339 in UTC with milliseconds.

mod writes;

use super::WebState;
use crate::config::Secret;
use crate::domain::{Incident, IncidentId};
use crate::render::{self, PostmortemRecord};
use crate::store::{DeclaredAfter, IncidentFilter, StoreError};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Incidents per page when the caller does not say.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

pub(super) fn router(state: WebState) -> Router<WebState> {
    // The token check wraps the fallback too, so an unknown path tells nothing to
    // a caller without the token.
    Router::new()
        .route("/incidents", get(list).post(writes::declare))
        .route("/incidents/{id}", get(show))
        .route("/incidents/{id}/postmortem.md", get(postmortem))
        .route(
            "/incidents/{id}/updates",
            post(writes::on_incident::<writes::UpdateBody>),
        )
        .route(
            "/incidents/{id}/status",
            post(writes::on_incident::<writes::StatusBody>),
        )
        .route(
            "/incidents/{id}/notes",
            post(writes::on_incident::<writes::NoteBody>),
        )
        .route(
            "/incidents/{id}/resolve",
            post(writes::on_incident::<writes::ResolveBody>),
        )
        .fallback(unknown)
        .layer(middleware::from_fn_with_state(state, require_token))
}

/// An error as the API reports it: `{"error": "<code>", "message": "<sentence>"}`.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "API request failed on the database");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The database did not answer; try again shortly.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.code, "message": self.message }));
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"warroom\""),
            );
        }
        response
    }
}

/// What the caller's token lets it see: private incidents only with
/// `WARROOM_API_PRIVATE_TOKEN`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scope {
    private: bool,
}

impl Scope {
    /// Whether this scope may see `incident`; a private one it may not is "not
    /// found", so the answer does not even tell that it exists.
    fn sees(self, incident: &Incident) -> bool {
        self.private || !incident.private
    }
}

async fn require_token(
    State(state): State<WebState>,
    mut request: Request,
    next: Next,
) -> Response {
    if state.api_token.is_none() && state.api_private_token.is_none() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_disabled",
            "The JSON API is disabled. Set WARROOM_API_TOKEN to a long random secret and restart \
             warroom; then send it as `Authorization: Bearer <token>`.",
        )
        .into_response();
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    let Some(given) = given else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send the API token as `Authorization: Bearer <token>`.",
        )
        .into_response();
    };
    let matches = |token: &Option<Secret>| {
        token
            .as_ref()
            .is_some_and(|token| same_secret(token.expose().as_bytes(), given.as_bytes()))
    };
    let scope = match (matches(&state.api_private_token), matches(&state.api_token)) {
        (true, _) => Scope { private: true },
        (false, true) => Scope { private: false },
        (false, false) => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "The API token is not valid.",
            )
            .into_response();
        }
    };
    request.extensions_mut().insert(scope);
    let mut response = next.run(request).await;
    // Answers carry internal details; no cache on the way should keep them.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Checks `Authorization: Bearer <token>` against `expected`, the `what` (as
/// "API token") a caller is told to send; `disabled` is the answer when no token
/// is configured.
pub(super) fn authorize(
    expected: Option<&Secret>,
    headers: &HeaderMap,
    what: &str,
    disabled: impl FnOnce() -> ApiError,
) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Err(disabled());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    let Some(given) = given else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("Send the {what} as `Authorization: Bearer <token>`."),
        ));
    };
    if !same_secret(expected.expose().as_bytes(), given.as_bytes()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("The {what} is not valid."),
        ));
    }
    Ok(())
}

/// The token of an `Authorization: Bearer <token>` value (the scheme ignores case).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares in time that depends only on the lengths, never on where the first
/// difference is, so the token cannot be guessed byte by byte from timing. (The
/// length is not secret: any token of the same length takes as long.)
pub(super) fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    if expected.len() != given.len() {
        return false;
    }
    let difference = expected
        .iter()
        .zip(given)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

async fn unknown() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such API endpoint; see GET /api/incidents, GET /api/incidents/{id} and \
         GET /api/incidents/{id}/postmortem.md; POST /api/incidents and \
         POST /api/incidents/{id}/updates, /status, /notes and /resolve.",
    )
}

#[derive(Debug, Deserialize)]
struct ListParams {
    status: Option<String>,
    since: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /api/incidents` answers this.
#[derive(Debug, Serialize)]
struct IncidentList {
    incidents: Vec<IncidentJson>,
    /// Where the next page starts; `None` on the last page.
    next: Option<NextPage>,
}

#[derive(Debug, Serialize)]
struct NextPage {
    since: String,
    after: String,
    /// The same query, continued: GET this for the next page.
    url: String,
}

#[derive(Debug, Serialize)]
struct IncidentJson {
    id: String,
    title: String,
    severity: String,
    status: String,
    drill: bool,
    services: Vec<String>,
    roles: BTreeMap<String, String>,
    platform: String,
    room: Option<String>,
    declared_by: String,
    declared_at: String,
    acknowledged_at: Option<String>,
    identified_at: Option<String>,
    mitigated_at: Option<String>,
    resolved_at: Option<String>,
    last_update_at: Option<String>,
    summary: Option<String>,
    /// When the alerts it was declared from began; `None` when declared by hand.
    detected_at: Option<String>,
    /// This incident in full.
    url: String,
}

impl IncidentJson {
    fn new(incident: &Incident) -> Self {
        Self {
            id: incident.id.to_string(),
            title: incident.title.clone(),
            severity: incident.severity.as_str().to_string(),
            status: incident.status.as_str().to_string(),
            drill: incident.drill,
            services: incident.services.clone(),
            roles: incident
                .roles
                .iter()
                .map(|(role, user)| (role.as_str().to_string(), user.as_str().to_string()))
                .collect(),
            platform: incident.platform.as_str().to_string(),
            room: incident.room.clone(),
            declared_by: incident.declared_by.as_str().to_string(),
            declared_at: time(incident.declared_at),
            acknowledged_at: incident.acknowledged_at.map(time),
            identified_at: incident.identified_at.map(time),
            mitigated_at: incident.mitigated_at.map(time),
            resolved_at: incident.resolved_at.map(time),
            last_update_at: incident.last_update_at.map(time),
            summary: incident.summary.clone(),
            detected_at: incident.detected_at.map(time),
            url: format!("/api/incidents/{}", incident.id),
        }
    }
}

/// `GET /api/incidents/{id}` answers this.
#[derive(Debug, Serialize)]
struct IncidentDetail {
    #[serde(flatten)]
    incident: IncidentJson,
    updates: Vec<UpdateJson>,
    timeline: Vec<EventJson>,
    followups: Vec<FollowUpJson>,
    /// Runs of recovery actions, oldest first: the audit trail.
    action_runs: Vec<ActionRunJson>,
    /// Runs of runbooks, oldest first; their steps are among `action_runs`.
    runbook_runs: Vec<RunbookRunJson>,
}

/// One run of a runbook.
#[derive(Debug, Serialize)]
struct RunbookRunJson {
    number: i64,
    runbook: String,
    params: std::collections::BTreeMap<String, String>,
    status: String,
    requested_by: String,
    approved_by: Option<String>,
    requested_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
}

/// One run of an action. `output` is capped and redacted; `output_hash` is the
/// SHA-256 of the whole output.
#[derive(Debug, Serialize)]
struct ActionRunJson {
    number: i64,
    action: String,
    params: std::collections::BTreeMap<String, String>,
    status: String,
    requested_by: String,
    approved_by: Option<String>,
    requested_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    attempts: u32,
    result: Option<String>,
    output: Option<String>,
    output_hash: Option<String>,
    /// The runbook run this run is a step of, if any.
    runbook_run: Option<i64>,
    /// Its step number in the runbook, from 1.
    step: Option<usize>,
    /// Whether it is the step's fallback rather than the step itself.
    fallback: bool,
}

#[derive(Debug, Serialize)]
struct UpdateJson {
    at: String,
    status: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct EventJson {
    at: String,
    kind: String,
    actor: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct FollowUpJson {
    number: i64,
    text: String,
    owner: Option<String>,
    due: Option<String>,
    done: bool,
    created_at: String,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The 404 for an incident id that is not one, or names no incident.
fn no_incident(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("There is no incident `{id}`."),
    )
}

async fn list(
    State(state): State<WebState>,
    Extension(scope): Extension<Scope>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<IncidentList>, ApiError> {
    let Query(params) = params.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let filter = match params.status.as_deref() {
        None | Some("all") => IncidentFilter::All,
        Some("open") => IncidentFilter::Open,
        Some("resolved") => IncidentFilter::Resolved,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "status must be open, resolved or all, not `{other}`"
            )));
        }
    };
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<u32>() {
            Ok(limit @ 1..=MAX_LIMIT) => limit,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}, not `{raw}`"
                )));
            }
        },
    };
    let since = params
        .since
        .as_deref()
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "since must be an RFC 3339 time such as 2026-11-23T14:00:00Z, not `{raw}`"
                    ))
                })
        })
        .transpose()?;
    let after = params
        .after
        .as_deref()
        .map(|raw| {
            raw.parse::<IncidentId>()
                .map_err(|error| ApiError::bad_request(format!("after: {error}")))
        })
        .transpose()?;
    let start = match (since, after) {
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "after continues a page and needs the since it came with (use next.url)",
            ));
        }
        (None, None) => None,
        (Some(at), id) => Some(DeclaredAfter { at, id }),
    };
    // One more than asked tells whether another page follows.
    let mut incidents = state
        .store
        .incidents_declared(filter, scope.private, start.as_ref(), limit + 1)
        .await?;
    let more = incidents.len() > limit as usize;
    incidents.truncate(limit as usize);
    let next = match incidents.last() {
        Some(last) if more => {
            let since = time(last.declared_at);
            let after = last.id.to_string();
            let status = params
                .status
                .as_deref()
                .map(|status| format!("status={status}&"))
                .unwrap_or_default();
            Some(NextPage {
                url: format!("/api/incidents?{status}since={since}&after={after}&limit={limit}"),
                since,
                after,
            })
        }
        _ => None,
    };
    Ok(Json(IncidentList {
        incidents: incidents.iter().map(IncidentJson::new).collect(),
        next,
    }))
}

/// The incident `id` names, if `scope` may see it, or the 404 saying there is none.
async fn find_incident(state: &WebState, id: &str, scope: Scope) -> Result<Incident, ApiError> {
    let not_found = || no_incident(id);
    let incident_id: IncidentId = id.parse().map_err(|_| not_found())?;
    state
        .store
        .incident(&incident_id)
        .await?
        .filter(|incident| scope.sees(incident))
        .ok_or_else(not_found)
}

/// The 503 of a write the database could not take; `message` says whether it
/// may have been saved.
pub(super) fn unavailable(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
}

async fn show(
    State(state): State<WebState>,
    Extension(scope): Extension<Scope>,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let incident = find_incident(&state, &id, scope).await?;
    let incident_id = incident.id.clone();
    let store = &state.store;
    let updates = store.status_updates(&incident_id).await?;
    let timeline = store.timeline(&incident_id).await?;
    let followups = store.followups(&incident_id).await?;
    let runs = store.action_runs_of(&incident_id).await?;
    let runbook_runs = store.runbook_runs_of(&incident_id).await?;
    Ok(Json(IncidentDetail {
        incident: IncidentJson::new(&incident),
        updates: updates
            .into_iter()
            .map(|update| UpdateJson {
                at: time(update.at),
                status: update.status.as_str().to_string(),
                text: update.text,
            })
            .collect(),
        timeline: timeline
            .into_iter()
            .map(|event| EventJson {
                at: time(event.at),
                kind: event.kind.as_str().to_string(),
                actor: event.actor,
                text: event.text,
            })
            .collect(),
        followups: followups
            .into_iter()
            .map(|followup| FollowUpJson {
                number: followup.number,
                text: followup.text,
                owner: followup.owner.map(|owner| owner.as_str().to_string()),
                due: followup.due.map(|due| due.format("%Y-%m-%d").to_string()),
                done: followup.done,
                created_at: time(followup.created_at),
            })
            .collect(),
        action_runs: runs
            .into_iter()
            .map(|run| ActionRunJson {
                number: run.id,
                action: run.action,
                params: run.params,
                status: run.status.as_str().to_string(),
                requested_by: run.requested_by.as_str().to_string(),
                approved_by: run.approved_by.map(|user| user.as_str().to_string()),
                requested_at: time(run.created_at),
                started_at: run.started_at.map(time),
                finished_at: run.finished_at.map(time),
                attempts: run.attempts,
                result: run.result,
                output: run.output,
                output_hash: run.output_hash,
                runbook_run: run.step.map(|step| step.runbook_run),
                step: run.step.map(|step| step.index + 1),
                fallback: run.step.is_some_and(|step| step.fallback),
            })
            .collect(),
        runbook_runs: runbook_runs
            .into_iter()
            .map(|run| RunbookRunJson {
                number: run.id,
                runbook: run.runbook,
                params: run.params,
                status: run.status.as_str().to_string(),
                requested_by: run.requested_by.as_str().to_string(),
                approved_by: run.approved_by.map(|user| user.as_str().to_string()),
                requested_at: time(run.created_at),
                started_at: run.started_at.map(time),
                finished_at: run.finished_at.map(time),
            })
            .collect(),
    }))
}

/// `GET /api/incidents/{id}/postmortem.md`: the draft, rendered from what is recorded now.
async fn postmortem(
    State(state): State<WebState>,
    Extension(scope): Extension<Scope>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || no_incident(&id);
    let incident_id: IncidentId = id.parse().map_err(|_| not_found())?;
    let record = state
        .store
        .incident_record(&incident_id)
        .await?
        .filter(|record| scope.sees(&record.incident))
        .ok_or_else(not_found)?;
    let draft = render::postmortem(&PostmortemRecord::of(&record), &state.config);
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/markdown; charset=utf-8"),
        )],
        draft,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_and_compared_whole() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cret", b"s3creT"));
        assert!(!same_secret(b"s3cret", b"s3cre"));
    }
}
