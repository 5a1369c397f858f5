//! Jira Cloud's REST API (v3): an issue in the configured project per follow-up.
//!
//! `POST /rest/api/3/issue` files it (summary, description in the Atlassian
//! Document Format, issue type, due date, assignee by account id). The
//! follow-up's marker travels as a label, which JQL matches exactly, so a retry
//! after a lost answer first searches `labels = "<marker>"` in the project
//! (`POST /rest/api/3/search/jql`).

use super::{Dialect, call, http_client, joined_reason, retry_after};
use crate::config::{JiraTracker, Secret};
use crate::domain::{IssueLink, Tracker};
use crate::outbox::{Attempt, DeliveryError, IssueDraft, IssueTracker};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const JIRA: Dialect = Dialect {
    tracker: Tracker::Jira,
    wait: |_, headers, _| (retry_after(headers), false),
    reason: refusal_reason,
};

/// Jira refuses longer summaries.
const SUMMARY_LIMIT: usize = 255;

pub struct Jira {
    http: reqwest::Client,
    /// `https://acme.atlassian.net`, without a trailing `/`.
    site: String,
    project: String,
    issue_type: String,
    email: String,
    token: Secret,
}

/// A created or found issue; only what warroom reads.
#[derive(Debug, Deserialize)]
struct Issue {
    key: String,
}

#[derive(Debug, Deserialize)]
struct Found {
    #[serde(default)]
    issues: Vec<Issue>,
}

/// Jira's error body: `{"errorMessages": [...], "errors": {"field": "message"}}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Refusal {
    #[serde(default)]
    error_messages: Vec<String>,
    #[serde(default)]
    errors: BTreeMap<String, String>,
}

impl Jira {
    pub fn new(config: &JiraTracker, email: String, token: Secret) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: http_client()?,
            site: config.site.clone(),
            project: config.project.clone(),
            issue_type: config.issue_type.clone(),
            email,
            token,
        })
    }

    fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.site))
            .basic_auth(&self.email, Some(self.token.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .json(body)
    }

    fn link(&self, issue: Issue) -> IssueLink {
        IssueLink {
            url: format!("{}/browse/{}", self.site, issue.key),
            key: issue.key,
        }
    }
}

#[async_trait::async_trait]
impl IssueTracker for Jira {
    fn tracker(&self) -> Tracker {
        Tracker::Jira
    }

    async fn file(&self, issue: &IssueDraft, attempt: Attempt) -> Result<IssueLink, DeliveryError> {
        let label = marker_label(&issue.marker);
        if attempt.maybe_delivered {
            let search = json!({
                "jql": format!("project = \"{}\" AND labels = \"{label}\"", self.project),
                "fields": ["key"],
                "maxResults": 1,
            });
            let found: Found = call(
                &JIRA,
                self.post("/rest/api/3/search/jql", &search),
                "searching issues",
            )
            .await?;
            if let Some(filed) = found.issues.into_iter().next() {
                return Ok(self.link(filed));
            }
        }
        let mut fields = json!({
            "project": { "key": self.project },
            "issuetype": { "name": self.issue_type },
            "summary": issue.title.chars().take(SUMMARY_LIMIT).collect::<String>(),
            "description": document(&issue.body),
            "labels": [label],
        });
        if let Some(due) = &issue.due {
            fields["duedate"] = json!(due);
        }
        if let Some(account) = &issue.assignee {
            fields["assignee"] = json!({ "id": account });
        }
        let filed: Issue = call(
            &JIRA,
            self.post("/rest/api/3/issue", &json!({ "fields": fields })),
            "filing an issue",
        )
        .await?;
        Ok(self.link(filed))
    }
}

/// The marker as a Jira label, which may hold no spaces: `warroom-INC-…-3-…`.
fn marker_label(marker: &str) -> String {
    format!("warroom-{}", marker.replace(['/', ' '], "-"))
}

/// The Markdown body as an Atlassian Document: a paragraph per block of
/// text, `[label](url)` as a link, and the `&#64;` that keeps Markdown from
/// mentioning anyone as the `@` it is (a Jira mention is a node of its own).
fn document(markdown: &str) -> Value {
    let paragraphs: Vec<Value> = markdown
        .split("\n\n")
        .map(str::trim)
        .filter(|block| !block.is_empty())
        .map(
            |block| json!({ "type": "paragraph", "content": inline(&block.replace("&#64;", "@")) }),
        )
        .collect();
    json!({ "type": "doc", "version": 1, "content": paragraphs })
}

fn inline(text: &str) -> Vec<Value> {
    let mut nodes = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some((label, url, after)) = rest[open + 1..]
            .split_once("](")
            .and_then(|(label, tail)| tail.split_once(')').map(|(url, after)| (label, url, after)))
        else {
            break;
        };
        if open > 0 {
            nodes.push(json!({ "type": "text", "text": &rest[..open] }));
        }
        nodes.push(json!({
            "type": "text",
            "text": label,
            "marks": [{ "type": "link", "attrs": { "href": url } }],
        }));
        rest = after;
    }
    if !rest.is_empty() {
        nodes.push(json!({ "type": "text", "text": rest }));
    }
    nodes
}

/// Jira's messages and its field errors (`summary: …`).
fn refusal_reason(body: &str) -> String {
    let Ok(refusal) = serde_json::from_str::<Refusal>(body) else {
        return String::new();
    };
    let mut parts = refusal.error_messages;
    parts.extend(
        refusal
            .errors
            .into_iter()
            .map(|(field, message)| format!("{field}: {message}")),
    );
    joined_reason(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_becomes_a_document_with_its_link() {
        let doc = document(
            "Follow-up #1 of [INC-1](https://w.test/incidents/INC-1): down.\n\nping &#64;ops",
        );
        assert_eq!(doc["type"], "doc");
        let first = &doc["content"][0]["content"];
        assert_eq!(first[0]["text"], "Follow-up #1 of ");
        assert_eq!(first[1]["text"], "INC-1");
        assert_eq!(
            first[1]["marks"][0]["attrs"]["href"],
            "https://w.test/incidents/INC-1"
        );
        assert_eq!(first[2]["text"], ": down.");
        assert_eq!(doc["content"][1]["content"][0]["text"], "ping @ops");
    }

    #[test]
    fn markers_are_labels_and_refusals_name_the_fields() {
        assert_eq!(
            marker_label("INC-20261123-001/3/17"),
            "warroom-INC-20261123-001-3-17"
        );
        assert_eq!(
            refusal_reason(
                r#"{"errorMessages":[],"errors":{"summary":"You must specify a summary of the issue."}}"#
            ),
            ": summary: You must specify a summary of the issue."
        );
    }
}
