//! Follow-ups filed as GitHub issues, end to end: the real application on Slack
//! (the fake Slack) with `GITHUB_API_URL` pointing at a fake GitHub on
//! 127.0.0.1 that speaks the documented REST JSON and refuses what GitHub
//! refuses. Each test runs on SQLite, and on Postgres too when
//! `WARROOM_TEST_POSTGRES_URL` is set.

use crate::common::app::{self, Serving};
use crate::common::{Backend, test_backends};
use crate::github_fake::{self, FakeGitHub, Script};
use crate::slack::{OPS, SIGNING_SECRET, config_text};
use crate::slack_fake::{self, FakeSlack};
use serde_json::Value;
use std::collections::BTreeSet;
use warroom::command;
use warroom::config::{Config, GitHubTracker, Secret};
use warroom::domain::{IncidentId, Platform, Tracker, UserId};
use warroom::engine::{Actor, Context};
use warroom::outbox::{Attempt, DeliveryError, IssueDraft, IssueTracker};
use warroom::trackers::GitHub;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/github");

/// The Slack tests' config, with `alice` (Alice's keys in `[people.alice]`)
/// and `trackers` added.
pub(crate) fn config(alice: &str, trackers: &str) -> Config {
    let text = config_text("http", OPS).replace(
        "slack = \"UALICE\"",
        &format!("slack = \"UALICE\"\n{alice}"),
    ) + trackers;
    Config::from_toml_str(&text).expect("test config is valid")
}

/// The GitHub tests' config: Alice's login, and the fake's repository.
fn github_config() -> Config {
    config(
        "github = \"alice-octo\"",
        &format!(
            "\n[trackers.github]\nrepository = \"{}\"\nlabels = [\"incident\", \"follow-up\"]\n",
            github_fake::REPOSITORY
        ),
    )
}

/// warroom on the fake Slack, filing in a tracker as `config` and `vars`
/// say, and a sev1 declared by Alice whose war room exists.
pub(crate) struct Filing {
    serving: Serving,
    slack: FakeSlack,
    pub incident: IncidentId,
    room: String,
}

impl Filing {
    pub async fn start(backend: &Backend, config: Config, vars: &[(&str, String)]) -> Self {
        let slack = FakeSlack::start().await;
        let mut every = vec![
            ("SLACK_API_URL", slack.api_url()),
            ("SLACK_BOT_TOKEN", slack_fake::BOT_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_string()),
        ];
        every.extend(vars.iter().cloned());
        let serving = Serving::start(app::builder(backend, &every, config), backend.name).await;
        let mut filing = Self {
            serving,
            slack,
            incident: IncidentId::new(chrono::Utc::now().date_naive(), 1),
            room: String::new(),
        };
        let reply = filing.run(OPS, "sev1 checkout is down").await;
        filing.incident = reply
            .split_whitespace()
            .find_map(|word| {
                word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("declare answered without an id: {reply}"));
        filing
            .slack
            .wait_for("the war room", |f| {
                f.channels().iter().any(|c| c.name.starts_with("inc-"))
            })
            .await;
        filing.room = filing
            .slack
            .channels()
            .into_iter()
            .find(|c| c.name.starts_with("inc-"))
            .map(|c| c.id)
            .expect("the war room");
        filing
    }

    /// `/incident followup <text>` about the incident, from Alice in the ops
    /// channel (the war room may exist on Slack before warroom has recorded it).
    pub async fn follow_up(&self, text: &str) -> String {
        self.run(OPS, &format!("followup {} {text}", self.incident))
            .await
    }

    /// `/incident <text>` from Alice in `channel`; the reply's text.
    pub async fn run(&self, channel: &str, text: &str) -> String {
        let engine = &self.serving.engine;
        let parsed = command::parse(text, engine.config())
            .unwrap_or_else(|e| panic!("`{text}` parses: {e}"));
        let actor = Actor {
            platform: Platform::Slack,
            user: UserId::new("UALICE"),
        };
        let context = Context {
            channel: channel.to_string(),
            request_id: None,
            room_name: None,
        };
        engine
            .handle(&actor, &context, parsed)
            .await
            .unwrap_or_else(|e| panic!("engine: {e}"))
            .text()
    }

    /// The war room's messages that contain `text`, as Slack shows them.
    pub fn room_messages(&self, text: &str) -> Vec<String> {
        self.slack
            .messages_in(&self.room)
            .into_iter()
            .map(|m| format!("{} {}", m.text, m.blocks))
            .filter(|shown| shown.contains(text))
            .collect()
    }

    pub async fn wait_for_room(&self, what: &str, text: &str) {
        self.slack
            .wait_for(what, |_| !self.room_messages(text).is_empty())
            .await;
    }

    /// A URL of warroom's HTTP server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.serving.address)
    }

    pub async fn stop(self) {
        self.serving.stop().await;
    }

    /// The follow-up's issue, as the store kept it: its key and URL.
    pub async fn kept_issue(&self, number: i64) -> Option<(String, String)> {
        self.serving
            .engine
            .store()
            .followups(&self.incident)
            .await
            .expect("follow-ups read")
            .into_iter()
            .find(|f| f.number == number)
            .and_then(|f| f.issue)
            .map(|issue| (issue.key, issue.url))
    }
}

/// warroom filing in a fresh fake GitHub with `token`.
async fn start_github(backend: &Backend, token: &str) -> (Filing, FakeGitHub) {
    let github = FakeGitHub::start().await;
    let vars = [
        ("GITHUB_API_URL", github.api_url()),
        ("GITHUB_TOKEN", token.to_string()),
    ];
    (Filing::start(backend, github_config(), &vars).await, github)
}

#[tokio::test]
async fn a_follow_up_becomes_one_issue_with_its_owner_labels_and_link_and_the_room_shows_it() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, github) = start_github(&backend, github_fake::TOKEN).await;
        let reply = filing
            .follow_up("Add a circuit breaker to checkout <@UALICE> due:2026-12-01")
            .await;
        assert!(reply.contains("being filed in GitHub"), "[{name}] {reply}");
        let url = FakeGitHub::html_url(1);
        filing.wait_for_room("the issue's link", &url).await;

        let issues = github.issues();
        assert_eq!(issues.len(), 1, "[{name}] {issues:?}");
        let issue = &issues[0];
        assert_eq!(issue.title, "Add a circuit breaker to checkout", "[{name}]");
        assert_eq!(issue.assignees, ["alice-octo"], "[{name}]");
        assert_eq!(issue.labels, ["incident", "follow-up"], "[{name}]");
        let marker = format!("<!-- warroom:followup:{}/1/", filing.incident);
        assert!(issue.body.contains(&marker), "[{name}] {}", issue.body);
        let back = format!("[{0}](https://warroom.test/incidents/{0})", filing.incident);
        assert!(issue.body.contains(&back), "[{name}] {}", issue.body);
        assert!(issue.body.contains("Due: 2026-12-01"), "[{name}]");
        assert_eq!(github.calls("POST").len(), 1, "[{name}]");
        assert!(
            github.calls("GET").is_empty(),
            "[{name}] a first attempt files without looking"
        );

        let shown = filing.room_messages(&url);
        assert_eq!(shown.len(), 1, "[{name}] {shown:?}");
        assert!(
            shown[0].contains("Follow-up #1 is filed in GitHub"),
            "[{name}] {shown:?}"
        );
        assert_eq!(
            filing.kept_issue(1).await,
            Some(("#1".to_string(), url.clone())),
            "[{name}]"
        );
        let listed = filing
            .run(OPS, &format!("followups {}", filing.incident))
            .await;
        assert!(listed.contains("#1"), "[{name}] {listed}");
        filing.stop().await;
    }
}

#[tokio::test]
async fn an_answer_lost_after_the_issue_was_made_does_not_make_a_second_one() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, github) = start_github(&backend, github_fake::TOKEN).await;
        github.script(Script::CreateThenAnswer(500));
        filing.follow_up("Rotate the on-call pager").await;
        let url = FakeGitHub::html_url(1);
        filing.wait_for_room("the issue's link", &url).await;

        assert_eq!(github.issues().len(), 1, "[{name}] one issue");
        let posts: Vec<u16> = github.calls("POST").iter().map(|c| c.status).collect();
        assert_eq!(posts, [500], "[{name}] filed once, its answer lost");
        assert!(
            !github.calls("GET").is_empty(),
            "[{name}] the retry looked for the issue first"
        );
        assert_eq!(filing.room_messages(&url).len(), 1, "[{name}]");
        assert_eq!(
            filing.kept_issue(1).await.map(|(key, _)| key),
            Some("#1".to_string()),
            "[{name}]"
        );
        filing.stop().await;
    }
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_and_an_outage_retried_before_filing_once() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, github) = start_github(&backend, github_fake::TOKEN).await;
        github.script(Script::Refuse(429, Some(1)));
        github.script(Script::Refuse(503, None));
        filing.follow_up("Load-test checkout").await;
        let url = FakeGitHub::html_url(1);
        filing.wait_for_room("the issue's link", &url).await;

        let posts: Vec<u16> = github.calls("POST").iter().map(|c| c.status).collect();
        assert_eq!(posts, [429, 503, 201], "[{name}]");
        assert_eq!(github.issues().len(), 1, "[{name}]");
        assert_eq!(filing.room_messages(&url).len(), 1, "[{name}]");
        filing.stop().await;
    }
}

#[tokio::test]
async fn a_wrong_token_is_told_in_the_room_once_and_files_nothing() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, github) = start_github(&backend, "github_pat_revoked").await;
        filing.follow_up("Add a canary").await;
        filing
            .wait_for_room("the refusal", "could not be filed")
            .await;
        // Another follow-up's refusal comes after it in the lane, so by the
        // time it shows, the first would have been told twice if it were.
        filing.follow_up("Add a second canary").await;
        filing
            .wait_for_room("the second refusal", "Follow-up #2 could not be filed")
            .await;

        let told = filing.room_messages("Follow-up #1 could not be filed in GitHub");
        assert_eq!(told.len(), 1, "[{name}] {told:?}");
        assert!(
            told[0].contains("GitHub refused the issue (401): Bad credentials"),
            "[{name}] {told:?}"
        );
        assert!(
            !told[0].contains("revoked"),
            "[{name}] the token is never shown"
        );
        assert!(github.issues().is_empty(), "[{name}]");
        assert_eq!(github.calls("POST").len(), 2, "[{name}] not retried");
        assert_eq!(filing.kept_issue(1).await, None, "[{name}]");
        filing.stop().await;
    }
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("a fixture");
    serde_json::from_str(&text).expect("a JSON fixture")
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|object| object.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_fake_answers_and_refuses_as_the_documentation_shows() {
    let github = FakeGitHub::start().await;
    let http = reqwest::Client::new();
    let issues = format!(
        "{}/repos/{}/issues",
        github.api_url(),
        github_fake::REPOSITORY
    );
    let create = |token: &str, body: &Value| {
        http.post(&issues)
            .header("User-Agent", "warroom-tests")
            .bearer_auth(token)
            .json(body)
            .send()
    };
    let mut request = fixture("create-issue-request.json");
    request["assignees"] = serde_json::json!(["alice-octo"]);

    let made = create(github_fake::TOKEN, &request).await.expect("answers");
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.expect("JSON");
    assert_eq!(keys(&made), keys(&fixture("issue.json")));
    assert_eq!(made["title"], "Found a bug");

    let wrong = create("ghp_wrong", &request).await.expect("answers");
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.expect("JSON"),
        fixture("bad-credentials.json")
    );

    let mut untitled = request.clone();
    untitled.as_object_mut().map(|o| o.remove("title"));
    let refused = create(github_fake::TOKEN, &untitled)
        .await
        .expect("answers");
    assert_eq!(refused.status(), 422);
    assert_eq!(
        refused.json::<Value>().await.expect("JSON"),
        fixture("validation-failed.json")
    );
    assert_eq!(github.issues().len(), 1);
}

#[tokio::test]
async fn the_client_gives_up_on_an_issue_github_will_never_take() {
    let github = FakeGitHub::start().await;
    let client = GitHub::new(
        &github.api_url(),
        &GitHubTracker {
            repository: github_fake::REPOSITORY.to_string(),
            labels: Vec::new(),
        },
        Secret::new(github_fake::TOKEN),
    )
    .expect("a client");
    let draft = |title: &str, assignee: Option<&str>| IssueDraft {
        tracker: Tracker::GitHub,
        followup: 1,
        title: title.to_string(),
        body: "body".to_string(),
        assignee: assignee.map(str::to_string),
        due: None,
        marker: "INC-20261123-001/1/0".to_string(),
    };
    let attempt = Attempt {
        row: 1,
        queued_at: chrono::Utc::now(),
        maybe_delivered: false,
    };
    for (issue, why) in [
        (
            draft("", None),
            "GitHub refused the issue (422): Validation Failed; title: missing_field",
        ),
        (
            draft("t", Some("mallory")),
            "GitHub refused the issue (422): Validation Failed; assignees: invalid",
        ),
    ] {
        match client.file(&issue, attempt).await {
            Err(DeliveryError::Permanent(reason)) => assert_eq!(reason, why),
            other => panic!("expected a refusal for good, got {other:?}"),
        }
    }
    let filed = client.file(&draft("t", Some("bob-octo")), attempt).await;
    assert_eq!(filed.map(|link| link.url), Ok(FakeGitHub::html_url(1)));
}

const WEBHOOK_SECRET: &str = "webhook-secret-0123456789";

/// `X-Hub-Signature-256` of `body` with `secret`, as GitHub signs a delivery.
fn hub_signature(secret: &str, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body.as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn closing_the_issue_on_github_marks_the_follow_up_done_once_signed_deliveries_only() {
    for backend in test_backends().await {
        let name = backend.name;
        let github = FakeGitHub::start().await;
        let vars = [
            ("GITHUB_API_URL", github.api_url()),
            ("GITHUB_TOKEN", github_fake::TOKEN.to_string()),
            ("GITHUB_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
        ];
        let filing = Filing::start(&backend, github_config(), &vars).await;
        filing.follow_up("Add a circuit breaker to checkout").await;
        filing
            .wait_for_room("the issue's link", &FakeGitHub::html_url(1))
            .await;

        let mut event = fixture("issues-closed.json");
        event["issue"]["body"] = github.issues()[0].body.clone().into();
        event["repository"]["full_name"] = github_fake::REPOSITORY.into();
        let body = event.to_string();
        let http = reqwest::Client::new();
        let deliver = |kind: &str, signature: Option<String>| {
            let mut request = http
                .post(filing.url("/github/webhook"))
                .header("X-GitHub-Event", kind)
                .header("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
                .header("Content-Type", "application/json")
                .body(body.clone());
            if let Some(signature) = signature {
                request = request.header("X-Hub-Signature-256", signature);
            }
            request.send()
        };
        let done = || async {
            filing
                .run(OPS, &format!("followups {}", filing.incident))
                .await
                .contains("[done]")
        };

        let unsigned = deliver("issues", None).await.expect("answers");
        assert_eq!(unsigned.status(), 401, "[{name}]");
        let forged = deliver("issues", Some(hub_signature("another secret", &body)))
            .await
            .expect("answers");
        assert_eq!(forged.status(), 401, "[{name}]");
        assert!(!done().await, "[{name}] nothing changed");

        let signature = hub_signature(WEBHOOK_SECRET, &body);
        for _ in 0..2 {
            let delivered = deliver("issues", Some(signature.clone()))
                .await
                .expect("answers");
            assert_eq!(delivered.status(), 204, "[{name}]");
        }
        assert!(done().await, "[{name}] the follow-up is done");
        let told = "Follow-up #1 is done: its issue was closed in GitHub.";
        filing.wait_for_room("the closing", told).await;
        assert_eq!(filing.room_messages(told).len(), 1, "[{name}] told once");
        let ping = deliver("ping", Some(signature)).await.expect("answers");
        assert_eq!(ping.status(), 204, "[{name}]");
        filing.stop().await;
    }
}
