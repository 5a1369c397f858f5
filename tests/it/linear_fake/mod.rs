//! A fake Linear GraphQL API on 127.0.0.1, reached through `LINEAR_API_URL`
//! like the real one, for the issues warroom files.
//!
//! It answers the two operations warroom sends, in GraphQL's documented
//! `{"data": …}` / `{"errors": [{"message", "extensions"}]}` shape:
//! `issueCreate` (with the `IssueCreateInput` fields `id`, `teamId`, `title`,
//! `description`, `dueDate`, `assigneeId`) and `issues(filter: {id: {eq}})`.
//! It refuses what Linear refuses: another `Authorization` than the personal
//! API key (sent without `Bearer`), another team, a missing title, an unknown
//! assignee, an id that is taken. A rate limit is Linear's `RATELIMITED` error.

pub use crate::github_fake::Script;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;

pub const KEY: &str = "lin_api_fake0123456789";
pub const TEAM: &str = "9cfb482a-81e3-4154-b5b9-2c805e70a02d";
pub const USERS: [&str; 1] = ["2f0e5a4c-8d4b-4f3e-9c55-1b8c2a7d9e10"];

/// An issue the fake holds: its identifier and the input it was created with.
#[derive(Debug, Clone)]
pub struct Issue {
    pub identifier: String,
    pub input: Value,
}

#[derive(Default)]
struct Fake {
    issues: Vec<Issue>,
    /// Each answered operation (`issueCreate`, `issues`) with its HTTP status.
    calls: Vec<(&'static str, u16)>,
    script: VecDeque<Script>,
}

#[derive(Clone)]
pub struct FakeLinear {
    pub addr: SocketAddr,
    state: Arc<Mutex<Fake>>,
}

impl FakeLinear {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Linear");
        let addr = listener.local_addr().expect("fake Linear address");
        let fake = Self {
            addr,
            state: Arc::new(Mutex::new(Fake::default())),
        };
        let router = Router::new()
            .route("/graphql", post(graphql))
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("fake Linear serves");
        });
        fake
    }

    /// `LINEAR_API_URL` for warroom.
    pub fn api_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    pub fn script(&self, script: Script) {
        self.lock().script.push_back(script);
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.lock().issues.clone()
    }

    /// The HTTP statuses `operation` was answered with, in order.
    pub fn answered(&self, operation: &str) -> Vec<u16> {
        self.lock()
            .calls
            .iter()
            .filter(|(called, _)| *called == operation)
            .map(|(_, status)| *status)
            .collect()
    }

    /// The issue's page, as Linear links it.
    pub fn url(identifier: &str) -> String {
        format!(
            "https://linear.app/acme/issue/{}",
            identifier.to_lowercase()
        )
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        self.state.lock().expect("fake Linear state")
    }

    fn answer(&self, operation: &'static str, status: StatusCode, body: Value) -> Response {
        self.lock().calls.push((operation, status.as_u16()));
        (status, Json(body)).into_response()
    }
}

fn error(message: &str, code: &str) -> Value {
    json!({"errors": [{"message": message, "extensions": {"code": code, "userPresentableMessage": message}}]})
}

async fn graphql(
    State(fake): State<FakeLinear>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let query = body["query"].as_str().unwrap_or_default();
    let operation = if query.contains("issueCreate") {
        "issueCreate"
    } else {
        "issues"
    };
    let key = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    if key != Some(KEY) {
        return fake.answer(
            operation,
            StatusCode::BAD_REQUEST,
            error(
                "Authentication required, not authenticated",
                "AUTHENTICATION_ERROR",
            ),
        );
    }
    let variables = &body["variables"];
    if operation == "issues" {
        let id = variables["id"].as_str().unwrap_or_default();
        let nodes: Vec<Value> = fake
            .issues()
            .iter()
            .filter(|issue| issue.input["id"] == id)
            .map(|issue| json!({"identifier": issue.identifier, "url": FakeLinear::url(&issue.identifier)}))
            .collect();
        return fake.answer(
            operation,
            StatusCode::OK,
            json!({"data": {"issues": {"nodes": nodes}}}),
        );
    }
    let input = &variables["input"];
    let refusal = if input["teamId"] != TEAM {
        Some(("Entity not found: Team", "INVALID_INPUT"))
    } else if input["title"].as_str().is_none_or(str::is_empty) {
        Some((
            "Argument Validation Error: title should not be empty",
            "INVALID_INPUT",
        ))
    } else if input["assigneeId"]
        .as_str()
        .is_some_and(|user| !USERS.contains(&user))
    {
        Some(("Entity not found: User", "INVALID_INPUT"))
    } else if fake.issues().iter().any(|i| i.input["id"] == input["id"]) {
        Some(("An issue with this id already exists", "INVALID_INPUT"))
    } else {
        None
    };
    if let Some((message, code)) = refusal {
        return fake.answer(operation, StatusCode::BAD_REQUEST, error(message, code));
    }
    let script = fake.lock().script.pop_front();
    if let Some(Script::Refuse(status, _)) = script {
        return fake.answer(
            operation,
            StatusCode::from_u16(status).expect("a status"),
            error("Rate limit exceeded", "RATELIMITED"),
        );
    }
    let identifier = {
        let mut state = fake.lock();
        let identifier = format!("OPS-{}", state.issues.len() + 1);
        state.issues.push(Issue {
            identifier: identifier.clone(),
            input: input.clone(),
        });
        identifier
    };
    match script {
        Some(Script::CreateThenAnswer(status)) => fake.answer(
            operation,
            StatusCode::from_u16(status).expect("a status"),
            error("Internal server error", "INTERNAL_SERVER_ERROR"),
        ),
        _ => fake.answer(
            operation,
            StatusCode::OK,
            json!({"data": {"issueCreate": {"success": true, "issue": {"identifier": identifier, "url": FakeLinear::url(&identifier)}}}}),
        ),
    }
}
