//! Linear's GraphQL API: an issue in the configured team per follow-up.
//!
//! The `issueCreate` mutation files it (title, Markdown description, due date,
//! assignee) under an id of warroom's own: a UUID derived from the follow-up's
//! marker, which Linear takes as the new issue's id. A retry after a lost
//! answer first asks for the issue with that id, and a repeat can never make a
//! second issue, since the id is taken.

use super::{Dialect, call, header_number, http_client, joined_reason, retry_after};
use crate::config::{LinearTracker, Secret};
use crate::domain::{IssueLink, Tracker};
use crate::outbox::{Attempt, DeliveryError, IssueDraft, IssueTracker};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

const LINEAR: Dialect = Dialect {
    tracker: Tracker::Linear,
    wait,
    reason: refusal_reason,
};

const CREATE: &str = "mutation FileFollowUp($input: IssueCreateInput!) { \
     issueCreate(input: $input) { success issue { identifier url } } }";

const FIND: &str = "query FiledFollowUp($id: ID!) { \
     issues(filter: { id: { eq: $id } }, first: 1) { nodes { identifier url } } }";

pub struct Linear {
    http: reqwest::Client,
    api_url: String,
    team: String,
    key: Secret,
}

/// A GraphQL answer: `data`, or `errors` even with a 200.
#[derive(Debug, Deserialize)]
struct Answer {
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<GraphQlError>,
}

#[derive(Debug, Deserialize)]
struct GraphQlError {
    message: String,
    #[serde(default)]
    extensions: Value,
}

#[derive(Debug, Deserialize)]
struct Issue {
    identifier: String,
    url: String,
}

impl Issue {
    fn link(self) -> IssueLink {
        IssueLink {
            key: self.identifier,
            url: self.url,
        }
    }
}

impl Linear {
    pub fn new(api_url: &str, config: &LinearTracker, key: Secret) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: http_client()?,
            api_url: api_url.to_string(),
            team: config.team.clone(),
            key,
        })
    }

    /// Runs `query`; its `data`, or the errors turned into a [`DeliveryError`].
    async fn graphql(
        &self,
        query: &str,
        variables: Value,
        what: &str,
    ) -> Result<Value, DeliveryError> {
        let request = self
            .http
            .post(&self.api_url)
            // A personal API key goes as it is, without `Bearer`.
            .header(reqwest::header::AUTHORIZATION, self.key.expose())
            .json(&json!({ "query": query, "variables": variables }));
        let answer: Answer = call(&LINEAR, request, what).await?;
        if !answer.errors.is_empty() {
            return Err(errors_refusal(&answer.errors));
        }
        answer
            .data
            .ok_or_else(|| DeliveryError::Transient(format!("Linear answered {what} without data")))
    }
}

#[async_trait::async_trait]
impl IssueTracker for Linear {
    fn tracker(&self) -> Tracker {
        Tracker::Linear
    }

    async fn file(&self, issue: &IssueDraft, attempt: Attempt) -> Result<IssueLink, DeliveryError> {
        let id = issue_id(&issue.marker);
        if attempt.maybe_delivered {
            let data = self.graphql(FIND, json!({ "id": id }), "a lookup").await?;
            let found = data["issues"]["nodes"]
                .get(0)
                .cloned()
                .map(serde_json::from_value::<Issue>)
                .transpose()
                .map_err(|error| unreadable("a lookup", &error))?;
            if let Some(filed) = found {
                return Ok(filed.link());
            }
        }
        let mut input = json!({
            "id": id,
            "teamId": self.team,
            "title": issue.title,
            "description": issue.body,
        });
        if let Some(due) = &issue.due {
            input["dueDate"] = json!(due);
        }
        if let Some(user) = &issue.assignee {
            input["assigneeId"] = json!(user);
        }
        let data = self
            .graphql(CREATE, json!({ "input": input }), "filing an issue")
            .await?;
        let created = &data["issueCreate"];
        if created["success"] != json!(true) {
            return Err(DeliveryError::Permanent(
                "Linear refused the issue (issueCreate did not succeed)".into(),
            ));
        }
        serde_json::from_value::<Issue>(created["issue"].clone())
            .map(Issue::link)
            .map_err(|error| unreadable("filing an issue", &error))
    }
}

fn unreadable(what: &str, error: &dyn std::fmt::Display) -> DeliveryError {
    super::unreadable(Tracker::Linear, what, error)
}

/// A UUID (in the v4 format Linear asks for) that is the same for every attempt
/// of a follow-up: its marker's SHA-256, with the version and variant bits set.
fn issue_id(marker: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, marker.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Linear's errors: a rate limit is waited out, anything else refused for good.
fn errors_refusal(errors: &[GraphQlError]) -> DeliveryError {
    if errors.iter().any(is_rate_limit) {
        return DeliveryError::Transient("Linear rate limit (RATELIMITED)".into());
    }
    let parts = errors.iter().map(|error| error.message.clone()).collect();
    DeliveryError::Permanent(format!("Linear refused the issue{}", joined_reason(parts)))
}

fn is_rate_limit(error: &GraphQlError) -> bool {
    error.extensions["code"] == "RATELIMITED" || error.extensions["type"] == "ratelimited"
}

/// A refused request waits for `Retry-After`, or for the request budget's reset
/// (`X-RateLimit-Requests-Reset`, in ms since the epoch); it is a rate limit
/// whatever its status when the budget is spent or its errors say `RATELIMITED`.
fn wait(_: StatusCode, headers: &HeaderMap, body: &str) -> (Option<Duration>, bool) {
    let spent = header_number(headers, "x-ratelimit-requests-remaining") == Some(0);
    let limited = serde_json::from_str::<Answer>(body)
        .is_ok_and(|answer| answer.errors.iter().any(is_rate_limit));
    let reset = header_number(headers, "x-ratelimit-requests-reset").map(|reset_ms| {
        let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default();
        Duration::from_millis(reset_ms.saturating_sub(now).max(1000))
    });
    (retry_after(headers).or(reset), spent || limited)
}

/// The messages of a refusal's GraphQL errors.
fn refusal_reason(body: &str) -> String {
    serde_json::from_str::<Answer>(body)
        .map(|answer| joined_reason(answer.errors.into_iter().map(|e| e.message).collect()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follow_up_has_one_id_in_the_v4_format() {
        let id = issue_id("INC-20261123-001/1/17");
        assert_eq!(id, issue_id("INC-20261123-001/1/17"));
        assert_ne!(id, issue_id("INC-20261123-001/2/17"));
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }

    #[test]
    fn rate_limits_are_told_apart_from_refusals() {
        let errors: Vec<GraphQlError> = serde_json::from_str(
            r#"[{"message":"Rate limit exceeded","extensions":{"code":"RATELIMITED"}}]"#,
        )
        .unwrap();
        assert!(matches!(
            errors_refusal(&errors),
            DeliveryError::Transient(_)
        ));
        let errors: Vec<GraphQlError> = serde_json::from_str(
            r#"[{"message":"Authentication required, not authenticated","extensions":{"type":"authentication error","code":"AUTHENTICATION_ERROR"}}]"#,
        )
        .unwrap();
        assert_eq!(
            errors_refusal(&errors),
            DeliveryError::Permanent(
                "Linear refused the issue: Authentication required, not authenticated".into()
            )
        );
    }
}
