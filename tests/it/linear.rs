//! Follow-ups filed as Linear issues, end to end: the real application on Slack
//! (the fake Slack) with `LINEAR_API_URL` pointing at a fake Linear GraphQL API
//! on 127.0.0.1. Each test runs on SQLite, and on Postgres too when
//! `WARROOM_TEST_POSTGRES_URL` is set.

use crate::common::{Backend, test_backends};
use crate::github::{Filing, config};
use crate::linear_fake::{self, FakeLinear, Script};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/linear");

/// warroom filing in a fresh fake Linear with `key`; Alice is a user there.
async fn start_linear(backend: &Backend, key: &str) -> (Filing, FakeLinear) {
    let linear = FakeLinear::start().await;
    let config = config(
        &format!("linear = \"{}\"", linear_fake::USERS[0]),
        &format!("\n[trackers.linear]\nteam = \"{}\"\n", linear_fake::TEAM),
    );
    let vars = [
        ("LINEAR_API_URL", linear.api_url()),
        ("LINEAR_API_KEY", key.to_string()),
    ];
    (Filing::start(backend, config, &vars).await, linear)
}

#[tokio::test]
async fn a_follow_up_becomes_one_linear_issue_with_its_assignee_due_date_and_link() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, linear) = start_linear(&backend, linear_fake::KEY).await;
        filing
            .follow_up("Add a circuit breaker to checkout <@UALICE> due:2026-12-01")
            .await;
        let url = FakeLinear::url("OPS-1");
        filing.wait_for_room("the issue's link", &url).await;

        let issues = linear.issues();
        assert_eq!(issues.len(), 1, "[{name}] {issues:?}");
        let input = &issues[0].input;
        assert_eq!(input["title"], "Add a circuit breaker to checkout");
        assert_eq!(input["teamId"], linear_fake::TEAM);
        assert_eq!(input["dueDate"], "2026-12-01");
        assert_eq!(input["assigneeId"], linear_fake::USERS[0]);
        assert!(
            input["description"]
                .as_str()
                .is_some_and(|d| d.contains(&format!(
                    "https://warroom.test/incidents/{}",
                    filing.incident
                ))),
            "[{name}] {input}"
        );
        let shown = filing.room_messages(&url);
        assert_eq!(shown.len(), 1, "[{name}] {shown:?}");
        assert!(
            shown[0].contains("Follow-up #1 is filed in Linear"),
            "[{name}]"
        );
        assert_eq!(
            filing.kept_issue(1).await,
            Some(("OPS-1".to_string(), url)),
            "[{name}]"
        );
        filing.stop().await;
    }
}

#[tokio::test]
async fn a_lost_linear_answer_is_found_by_its_id_and_a_rate_limit_retried() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, linear) = start_linear(&backend, linear_fake::KEY).await;
        linear.script(Script::Refuse(400, None));
        linear.script(Script::CreateThenAnswer(500));
        filing.follow_up("Rotate the on-call pager").await;
        let url = FakeLinear::url("OPS-1");
        filing.wait_for_room("the issue's link", &url).await;

        assert_eq!(linear.issues().len(), 1, "[{name}] one issue");
        assert_eq!(linear.answered("issueCreate"), [400, 500], "[{name}]");
        // A rate limit without a time counts as a failed attempt, which may
        // have been carried out, so each retry looks first.
        assert_eq!(linear.answered("issues"), [200, 200], "[{name}]");
        assert_eq!(filing.room_messages(&url).len(), 1, "[{name}]");
        filing.stop().await;
    }
}

#[tokio::test]
async fn a_wrong_linear_key_is_told_in_the_room_once() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, linear) = start_linear(&backend, "lin_api_revoked").await;
        filing.follow_up("Add a canary").await;
        filing
            .wait_for_room("the refusal", "could not be filed")
            .await;
        let told = filing.room_messages("Follow-up #1 could not be filed in Linear");
        assert_eq!(told.len(), 1, "[{name}] {told:?}");
        assert!(
            told[0].contains("Linear refused the issue (400): Authentication required"),
            "[{name}] {told:?}"
        );
        assert!(!told[0].contains("revoked"), "[{name}]");
        assert!(linear.issues().is_empty(), "[{name}]");
        assert_eq!(linear.answered("issueCreate"), [400], "[{name}]");
        filing.stop().await;
    }
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("a fixture");
    serde_json::from_str(&text).expect("a JSON fixture")
}

#[tokio::test]
async fn the_fake_linear_answers_and_refuses_as_the_documentation_shows() {
    let linear = FakeLinear::start().await;
    let http = reqwest::Client::new();
    let send = |key: &str, body: &Value| {
        http.post(linear.api_url())
            .header("Authorization", key)
            .json(body)
            .send()
    };
    let request = fixture("issue-create-request.json");
    let made = send(linear_fake::KEY, &request).await.expect("answers");
    assert_eq!(made.status(), 200);
    assert_eq!(
        made.json::<Value>().await.expect("JSON"),
        fixture("issue-created.json")
    );
    let wrong = send("Bearer lin_api_other", &request)
        .await
        .expect("answers");
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        wrong.json::<Value>().await.expect("JSON"),
        fixture("not-authenticated.json")
    );
    assert_eq!(linear.issues().len(), 1);
}
