//! The API's writes: `POST /api/incidents` declares, and `POST
//! /api/incidents/{id}/updates`, `/status`, `/notes` and `/resolve` do what the
//! slash commands do, as the API's own actor ([`API_USER`]), through the engine.
//!
//! An `Idempotency-Key` header names the request: a retry with the same key is
//! answered with the first answer (and `Idempotent-Replayed: true`) and changes
//! nothing again. A refusal the engine explains (a status it cannot move to, an
//! incident already resolved) is a 409 with the engine's words; nothing changed.

use super::{ApiError, Scope, WebState};
use crate::command::{AddNote, Command, Declare, PostUpdate, Resolve, SetStatus, SeverityWords};
use crate::domain::{API_USER, IncidentId, Platform, Status, Title, UserId, UserText};
use crate::engine::{Actor, Context, Engine, Reply};
use crate::telemetry::CommandOutcome;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// The header that makes a retried write apply once.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Keys are the caller's; long enough for a UUID or a hash, short enough to keep.
const MAX_KEY_CHARS: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeclareBody {
    title: String,
    severity: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    drill: bool,
    /// `slack` or `discord`; the first of them the config has, when left out.
    platform: Option<String>,
}

/// The body of a write on one incident, and the command it stands for.
pub(super) trait IncidentWrite: DeserializeOwned {
    fn command(self, incident: IncidentId) -> Result<Command, ApiError>;
}

/// `POST /api/incidents/{id}/updates`: `{"text"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateBody {
    text: String,
}

impl IncidentWrite for UpdateBody {
    fn command(self, incident: IncidentId) -> Result<Command, ApiError> {
        Ok(Command::PostUpdate(PostUpdate {
            incident: Some(incident),
            text: text("the update", &self.text)?,
            params: Vec::new(),
        }))
    }
}

/// `POST /api/incidents/{id}/status`: `{"status", "text"?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusBody {
    status: String,
    text: Option<String>,
}

impl IncidentWrite for StatusBody {
    fn command(self, incident: IncidentId) -> Result<Command, ApiError> {
        let status: Status = self.status.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "status must be investigating, identified, monitoring or resolved, not `{}`",
                self.status
            ))
        })?;
        Ok(Command::SetStatus(SetStatus {
            incident: Some(incident),
            status,
            text: optional_text("the status text", self.text.as_deref())?,
            params: Vec::new(),
        }))
    }
}

/// `POST /api/incidents/{id}/notes`: `{"text"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoteBody {
    text: String,
}

impl IncidentWrite for NoteBody {
    fn command(self, incident: IncidentId) -> Result<Command, ApiError> {
        Ok(Command::AddNote(AddNote {
            incident: Some(incident),
            at: None,
            text: text("the note", &self.text)?,
        }))
    }
}

/// `POST /api/incidents/{id}/resolve`: `{"summary"?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResolveBody {
    summary: Option<String>,
}

impl IncidentWrite for ResolveBody {
    fn command(self, incident: IncidentId) -> Result<Command, ApiError> {
        Ok(Command::Resolve(Resolve {
            incident: Some(incident),
            summary: optional_text("the summary", self.summary.as_deref())?,
        }))
    }
}

/// The JSON body, or a 400 saying what is wrong with it.
fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(body)| body)
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

fn text(what: &'static str, raw: &str) -> Result<UserText, ApiError> {
    UserText::parse(what, raw).map_err(|error| ApiError::bad_request(error.to_string()))
}

fn optional_text(what: &'static str, raw: Option<&str>) -> Result<Option<UserText>, ApiError> {
    raw.map(|raw| text(what, raw)).transpose()
}

/// `POST /api/incidents`.
pub(super) async fn declare(
    State(state): State<WebState>,
    headers: HeaderMap,
    declared: Result<Json<DeclareBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let declared = body(declared)?;
    let config = &state.config;
    let title =
        Title::parse(&declared.title).map_err(|error| ApiError::bad_request(error.to_string()))?;
    let severity = declared
        .severity
        .as_deref()
        .map(|word| {
            config.resolve(word).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "severity `{word}` is not configured; use one of {}",
                    config.words().join(", ")
                ))
            })
        })
        .transpose()?;
    let platform = match declared.platform.as_deref() {
        Some("slack") if config.slack().is_some() => Platform::Slack,
        Some("discord") if config.discord().is_some() => Platform::Discord,
        None if config.slack().is_some() => Platform::Slack,
        None if config.discord().is_some() => Platform::Discord,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "platform `{other}` is not one this warroom runs on (slack or discord, with its section in the config)"
            )));
        }
        None => {
            return Err(ApiError::bad_request(
                "this warroom has neither a [slack] nor a [discord] section to open the war room in",
            ));
        }
    };
    let command = Command::Declare(Declare {
        severity,
        title,
        services: declared.services,
        drill: declared.drill,
        private: false,
    });
    act(&state, &headers, platform, None, command).await
}

/// A write on the incident `id` (a 404 if there is none), on its platform.
pub(super) async fn on_incident<B: IncidentWrite>(
    State(state): State<WebState>,
    Extension(scope): Extension<Scope>,
    Path(id): Path<String>,
    headers: HeaderMap,
    posted: Result<Json<B>, JsonRejection>,
) -> Result<Response, ApiError> {
    let posted = body(posted)?;
    let incident = super::find_incident(&state, &id, scope).await?;
    let command = posted.command(incident.id.clone())?;
    act(
        &state,
        &headers,
        incident.platform,
        Some(incident.id),
        command,
    )
    .await
}

/// Hands the command to the engine as the API's actor and answers
/// `{"incident", "message"}`: 201 for a declaration, 200 otherwise.
async fn act(
    state: &WebState,
    headers: &HeaderMap,
    platform: Platform,
    incident: Option<IncidentId>,
    command: Command,
) -> Result<Response, ApiError> {
    let Some(engine) = &state.engine else {
        return Err(super::unavailable("This warroom serves the API read-only."));
    };
    let request_id = idempotency_key(headers)?.map(|key| format!("api:{key}"));
    let declaring = matches!(command, Command::Declare(_));
    let actor = Actor {
        platform,
        user: UserId::new(API_USER),
    };
    let context = Context {
        channel: String::new(),
        request_id,
        room_name: None,
    };
    let (reply, outcome) = handle(engine, &actor, &context, command).await?;
    let message = reply.text();
    if outcome == CommandOutcome::Rejected {
        return Err(ApiError::new(StatusCode::CONFLICT, "refused", message));
    }
    let incident = reply.declared.or(incident).map(|id| id.to_string());
    let status = if declaring {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (
        status,
        Json(json!({ "incident": incident, "message": message })),
    )
        .into_response();
    if outcome == CommandOutcome::Replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn handle(
    engine: &Engine,
    actor: &Actor,
    context: &Context,
    command: Command,
) -> Result<(Reply, CommandOutcome), ApiError> {
    engine
        .handle_with_outcome(actor, context, command)
        .await
        .map_err(|error| {
            tracing::error!(%error, "an API write failed on the database");
            super::unavailable(error.reply().text())
        })
}

/// The `Idempotency-Key`, if sent: 1 to 200 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    let well_formed = !key.is_empty()
        && key.chars().count() <= MAX_KEY_CHARS
        && key.chars().all(|c| c.is_ascii_graphic());
    if !well_formed {
        return Err(ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"
        )));
    }
    Ok(Some(key.to_string()))
}
