//! The issue trackers' HTTP clients: follow-ups filed as issues.
//!
//! Owns: turning an [`IssueDraft`] into each tracker's documented request, and
//! its answer into an [`IssueLink`] or a [`DeliveryError`] the dispatcher's retry
//! policy understands (429 and 5xx retried after the time the tracker names,
//! anything else refused for good and reported in the room); finding the issue
//! an earlier attempt filed, by the draft's marker, before filing again.
//! Must not: decide what an issue says (the engine wrote the draft), touch the
//! store, or log a token: tokens leave the process only in request headers.

mod github;
mod jira;
mod linear;

pub use github::GitHub;
pub use jira::Jira;
pub use linear::Linear;

use crate::config::{Config, TrackerSettings};
use crate::domain::Tracker;
use crate::outbox::{DeliveryError, IssueDraft, IssueTracker};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::sync::Arc;
use std::time::Duration;

/// How long one request may take; below the dispatcher's delivery timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error("cannot build the issue tracker's HTTP client: {0}")]
pub struct TrackerSetupError(#[from] reqwest::Error);

/// The client of the tracker that files follow-ups, when `[trackers]` names one
/// and its credentials are set; none otherwise.
pub fn follow_up_trackers(
    settings: &TrackerSettings,
    config: &Config,
) -> Result<Vec<Arc<dyn IssueTracker>>, TrackerSetupError> {
    let trackers = config.trackers();
    let client: Option<Arc<dyn IssueTracker>> = match trackers.followups {
        Some(Tracker::GitHub) => match (&trackers.github, &settings.github_token) {
            (Some(github), Some(token)) => Some(Arc::new(GitHub::new(
                &settings.github_api_url,
                github,
                token.clone(),
            )?)),
            _ => None,
        },
        Some(Tracker::Jira) => match (
            &trackers.jira,
            &settings.jira_email,
            &settings.jira_api_token,
        ) {
            (Some(jira), Some(email), Some(token)) => {
                Some(Arc::new(Jira::new(jira, email.clone(), token.clone())?))
            }
            _ => None,
        },
        Some(Tracker::Linear) => match (&trackers.linear, &settings.linear_api_key) {
            (Some(linear), Some(key)) => Some(Arc::new(Linear::new(
                &settings.linear_api_url,
                linear,
                key.clone(),
            )?)),
            _ => None,
        },
        None => None,
    };
    Ok(client.into_iter().collect())
}

fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// How a tracker's API answers, where trackers differ.
struct Dialect {
    tracker: Tracker,
    /// How long a refused request should wait, and whether the refusal was a
    /// rate limit whatever its status (GitHub's 403 with no requests left),
    /// from its status, headers and body.
    wait: fn(reqwest::StatusCode, &HeaderMap, &str) -> (Option<Duration>, bool),
    /// `: <the tracker's reason>` from an error body, or nothing.
    reason: fn(&str) -> String,
}

/// Sends a request and reads a successful answer as `T`; a refusal becomes the
/// [`DeliveryError`] the dispatcher acts on.
async fn call<T: serde::de::DeserializeOwned>(
    dialect: &Dialect,
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<T, DeliveryError> {
    let tracker = dialect.tracker;
    let response = request
        .send()
        .await
        .map_err(|error| unanswered(tracker, &error))?;
    let status = response.status();
    if status.is_success() {
        return response
            .json()
            .await
            .map_err(|error| unreadable(tracker, what, &error));
    }
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let (wait, rate_limited) = (dialect.wait)(status, &headers, &text);
    Err(refusal(
        tracker,
        status,
        wait,
        rate_limited,
        &(dialect.reason)(&text),
    ))
}

/// Why a tracker did not take a request, by its status: 429 (or a rate limit
/// told by `rate_limited`) waits as long as the tracker says, a 5xx is retried,
/// anything else is refused for good, with the tracker's own words.
fn refusal(
    tracker: Tracker,
    status: reqwest::StatusCode,
    retry_after: Option<Duration>,
    rate_limited: bool,
    reason: &str,
) -> DeliveryError {
    let code = status.as_u16();
    if code == 429 || rate_limited {
        return match retry_after {
            Some(retry_after) => DeliveryError::RateLimited { retry_after },
            // Without a time, the dispatcher's backoff decides.
            None => DeliveryError::Transient(format!("{tracker} rate limit ({code})")),
        };
    }
    if status.is_server_error() {
        return DeliveryError::Transient(format!("{tracker} answered {code}{reason}"));
    }
    DeliveryError::Permanent(format!("{tracker} refused the issue ({code}){reason}"))
}

/// `Retry-After` in seconds, as trackers send it.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_number(headers, RETRY_AFTER.as_str()).map(Duration::from_secs)
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
}

/// `: part; part` from a tracker's explanations, cut to a length a chat
/// message carries; nothing when there are none.
fn joined_reason(parts: Vec<String>) -> String {
    if parts.is_empty() {
        return String::new();
    }
    let joined: String = parts.join("; ").chars().take(300).collect();
    format!(": {joined}")
}

/// A request that got no answer may still have been carried out.
fn unanswered(tracker: Tracker, error: &reqwest::Error) -> DeliveryError {
    // reqwest's errors name the URL, never the headers, so the token stays out of logs.
    DeliveryError::Transient(format!("{tracker} did not answer: {error}"))
}

/// An answer that is not what the tracker documents: retried, since a proxy or
/// a hiccup may have said it, and reported if it never goes away.
fn unreadable(tracker: Tracker, what: &str, error: &dyn std::fmt::Display) -> DeliveryError {
    DeliveryError::Transient(format!(
        "{tracker}'s answer to {what} cannot be read: {error}"
    ))
}

/// The hidden line a filed issue carries, which a retry looks for.
fn marker_line(issue: &IssueDraft) -> String {
    format!("<!-- warroom:followup:{} -->", issue.marker)
}
