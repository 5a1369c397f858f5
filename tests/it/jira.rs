//! Follow-ups filed as Jira issues, end to end: the real application on Slack
//! (the fake Slack) with `[trackers.jira] site` pointing at a fake Jira Cloud on
//! 127.0.0.1 that speaks the documented REST v3 JSON and refuses what Jira
//! refuses. Each test runs on SQLite, and on Postgres too when
//! `WARROOM_TEST_POSTGRES_URL` is set.

use crate::common::{Backend, test_backends};
use crate::github::{Filing, config};
use crate::jira_fake::{self, FakeJira, Script};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jira");

/// warroom filing in a fresh fake Jira with `token`; Alice has an account there.
async fn start_jira(backend: &Backend, token: &str) -> (Filing, FakeJira) {
    let jira = FakeJira::start().await;
    let config = config(
        &format!("jira = \"{}\"", jira_fake::ACCOUNTS[0]),
        &format!(
            "\n[trackers.jira]\nsite = \"{}\"\nproject = \"{}\"\nissue_type = \"Task\"\n",
            jira.site(),
            jira_fake::PROJECT
        ),
    );
    let vars = [
        ("JIRA_EMAIL", jira_fake::EMAIL.to_string()),
        ("JIRA_API_TOKEN", token.to_string()),
    ];
    (Filing::start(backend, config, &vars).await, jira)
}

#[tokio::test]
async fn a_follow_up_becomes_one_jira_issue_with_its_assignee_due_date_and_link() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, jira) = start_jira(&backend, jira_fake::TOKEN).await;
        let reply = filing
            .follow_up("Add a circuit breaker to checkout <@UALICE> due:2026-12-01")
            .await;
        assert!(reply.contains("being filed in Jira"), "[{name}] {reply}");
        let url = format!("{}/browse/OPS-1", jira.site());
        filing.wait_for_room("the issue's link", &url).await;

        let issues = jira.issues();
        assert_eq!(issues.len(), 1, "[{name}] {issues:?}");
        let fields = &issues[0].fields;
        assert_eq!(fields["summary"], "Add a circuit breaker to checkout");
        assert_eq!(fields["issuetype"]["name"], "Task");
        assert_eq!(fields["duedate"], "2026-12-01");
        assert_eq!(fields["assignee"]["id"], jira_fake::ACCOUNTS[0]);
        let label = format!("warroom-{}-1-", filing.incident);
        assert!(
            fields["labels"][0]
                .as_str()
                .is_some_and(|l| l.starts_with(&label)),
            "[{name}] {fields}"
        );
        let description = fields["description"].to_string();
        assert!(
            description.contains(&format!(
                "https://warroom.test/incidents/{}",
                filing.incident
            )),
            "[{name}] {description}"
        );
        let shown = filing.room_messages(&url);
        assert_eq!(shown.len(), 1, "[{name}] {shown:?}");
        assert!(
            shown[0].contains("Follow-up #1 is filed in Jira"),
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
async fn a_lost_jira_answer_is_found_by_its_label_and_a_rate_limit_waited_out() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, jira) = start_jira(&backend, jira_fake::TOKEN).await;
        jira.script(Script::Refuse(429, Some(1)));
        jira.script(Script::CreateThenAnswer(502));
        filing.follow_up("Rotate the on-call pager").await;
        let url = format!("{}/browse/OPS-1", jira.site());
        filing.wait_for_room("the issue's link", &url).await;

        assert_eq!(jira.issues().len(), 1, "[{name}] one issue");
        assert_eq!(jira.answered("/rest/api/3/issue"), [429, 502], "[{name}]");
        assert_eq!(jira.answered("/rest/api/3/search/jql"), [200], "[{name}]");
        assert_eq!(filing.room_messages(&url).len(), 1, "[{name}]");
        filing.stop().await;
    }
}

#[tokio::test]
async fn a_wrong_jira_token_is_told_in_the_room_once() {
    for backend in test_backends().await {
        let name = backend.name;
        let (filing, jira) = start_jira(&backend, "atlassian-revoked").await;
        filing.follow_up("Add a canary").await;
        filing
            .wait_for_room("the refusal", "could not be filed")
            .await;
        let told = filing.room_messages("Follow-up #1 could not be filed in Jira");
        assert_eq!(told.len(), 1, "[{name}] {told:?}");
        assert!(
            told[0].contains("Jira refused the issue (401): Client must be authenticated"),
            "[{name}] {told:?}"
        );
        assert!(!told[0].contains("revoked"), "[{name}]");
        assert!(jira.issues().is_empty(), "[{name}]");
        assert_eq!(jira.answered("/rest/api/3/issue"), [401], "[{name}]");
        filing.stop().await;
    }
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("a fixture");
    serde_json::from_str(&text).expect("a JSON fixture")
}

#[tokio::test]
async fn the_fake_jira_answers_and_refuses_as_the_documentation_shows() {
    let jira = FakeJira::start().await;
    let http = reqwest::Client::new();
    let create = |token: &str, body: &Value| {
        http.post(format!("{}/rest/api/3/issue", jira.site()))
            .basic_auth(jira_fake::EMAIL, Some(token))
            .json(body)
            .send()
    };
    let request = fixture("create-issue-request.json");
    let made = create(jira_fake::TOKEN, &request).await.expect("answers");
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.expect("JSON");
    let keys = |value: &Value| {
        value
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
    };
    assert_eq!(keys(&made), keys(&fixture("created.json")));
    assert_eq!(made["key"], "OPS-1");

    let mut untitled = request.clone();
    untitled["fields"]
        .as_object_mut()
        .map(|fields| fields.remove("summary"));
    let refused = create(jira_fake::TOKEN, &untitled).await.expect("answers");
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<Value>().await.expect("JSON"),
        fixture("bad-request.json")
    );
    let wrong = create("nope", &request).await.expect("answers");
    assert_eq!(wrong.status(), 401);
    assert_eq!(jira.issues().len(), 1);
}
