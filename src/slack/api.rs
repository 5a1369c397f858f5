//! The Slack Web API as warroom calls it: one form-encoded POST per method to
//! `{SLACK_API_URL}{method}`, bearer-authenticated, answered by `{"ok": …}` JSON.
//!
//! Owns: turning HTTP outcomes into [`ApiError`] (429 and `Retry-After`, 5xx and
//! timeouts, Slack's `ok: false` error codes) and the bot's own identity
//! (`auth.test`, asked once). Must not: log tokens or message content.

use crate::config::Secret;
use crate::outbox::DeliveryError;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::OnceCell;

/// How long one call may take before it counts as a transient failure; the
/// dispatcher's own delivery timeout is longer, so this one decides.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// What to wait when Slack rate-limits without saying for how long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Slack error codes that mean "try again later" rather than "this will never work".
const TRANSIENT_ERRORS: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "timeout",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{method}: rate limited; retry after {retry_after:?}")]
    RateLimited {
        method: &'static str,
        retry_after: Duration,
    },
    #[error("{method}: temporary failure: {reason}")]
    Transient {
        method: &'static str,
        reason: String,
    },
    /// Slack answered `ok: false` with this error code.
    #[error("{method}: Slack answered `{code}`")]
    Slack { method: &'static str, code: String },
    /// An answer that is not what Slack documents.
    #[error("{method}: unexpected answer: {reason}")]
    Unexpected {
        method: &'static str,
        reason: String,
    },
}

impl ApiError {
    /// Whether Slack answered with this error code.
    pub fn is(&self, wanted: &str) -> bool {
        matches!(self, ApiError::Slack { code, .. } if code == wanted)
    }
}

impl From<ApiError> for DeliveryError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::RateLimited { retry_after, .. } => DeliveryError::RateLimited { retry_after },
            ApiError::Transient { .. } => DeliveryError::Transient(error.to_string()),
            ApiError::Slack { ref code, .. } if TRANSIENT_ERRORS.contains(&code.as_str()) => {
                DeliveryError::Transient(error.to_string())
            }
            ApiError::Slack { .. } | ApiError::Unexpected { .. } => {
                DeliveryError::Permanent(error.to_string())
            }
        }
    }
}

/// A Web API client bound to one base URL and bot token.
pub struct WebApi {
    http: reqwest::Client,
    base: String,
    bot_token: Secret,
    bot_user: OnceCell<String>,
}

impl WebApi {
    /// `base` is `SLACK_API_URL`, ending in `/`.
    pub fn new(base: &str, bot_token: Secret) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: base.to_string(),
            bot_token,
            bot_user: OnceCell::new(),
        })
    }

    /// Calls a method with the bot token.
    pub async fn call(
        &self,
        method: &'static str,
        params: &[(&str, &str)],
    ) -> Result<Value, ApiError> {
        self.call_with(method, &self.bot_token, params).await
    }

    /// Calls a method with another token (Socket Mode's app-level token).
    pub async fn call_with(
        &self,
        method: &'static str,
        token: &Secret,
        params: &[(&str, &str)],
    ) -> Result<Value, ApiError> {
        let url = format!("{}{method}", self.base);
        let sent = self
            .http
            .post(url)
            .bearer_auth(token.expose())
            .form(params)
            .send()
            .await
            .map_err(|error| transient(method, &error))?;
        let status = sent.status();
        retry_later(method, &sent)?;
        let headers = sent.headers().clone();
        let body: Value = sent.json().await.map_err(|error| {
            if error.is_timeout() || error.is_body() {
                transient(method, &error)
            } else {
                ApiError::Unexpected {
                    method,
                    reason: format!("HTTP {status}, not JSON"),
                }
            }
        })?;
        if body.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(body);
        }
        let code = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error")
            .to_string();
        if code == "ratelimited" || code == "rate_limited" {
            return Err(ApiError::RateLimited {
                method,
                retry_after: retry_after(&headers),
            });
        }
        Err(ApiError::Slack { method, code })
    }

    /// The bot's own user id (`auth.test`), asked once and remembered.
    pub async fn bot_user(&self) -> Result<&str, ApiError> {
        self.bot_user
            .get_or_try_init(|| async {
                let answer = self.call("auth.test", &[]).await?;
                string_at(&answer, "auth.test", &["user_id"])
            })
            .await
            .map(String::as_str)
    }

    /// Sends a file's bytes to the `upload_url` that `files.getUploadURLExternal`
    /// handed out. The URL itself authorises the upload, so the bot token is not
    /// sent with it; Slack answers 200 when it has the bytes.
    pub async fn send_file(&self, upload_url: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
        const METHOD: &str = "upload_url";
        let sent = self
            .http
            .post(upload_url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .map_err(|error| transient(METHOD, &error))?;
        retry_later(METHOD, &sent)?;
        let status = sent.status();
        if status != reqwest::StatusCode::OK {
            return Err(ApiError::Unexpected {
                method: METHOD,
                reason: format!("HTTP {status}"),
            });
        }
        Ok(())
    }

    /// Posts a follow-up answer to a slash command's or click's `response_url`.
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), ApiError> {
        const METHOD: &str = "response_url";
        let sent = self
            .http
            .post(response_url)
            .json(body)
            .send()
            .await
            .map_err(|error| transient(METHOD, &error))?;
        if sent.status().is_success() {
            Ok(())
        } else {
            Err(ApiError::Unexpected {
                method: METHOD,
                reason: format!("HTTP {}", sent.status()),
            })
        }
    }
}

/// The string at `path` in an answer, or an [`ApiError::Unexpected`] naming it.
pub fn string_at(answer: &Value, method: &'static str, path: &[&str]) -> Result<String, ApiError> {
    path.iter()
        .try_fold(answer, |value, key| value.get(key))
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::Unexpected {
            method,
            reason: format!("no `{}` in the answer", path.join(".")),
        })
}

/// The cursor of the next page of a paginated answer; empty on the last page.
pub fn next_cursor(answer: &Value) -> String {
    answer
        .pointer("/response_metadata/next_cursor")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The item of the answer's `list` whose `key` is the string `value`.
pub fn find_in<'a>(answer: &'a Value, list: &str, key: &str, value: &str) -> Option<&'a Value> {
    answer
        .get(list)
        .and_then(Value::as_array)?
        .iter()
        .find(|item| item.get(key).and_then(Value::as_str) == Some(value))
}

fn transient(method: &'static str, error: &reqwest::Error) -> ApiError {
    // Described by kind only: reqwest's own message would carry the URL, and a
    // `response_url` is a credential of sorts.
    let reason = if error.is_timeout() {
        "no answer in time"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "the connection failed"
    };
    ApiError::Transient {
        method,
        reason: reason.to_string(),
    }
}

/// The answers worth another try, whatever was called: a 429 (after its
/// `Retry-After`) and a 5xx.
fn retry_later(method: &'static str, sent: &reqwest::Response) -> Result<(), ApiError> {
    let status = sent.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(ApiError::RateLimited {
            method,
            retry_after: retry_after(sent.headers()),
        });
    }
    if status.is_server_error() {
        return Err(ApiError::Transient {
            method,
            reason: format!("HTTP {status}"),
        });
    }
    Ok(())
}

/// `Retry-After` in seconds, as Slack sends it.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_RETRY_AFTER)
}
