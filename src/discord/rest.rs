//! The few Discord REST calls warroom makes, over one HTTP client, all to
//! `DISCORD_API_URL` + `/api/v10`.
//!
//! Owns: authentication, JSON and multipart bodies, and reading Discord's errors —
//! above all 429 `{retry_after, global}`, which is handed up rather than slept on,
//! so the outbox (which keeps per-incident order) decides when to try again.
//! Must not: retry by itself, or log tokens or message bodies.

use super::embeds::DiscordMessage;
use crate::config::Secret;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// The API version every path is under.
const API_PREFIX: &str = "/api/v10";
/// No Discord call warroom makes should take longer; a hung call is a transient failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait when a 429 carries no readable `retry_after`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestError {
    #[error("rate limited for {retry_after:?} (global: {global})")]
    RateLimited { retry_after: Duration, global: bool },
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        code: Option<u64>,
        message: String,
    },
    #[error("no answer from Discord: {0}")]
    Transport(String),
    #[error("Discord answered something unexpected: {0}")]
    Decode(String),
}

impl RestError {
    /// Worth trying again later: the server failed or could not be reached.
    pub fn is_transient(&self) -> bool {
        match self {
            RestError::RateLimited { .. } | RestError::Transport(_) => true,
            RestError::Status { status, .. } => *status >= 500,
            RestError::Decode(_) => false,
        }
    }
}

/// A Discord REST client bound to one API base and bot token.
#[derive(Clone)]
pub struct Rest {
    client: reqwest::Client,
    base: String,
    token: Secret,
}

impl Rest {
    /// `api_url` is `DISCORD_API_URL` without a trailing `/`.
    pub fn new(api_url: &str, token: Secret) -> Result<Self, RestError> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!(
                "DiscordBot (warroom, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .build()
            .map_err(|error| RestError::Transport(error.to_string()))?;
        Ok(Self {
            client,
            base: format!("{}{API_PREFIX}", api_url.trim_end_matches('/')),
            token,
        })
    }

    /// A JSON request; `Value::Null` for a 204.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, RestError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// A message body: JSON, or multipart with `payload_json` and `files[0]` when
    /// it carries an attachment.
    pub async fn message(
        &self,
        method: Method,
        path: &str,
        message: &DiscordMessage,
    ) -> Result<Value, RestError> {
        let files: Vec<(String, Vec<u8>)> = message.attachment.iter().cloned().collect();
        self.with_files(method, path, &message.body, &files).await
    }

    /// `body` as JSON, or as `payload_json` beside `files[0]`, `files[1]`, … (whose
    /// `attachments` entries the body lists with the same ids).
    pub async fn with_files(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        files: &[(String, Vec<u8>)],
    ) -> Result<Value, RestError> {
        let request = self.request(method, path);
        if files.is_empty() {
            return self.send(request.json(body)).await;
        }
        let mut form = reqwest::multipart::Form::new().text("payload_json", body.to_string());
        for (index, (name, bytes)) in files.iter().enumerate() {
            let file = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(name.clone())
                .mime_str("text/plain; charset=utf-8")
                .map_err(|error| RestError::Decode(error.to_string()))?;
            form = form.part(format!("files[{index}]"), file);
        }
        self.send(request.multipart(form)).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Bot {}", self.token.expose()),
            )
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, RestError> {
        let response = request
            .send()
            .await
            .map_err(|error| RestError::Transport(error.without_url().to_string()))?;
        let status = response.status();
        let header_wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<f64>().ok());
        let bytes = response
            .bytes()
            .await
            .map_err(|error| RestError::Transport(error.without_url().to_string()))?;
        let body: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let seconds = body
                .as_ref()
                .and_then(|body| body.get("retry_after"))
                .and_then(Value::as_f64)
                .or(header_wait);
            let global = body
                .as_ref()
                .and_then(|body| body.get("global"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            return Err(RestError::RateLimited {
                retry_after: seconds
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .unwrap_or(DEFAULT_RETRY_AFTER),
                global,
            });
        }
        if !status.is_success() {
            let field = |name: &str| body.as_ref().and_then(|body| body.get(name)).cloned();
            return Err(RestError::Status {
                status: status.as_u16(),
                code: field("code").and_then(|code| code.as_u64()),
                message: field("message")
                    .and_then(|m| m.as_str().map(str::to_string))
                    .unwrap_or_else(|| status.to_string()),
            });
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        body.ok_or_else(|| RestError::Decode(format!("a {status} answer that is not JSON")))
    }
}

/// A string field of a Discord object (ids are strings on the wire).
pub fn text_field<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str)
}
