//! A fake Jira Cloud REST API (v3) on 127.0.0.1, reached through the
//! `[trackers.jira] site` like the real one, for the issues warroom files.
//!
//! It speaks the documented JSON of `POST /rest/api/3/issue` (201 with `id`,
//! `key`, `self`) and `POST /rest/api/3/search/jql` (the `labels = "…"` query
//! warroom sends), and refuses what Jira refuses: basic authentication with
//! another email or API token gets 401, and an issue without a summary or an
//! issue type, in another project, with a description that is not an
//! Atlassian Document or assigned to an unknown account gets 400 with Jira's
//! `errorMessages` / `errors`. Scripted answers stand in for rate limits,
//! outages and answers lost after the issue was made.

pub use crate::github_fake::Script;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;

pub const EMAIL: &str = "ops@acme.test";
pub const TOKEN: &str = "atlassian-fake-token-0123";
/// `Basic base64(EMAIL:TOKEN)`, as a client sends it.
const AUTHORIZATION: &str = "Basic b3BzQGFjbWUudGVzdDphdGxhc3NpYW4tZmFrZS10b2tlbi0wMTIz";
pub const PROJECT: &str = "OPS";
/// The account ids issues may be assigned to.
pub const ACCOUNTS: [&str; 1] = ["5b10ac8d82e05b22cc7d4ef5"];

/// An issue the fake holds: its key and the fields it was created with.
#[derive(Debug, Clone)]
pub struct Issue {
    pub key: String,
    pub fields: Value,
}

#[derive(Default)]
struct Fake {
    issues: Vec<Issue>,
    /// Each answered request: the path and the status.
    calls: Vec<(String, u16)>,
    script: VecDeque<Script>,
}

#[derive(Clone)]
pub struct FakeJira {
    pub addr: SocketAddr,
    state: Arc<Mutex<Fake>>,
}

impl FakeJira {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Jira");
        let addr = listener.local_addr().expect("fake Jira address");
        let fake = Self {
            addr,
            state: Arc::new(Mutex::new(Fake::default())),
        };
        let router = Router::new()
            .route("/rest/api/3/issue", post(create_issue))
            .route("/rest/api/3/search/jql", post(search))
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("fake Jira serves");
        });
        fake
    }

    /// The `site` for the config.
    pub fn site(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn script(&self, script: Script) {
        self.lock().script.push_back(script);
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.lock().issues.clone()
    }

    /// The statuses answered on `path`, in order.
    pub fn answered(&self, path: &str) -> Vec<u16> {
        self.lock()
            .calls
            .iter()
            .filter(|(called, _)| called == path)
            .map(|(_, status)| *status)
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        self.state.lock().expect("fake Jira state")
    }

    fn answer(&self, path: &str, status: StatusCode, body: Value) -> Response {
        self.lock().calls.push((path.to_string(), status.as_u16()));
        (status, Json(body)).into_response()
    }

    fn unauthorized(&self, path: &str, headers: &HeaderMap) -> Option<Response> {
        let given = headers
            .get("authorization")
            .and_then(|value| value.to_str().ok());
        (given != Some(AUTHORIZATION)).then(|| {
            self.answer(
                path,
                StatusCode::UNAUTHORIZED,
                json!({"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}}),
            )
        })
    }
}

const ISSUE: &str = "/rest/api/3/issue";

async fn create_issue(
    State(fake): State<FakeJira>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = fake.unauthorized(ISSUE, &headers) {
        return refused;
    }
    let fields = &body["fields"];
    let mut errors = BTreeMap::new();
    if fields["project"]["key"].as_str() != Some(PROJECT) {
        errors.insert("project", "valid project is required");
    }
    if fields["summary"].as_str().is_none_or(str::is_empty) {
        errors.insert("summary", "You must specify a summary of the issue.");
    }
    if fields["issuetype"]["name"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        errors.insert("issuetype", "Specify an issue type");
    }
    if !fields["description"].is_null() && fields["description"]["type"] != "doc" {
        errors.insert(
            "description",
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        );
    }
    if let Some(account) = fields["assignee"]["id"].as_str()
        && !ACCOUNTS.contains(&account)
    {
        errors.insert("assignee", "User '…' cannot be assigned issues.");
    }
    if !errors.is_empty() {
        return fake.answer(
            ISSUE,
            StatusCode::BAD_REQUEST,
            json!({"errorMessages": [], "errors": errors}),
        );
    }
    let script = fake.lock().script.pop_front();
    if let Some(Script::Refuse(status, retry_after)) = script {
        let mut response = fake.answer(
            ISSUE,
            StatusCode::from_u16(status).expect("a status"),
            json!({"errorMessages": ["scripted refusal"], "errors": {}}),
        );
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                "retry-after",
                seconds.to_string().parse().expect("a header value"),
            );
        }
        return response;
    }
    let (id, key) = {
        let mut state = fake.lock();
        let number = state.issues.len() + 1;
        let key = format!("{PROJECT}-{number}");
        state.issues.push(Issue {
            key: key.clone(),
            fields: fields.clone(),
        });
        (10_000 + number, key)
    };
    match script {
        Some(Script::CreateThenAnswer(status)) => fake.answer(
            ISSUE,
            StatusCode::from_u16(status).expect("a status"),
            json!({"errorMessages": ["Internal server error"], "errors": {}}),
        ),
        _ => {
            let own = format!("{}/rest/api/3/issue/{id}", fake.site());
            fake.answer(
                ISSUE,
                StatusCode::CREATED,
                json!({"id": id.to_string(), "key": key, "self": own}),
            )
        }
    }
}

const SEARCH: &str = "/rest/api/3/search/jql";

/// Understands the one query warroom sends: `project = "X" AND labels = "Y"`.
async fn search(
    State(fake): State<FakeJira>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = fake.unauthorized(SEARCH, &headers) {
        return refused;
    }
    let jql = body["jql"].as_str().unwrap_or_default();
    let quoted_after = |word: &str| {
        jql.split_once(&format!("{word} = \""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(value, _)| value.to_string())
    };
    let (Some(project), Some(label)) = (quoted_after("project"), quoted_after("labels")) else {
        return fake.answer(
            SEARCH,
            StatusCode::BAD_REQUEST,
            json!({"errorMessages": ["Error in the JQL Query"], "errors": {}}),
        );
    };
    let found: Vec<Value> = fake
        .issues()
        .iter()
        .filter(|_| project == PROJECT)
        .filter(|issue| {
            issue.fields["labels"]
                .as_array()
                .is_some_and(|labels| labels.iter().any(|l| l.as_str() == Some(label.as_str())))
        })
        .map(|issue| json!({"id": "10001", "key": issue.key, "self": fake.site(), "fields": {}}))
        .collect();
    fake.answer(
        SEARCH,
        StatusCode::OK,
        json!({"issues": found, "isLast": true}),
    )
}
