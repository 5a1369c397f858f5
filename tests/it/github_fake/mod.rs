//! A fake GitHub REST API on 127.0.0.1, reached through `GITHUB_API_URL` like
//! the real one, for the issues warroom files.
//!
//! It speaks the documented JSON of `POST /repos/{owner}/{repo}/issues` (201
//! with the issue) and `GET /repos/{owner}/{repo}/issues` (`state`, `since`,
//! `labels`, `per_page`, `page`), and refuses what GitHub refuses: a request
//! without `Authorization: Bearer <token>` (or `token <token>`) of the right
//! token gets 401 `Bad credentials`, one without a `User-Agent` 403, another
//! repository 404, and an issue without a title, or assigned to someone who
//! cannot be assigned, 422 `Validation Failed`. Scripted answers stand in for
//! rate limits, outages and answers lost after the issue was made.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;

/// The token the fake accepts.
pub const TOKEN: &str = "github_pat_fake0123456789";
/// The repository it holds.
pub const REPOSITORY: &str = "acme/ops-followups";
/// The logins that can be assigned an issue there.
pub const ASSIGNABLE: [&str; 2] = ["alice-octo", "bob-octo"];

/// An issue the fake holds, as GitHub keeps it.
#[derive(Debug, Clone)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// One request the fake answered.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    pub status: u16,
}

/// What the next issue creation gets instead of the plain 201.
#[derive(Debug, Clone, Copy)]
pub enum Script {
    /// Refused with this status (and `Retry-After` seconds), nothing made.
    Refuse(u16, Option<u64>),
    /// The issue is made, then the answer is this status: the answer was lost.
    CreateThenAnswer(u16),
}

#[derive(Default)]
struct Fake {
    issues: Vec<Issue>,
    calls: Vec<Call>,
    script: VecDeque<Script>,
}

#[derive(Clone)]
pub struct FakeGitHub {
    pub addr: SocketAddr,
    state: Arc<Mutex<Fake>>,
}

impl FakeGitHub {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake GitHub");
        let addr = listener.local_addr().expect("fake GitHub address");
        let fake = Self {
            addr,
            state: Arc::new(Mutex::new(Fake::default())),
        };
        let router = Router::new()
            .route(
                "/repos/{owner}/{repo}/issues",
                get(list_issues).post(create_issue),
            )
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("fake GitHub serves");
        });
        fake
    }

    /// `GITHUB_API_URL` for warroom.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn script(&self, script: Script) {
        self.lock().script.push_back(script);
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.lock().issues.clone()
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|call| call.method == method)
            .cloned()
            .collect()
    }

    /// The issue's page, as GitHub links it.
    pub fn html_url(number: u64) -> String {
        format!("https://github.com/{REPOSITORY}/issues/{number}")
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        self.state.lock().expect("fake GitHub state")
    }

    fn answered(&self, method: &'static str, status: StatusCode, body: Value) -> Response {
        self.lock().calls.push(Call {
            method,
            status: status.as_u16(),
        });
        (status, Json(body)).into_response()
    }

    /// GitHub's checks before any endpoint: the client, the token, the repository.
    fn refused(
        &self,
        method: &'static str,
        headers: &HeaderMap,
        owner: &str,
        repo: &str,
    ) -> Option<Response> {
        if !headers.contains_key("user-agent") {
            return Some(self.answered(
                method,
                StatusCode::FORBIDDEN,
                json!({"message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required)."}),
            ));
        }
        let token = headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("token "))
            });
        if token != Some(TOKEN) {
            return Some(self.answered(
                method,
                StatusCode::UNAUTHORIZED,
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
            ));
        }
        if format!("{owner}/{repo}") != REPOSITORY {
            return Some(self.answered(
                method,
                StatusCode::NOT_FOUND,
                json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue", "status": "404"}),
            ));
        }
        None
    }
}

async fn create_issue(
    State(fake): State<FakeGitHub>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = fake.refused("POST", &headers, &owner, &repo) {
        return refused;
    }
    let title = body["title"].as_str().unwrap_or_default();
    let strings = |key: &str| -> Vec<String> {
        body[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let assignees = strings("assignees");
    let invalid = if title.is_empty() {
        Some(json!({"resource": "Issue", "code": "missing_field", "field": "title"}))
    } else if assignees.iter().any(|a| !ASSIGNABLE.contains(&a.as_str())) {
        Some(json!({"resource": "Issue", "code": "invalid", "field": "assignees"}))
    } else {
        None
    };
    if let Some(error) = invalid {
        return fake.answered(
            "POST",
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Validation Failed", "errors": [error], "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue", "status": "422"}),
        );
    }
    let script = fake.lock().script.pop_front();
    if let Some(Script::Refuse(status, retry_after)) = script {
        let mut response = fake.answered(
            "POST",
            StatusCode::from_u16(status).expect("a status"),
            json!({"message": "scripted refusal"}),
        );
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                "retry-after",
                seconds.to_string().parse().expect("a header value"),
            );
        }
        return response;
    }
    let issue = {
        let mut state = fake.lock();
        let issue = Issue {
            number: state.issues.len() as u64 + 1,
            title: title.to_string(),
            body: body["body"].as_str().unwrap_or_default().to_string(),
            labels: strings("labels"),
            assignees,
            created_at: Utc::now(),
        };
        state.issues.push(issue.clone());
        issue
    };
    match script {
        Some(Script::CreateThenAnswer(status)) => fake.answered(
            "POST",
            StatusCode::from_u16(status).expect("a status"),
            json!({"message": "Server Error"}),
        ),
        _ => fake.answered("POST", StatusCode::CREATED, issue_json(&issue)),
    }
}

async fn list_issues(
    State(fake): State<FakeGitHub>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = fake.refused("GET", &headers, &owner, &repo) {
        return refused;
    }
    let since = match query
        .get("since")
        .map(|since| since.parse::<DateTime<Utc>>())
    {
        None => None,
        Some(Ok(since)) => Some(since),
        Some(Err(_)) => {
            return fake.answered(
                "GET",
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "invalid", "field": "since"}]}),
            );
        }
    };
    let wanted: Vec<&str> = query
        .get("labels")
        .map(|labels| labels.split(',').collect())
        .unwrap_or_default();
    let number = |key: &str, default: usize| {
        query
            .get(key)
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    let (per_page, page) = (number("per_page", 30).min(100), number("page", 1).max(1));
    // Newest first, as GitHub lists by default; every fake issue is open.
    let listed: Vec<Value> = fake
        .issues()
        .iter()
        .rev()
        .filter(|issue| since.is_none_or(|since| issue.created_at >= since))
        .filter(|issue| wanted.iter().all(|l| issue.labels.iter().any(|i| i == l)))
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(issue_json)
        .collect();
    fake.answered("GET", StatusCode::OK, Value::Array(listed))
}

/// An issue as GitHub's REST API answers it (the fields of the documented example).
fn issue_json(issue: &Issue) -> Value {
    let api = format!(
        "https://api.github.com/repos/{REPOSITORY}/issues/{}",
        issue.number
    );
    let at = issue.created_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let user = |login: &str| json!({"login": login, "id": 1, "type": "User", "site_admin": false});
    json!({
        "id": 1_000_000 + issue.number,
        "node_id": format!("I_kwFAKE{}", issue.number),
        "url": api,
        "repository_url": format!("https://api.github.com/repos/{REPOSITORY}"),
        "labels_url": format!("{api}/labels{{/name}}"),
        "comments_url": format!("{api}/comments"),
        "events_url": format!("{api}/events"),
        "html_url": FakeGitHub::html_url(issue.number),
        "number": issue.number,
        "state": "open",
        "title": issue.title,
        "body": issue.body,
        "user": user("warroom-bot"),
        "labels": issue.labels.iter().map(|name| json!({"name": name, "color": "f29513", "default": false})).collect::<Vec<_>>(),
        "assignee": issue.assignees.first().map(|login| user(login)),
        "assignees": issue.assignees.iter().map(|login| user(login)).collect::<Vec<_>>(),
        "milestone": null,
        "locked": false,
        "comments": 0,
        "closed_at": null,
        "created_at": at,
        "updated_at": at,
        "author_association": "COLLABORATOR",
    })
}
