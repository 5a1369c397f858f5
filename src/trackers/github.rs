//! GitHub's REST API: an issue in the configured repository per follow-up.
//!
//! `POST /repos/{owner}/{repo}/issues` files it (title, body, labels,
//! assignees); a retry after a lost answer first lists the repository's issues
//! updated since the operation was queued (`GET /repos/{owner}/{repo}/issues`
//! with `since`, which, unlike the search API, sees an issue the moment it
//! exists) and takes the one whose body carries the follow-up's marker.

use super::{Dialect, call, header_number, http_client, joined_reason, marker_line, retry_after};
use crate::config::{GitHubTracker, Secret};
use crate::domain::{IssueLink, Tracker};
use crate::outbox::{Attempt, DeliveryError, IssueDraft, IssueTracker};
use chrono::{SecondsFormat, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use std::time::Duration;

const GITHUB: Dialect = Dialect {
    tracker: Tracker::GitHub,
    wait,
    reason: refusal_reason,
};

/// The REST API version the requests are written against.
const API_VERSION: &str = "2022-11-28";

/// GitHub's largest page.
const PER_PAGE: usize = 100;

/// How many pages of recently updated issues a retry reads before filing again:
/// a repository where more than this many issues changed since the operation
/// was queued gets a second issue rather than none.
const MAX_PAGES: usize = 5;

/// GitHub refuses longer titles.
const TITLE_LIMIT: usize = 256;

pub struct GitHub {
    http: reqwest::Client,
    /// `{api}/repos/{owner}/{name}`.
    repository_url: String,
    labels: Vec<String>,
    token: Secret,
}

/// An issue as GitHub answers it; only what warroom reads.
#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    html_url: String,
    #[serde(default)]
    body: Option<String>,
    /// Set on pull requests, which the issues list includes.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

impl Issue {
    fn link(self) -> IssueLink {
        IssueLink {
            key: format!("#{}", self.number),
            url: self.html_url,
        }
    }
}

/// GitHub's error body: `{"message": …, "errors": [{"field", "code"} | "text"]}`.
#[derive(Debug, Deserialize)]
struct Refusal {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

impl GitHub {
    pub fn new(
        api_url: &str,
        config: &GitHubTracker,
        token: Secret,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: http_client()?,
            repository_url: format!(
                "{}/repos/{}",
                api_url.trim_end_matches('/'),
                config.repository
            ),
            labels: config.labels.clone(),
            token,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.repository_url))
            .bearer_auth(self.token.expose())
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
    }

    /// The issue an earlier attempt filed for this follow-up, if it got that far.
    async fn find(
        &self,
        marker: &str,
        attempt: Attempt,
    ) -> Result<Option<IssueLink>, DeliveryError> {
        let since = attempt.queued_at.to_rfc3339_opts(SecondsFormat::Secs, true);
        for page in 1..=MAX_PAGES {
            let mut query = vec![
                ("state", "all".to_string()),
                ("since", since.clone()),
                ("per_page", PER_PAGE.to_string()),
                ("page", page.to_string()),
            ];
            if !self.labels.is_empty() {
                query.push(("labels", self.labels.join(",")));
            }
            let issues: Vec<Issue> = call(
                &GITHUB,
                self.request(reqwest::Method::GET, "/issues").query(&query),
                "listing issues",
            )
            .await?;
            let count = issues.len();
            let found = issues.into_iter().find(|issue| {
                issue.pull_request.is_none()
                    && issue
                        .body
                        .as_deref()
                        .is_some_and(|body| body.contains(marker))
            });
            if let Some(issue) = found {
                return Ok(Some(issue.link()));
            }
            if count < PER_PAGE {
                break;
            }
        }
        Ok(None)
    }
}

#[async_trait::async_trait]
impl IssueTracker for GitHub {
    fn tracker(&self) -> Tracker {
        Tracker::GitHub
    }

    async fn file(&self, issue: &IssueDraft, attempt: Attempt) -> Result<IssueLink, DeliveryError> {
        let marker = marker_line(issue);
        if attempt.maybe_delivered
            && let Some(filed) = self.find(&marker, attempt).await?
        {
            return Ok(filed);
        }
        let body = serde_json::json!({
            "title": issue.title.chars().take(TITLE_LIMIT).collect::<String>(),
            "body": format!("{}\n\n{marker}\n", issue.body),
            "labels": self.labels,
            "assignees": issue.assignee.iter().collect::<Vec<_>>(),
        });
        let filed: Issue = call(
            &GITHUB,
            self.request(reqwest::Method::POST, "/issues").json(&body),
            "filing an issue",
        )
        .await?;
        Ok(filed.link())
    }
}

/// GitHub tells a primary rate limit by a 403 or 429 with no requests left
/// (until `x-ratelimit-reset`), and a secondary one by a `Retry-After`.
fn wait(status: StatusCode, headers: &HeaderMap, _: &str) -> (Option<Duration>, bool) {
    let exhausted = header_number(headers, "x-ratelimit-remaining") == Some(0);
    let wait = retry_after(headers).or_else(|| {
        exhausted
            .then(|| header_number(headers, "x-ratelimit-reset"))
            .flatten()
            .map(until_epoch)
    });
    (wait, status == StatusCode::FORBIDDEN && wait.is_some())
}

/// How long until `reset` (seconds since the epoch), as GitHub's
/// `x-ratelimit-reset` names the end of a rate limit; at least a second.
fn until_epoch(reset: u64) -> Duration {
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or_default();
    Duration::from_secs(reset.saturating_sub(now).max(1))
}

/// GitHub's message and the codes of its errors (`title: missing_field`);
/// anything else is left out rather than echoed.
fn refusal_reason(body: &str) -> String {
    let Ok(refusal) = serde_json::from_str::<Refusal>(body) else {
        return String::new();
    };
    let mut parts: Vec<String> = refusal.message.into_iter().collect();
    for error in &refusal.errors {
        let text = match error {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Object(fields) => {
                let field = fields.get("field").and_then(|v| v.as_str());
                let code = fields.get("code").and_then(|v| v.as_str());
                match (field, code) {
                    (Some(field), Some(code)) => Some(format!("{field}: {code}")),
                    (None, Some(code)) => Some(code.to_string()),
                    _ => None,
                }
            }
            _ => None,
        };
        parts.extend(text);
    }
    joined_reason(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_fields_github_rejected() {
        assert_eq!(
            refusal_reason(
                r#"{"message":"Validation Failed","errors":[{"resource":"Issue","code":"missing_field","field":"title"}],"documentation_url":"https://docs.github.com/rest/issues/issues#create-an-issue"}"#
            ),
            ": Validation Failed; title: missing_field"
        );
        assert_eq!(
            refusal_reason(
                r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#
            ),
            ": Bad credentials"
        );
        assert_eq!(refusal_reason("<html>unicorn</html>"), "");
    }

    #[test]
    fn a_reset_in_the_past_still_waits_a_second() {
        assert_eq!(until_epoch(0), Duration::from_secs(1));
        let later = u64::try_from(Utc::now().timestamp()).unwrap() + 120;
        assert!(until_epoch(later) >= Duration::from_secs(119));
    }
}
