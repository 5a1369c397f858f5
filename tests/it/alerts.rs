//! Alerts in: `POST /hooks/alertmanager` and `/hooks/grafana` on the real
//! application, fed the sample payloads of tests/fixtures/alerts (copied from
//! Alertmanager's and Grafana's documentation), against the fake Slack. Routes
//! declare at once or propose in the announce channel; one alert group makes one
//! incident however often, and however concurrently, it is delivered. And the
//! JSON API's writes, with which other tools declare and act.

use crate::common::app::{self, Serving};
use crate::common::harness::{DAVE, PEOPLE, SEV1, SEV1_ROLES, bot, service_phrases};
use crate::common::pagerduty::FakeEvents;
use crate::common::store_reads::StoreReads;
use crate::common::{Backend, test_backends};
use crate::discord;
use crate::discord_fake::{ANNOUNCE_CHANNEL, eventually};
use crate::slack::{FORM, SIGNING_SECRET, click_payload, sign, unix_now};
use crate::slack_fake::{self, FakeSlack};
use chrono::{SecondsFormat, TimeZone, Utc};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use warroom::alerts;
use warroom::clock::ManualClock;
use warroom::command;
use warroom::config::Config;
use warroom::domain::{AlertGroupState, EventKind, IncidentId, Platform, Status, UserId};
use warroom::engine::{Actor, AlertOutcome, Context, Engine};
use warroom::store::IncidentFilter;

const ALERTS_TOKEN: &str = "fake-alerts-token-0123456789";
const API_TOKEN: &str = "fake-api-token-0123456789";

/// Long enough for a slow CI machine, short enough to fail a hung test quickly.
const WAIT: Duration = Duration::from_secs(20);

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/alerts/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Critical checkout alerts open a sev1 at once; team blue's are proposed.
const ROUTES: &str = r#"
[[alert_route]]
name = "checkout-down"
match = { severity = "critical" }
match_re = { service = "checkout|payments" }
severity = "sev1"
services = ["checkout"]
title = "{alertname}: {summary}"
platform = "slack"
mode = "declare"

[[alert_route]]
name = "team-blue"
match = { team = "blue" }
severity = "sev1"
title = "{alertname} in {zone}"
platform = "slack"
mode = "propose"

[[alert_route]]
name = "pagerduty-high"
match = { urgency = "high" }
severity = "sev1"
platform = "slack"
mode = "declare"
"#;

fn config(announce: &str) -> Config {
    config_paging(announce, "")
}

/// The test config, with `sev1` going on with `sev1_extra` (`page = true`).
fn config_paging(announce: &str, sev1_extra: &str) -> Config {
    let slack = format!(
        r#"
[slack]
mode = "http"
channel_prefix = "inc"
announce_channel = "{announce}"
"#
    );
    let text = [
        &bot("UTC"),
        SEV1,
        sev1_extra,
        PEOPLE,
        DAVE,
        SEV1_ROLES,
        &service_phrases(),
        &slack,
        ROUTES,
    ]
    .concat();
    Config::from_toml_str(&text).expect("test config is valid")
}

/// warroom with the alert webhooks on (or off, without a token), on Slack.
struct Hooks {
    addr: SocketAddr,
    engine: Engine,
    http: reqwest::Client,
    serving: Serving,
}

impl Hooks {
    async fn start(
        backend: &Backend,
        fake: &FakeSlack,
        announce: &str,
        token: Option<&str>,
    ) -> Self {
        let mut vars = vec![
            ("SLACK_API_URL", fake.api_url()),
            ("SLACK_BOT_TOKEN", slack_fake::BOT_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_string()),
            ("WARROOM_API_TOKEN", API_TOKEN.to_string()),
        ];
        if let Some(token) = token {
            vars.push(("WARROOM_ALERTS_TOKEN", token.to_string()));
        }
        let builder = app::builder(backend, &vars, config(announce));
        let serving = Serving::start(builder, backend.name).await;
        Self {
            addr: serving.address,
            engine: serving.engine.clone(),
            http: reqwest::Client::new(),
            serving,
        }
    }

    /// POSTs `body` to `path` with `Authorization` set to `authorization`.
    async fn post(&self, path: &str, authorization: Option<&str>, body: &str) -> (u16, Value) {
        post(&self.http, self.addr, path, authorization, body.to_string()).await
    }

    /// Delivers an alert body as a configured sender would; returns the answer.
    async fn deliver(&self, path: &str, body: &str) -> Value {
        let (status, answer) = self
            .post(path, Some(&format!("Bearer {ALERTS_TOKEN}")), body)
            .await;
        assert_eq!(status, 200, "{path}: {answer}");
        answer
    }

    /// A button click as Slack sends it.
    async fn click(&self, payload: &Value) -> u16 {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
        let timestamp = unix_now().to_string();
        let response = self
            .http
            .post(format!("http://{}/slack/interactions", self.addr))
            .header("Content-Type", FORM)
            .header("X-Slack-Request-Timestamp", &timestamp)
            .header("X-Slack-Signature", sign(SIGNING_SECRET, &timestamp, &body))
            .body(body)
            .send()
            .await
            .expect("warroom answers");
        response.status().as_u16()
    }

    async fn incidents(&self) -> Vec<warroom::domain::Incident> {
        self.engine
            .store()
            .incidents(IncidentFilter::All, 1000)
            .await
            .expect("store answers")
    }

    async fn metrics(&self) -> String {
        self.http
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics body")
    }

    async fn stop(self) {
        self.serving.stop().await;
    }
}

async fn post(
    http: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    authorization: Option<&str>,
    body: String,
) -> (u16, Value) {
    let mut request = http
        .post(format!("http://{addr}{path}"))
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let response = request.send().await.expect("warroom answers");
    let status = response.status().as_u16();
    let answer = response.json().await.unwrap_or(Value::Null);
    (status, answer)
}

fn incident_of(answer: &Value) -> IncidentId {
    answer["incident"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no incident in {answer}"))
}

/// The value of the alert deliveries counter for `source` and `outcome` (0 when absent).
fn deliveries(metrics: &str, source: &str, outcome: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("warroom_alert_deliveries_total{"))
        .filter(|line| {
            line.contains(&format!("source=\"{source}\""))
                && line.contains(&format!("outcome=\"{outcome}\""))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn alert_hooks_refuse_senders_without_the_token_and_change_nothing() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let hooks = Hooks::start(&backend, &fake, &announce, Some(ALERTS_TOKEN)).await;
    let bodies = [
        ("/hooks/alertmanager", fixture("alertmanager-firing.json")),
        ("/hooks/grafana", fixture("grafana-firing.json")),
    ];
    for (path, body) in &bodies {
        for authorization in [
            None,
            Some("Bearer wrong-token-0123456789".to_string()),
            Some(format!("Basic {ALERTS_TOKEN}")),
            Some(format!("Bearer {ALERTS_TOKEN}x")),
        ] {
            let (status, answer) = hooks.post(path, authorization.as_deref(), body).await;
            assert_eq!(status, 401, "{path} with {authorization:?}: {answer}");
            assert_eq!(answer["error"], "unauthorized", "{answer}");
        }
    }
    assert!(
        hooks
            .engine
            .store()
            .alert_groups()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(hooks.incidents().await.is_empty());
    hooks.stop().await;

    // Without WARROOM_ALERTS_TOKEN the hooks are off and say how to turn them on.
    let hooks = Hooks::start(&backend, &fake, &announce, None).await;
    for (path, body) in &bodies {
        let (status, answer) = hooks
            .post(path, Some(&format!("Bearer {ALERTS_TOKEN}")), body)
            .await;
        assert_eq!(status, 503, "{answer}");
        assert_eq!(answer["error"], "hooks_disabled");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.contains("WARROOM_ALERTS_TOKEN")),
            "{answer}"
        );
    }
    assert!(
        hooks
            .engine
            .store()
            .alert_groups()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(hooks.incidents().await.is_empty());
    hooks.stop().await;
}

#[tokio::test]
async fn malformed_alert_bodies_get_400_saying_what_was_wrong() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let hooks = Hooks::start(&backend, &fake, &announce, Some(ALERTS_TOKEN)).await;
    let firing = fixture("alertmanager-firing.json");
    let json: Value = serde_json::from_str(&firing).unwrap();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = json.clone();
        change(&mut body);
        body.to_string()
    };
    let cases = [
        (
            "/hooks/alertmanager",
            "{\"version\": ".to_string(),
            "version: EOF while parsing",
        ),
        (
            "/hooks/alertmanager",
            "[]".to_string(),
            "the body is not alertmanager webhook JSON",
        ),
        (
            "/hooks/grafana",
            "not json".to_string(),
            "the body is not grafana webhook JSON",
        ),
        (
            "/hooks/alertmanager",
            with(&|b| b["version"] = "3".into()),
            "version: expected \"4\"",
        ),
        (
            "/hooks/alertmanager",
            with(&|b| b["status"] = "burning".into()),
            "status: unknown variant `burning`",
        ),
        (
            "/hooks/alertmanager",
            with(&|b| b["alerts"] = Value::Array(vec![])),
            "alerts: the group holds no alert",
        ),
        (
            "/hooks/alertmanager",
            with(&|b| b["alerts"][0]["startsAt"] = "soon".into()),
            "alerts[0].startsAt: `soon` is not an RFC 3339 time",
        ),
        (
            "/hooks/alertmanager",
            with(&|b| b["alerts"][0]["labels"]["job"] = 7.into()),
            "alerts[0].labels.job: invalid type",
        ),
        (
            "/hooks/alertmanager",
            with(&|b| {
                b.as_object_mut().unwrap().remove("groupKey");
            }),
            "groupKey: missing",
        ),
        (
            "/hooks/grafana",
            with(&|b| {
                b.as_object_mut().unwrap().remove("alerts");
            }),
            "missing field `alerts`",
        ),
    ];
    for (path, body, expected) in cases {
        let (status, answer) = hooks
            .post(path, Some(&format!("Bearer {ALERTS_TOKEN}")), &body)
            .await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_eq!(answer["error"], "bad_request", "{answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "`{expected}` not in `{message}`"
        );
    }
    assert!(
        hooks
            .engine
            .store()
            .alert_groups()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(hooks.incidents().await.is_empty());
    hooks.stop().await;
}

#[tokio::test]
async fn an_alertmanager_group_opens_one_war_room_and_later_deliveries_join_its_timeline() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let hooks = Hooks::start(&backend, &fake, &announce, Some(ALERTS_TOKEN)).await;
    let store = hooks.engine.store().clone();

    let answer = hooks
        .deliver("/hooks/alertmanager", &fixture("alertmanager-firing.json"))
        .await;
    assert_eq!(answer["outcome"], "declared", "{answer}");
    let id = incident_of(&answer);
    let incident = store.incident(&id).await.unwrap().expect("declared");
    assert_eq!(
        incident.title,
        "ProbeFailure: BlackBox Probe Failure: https://checkout.example.org"
    );
    assert_eq!(incident.severity.as_str(), "sev1");
    assert_eq!(incident.services, ["checkout"]);
    fake.wait_for("the war room opened and announced", |f| {
        !f.done("pins.add").is_empty()
            && f.done("chat.postMessage")
                .iter()
                .any(|c| c.arg("channel") == announce)
    })
    .await;
    let timeline = store.timeline(&id).await.unwrap();
    let alerts: Vec<_> = timeline
        .iter()
        .filter(|event| event.kind == EventKind::Alert)
        .collect();
    assert_eq!(alerts.len(), 2, "{timeline:#?}");
    assert!(
        alerts[0]
            .text
            .starts_with("Alert firing (alertmanager): ProbeFailure: BlackBox Probe Failure"),
        "{}",
        alerts[0].text
    );
    assert_eq!(
        alerts[0].at.to_rfc3339(),
        "2026-11-23T08:52:30.828+00:00",
        "a firing alert is on the timeline when it began"
    );
    assert!(
        alerts[1]
            .text
            .starts_with("Declared from alertmanager alert group #"),
        "{}",
        alerts[1].text
    );

    // The same notification again (Alertmanager repeats it): nothing new.
    let again = hooks
        .deliver("/hooks/alertmanager", &fixture("alertmanager-firing.json"))
        .await;
    assert_eq!(again["outcome"], "joined");
    assert_eq!(incident_of(&again), id);
    assert_eq!(store.timeline(&id).await.unwrap().len(), timeline.len());

    // Resolved: the change joins the timeline, and the room is offered Resolve.
    let resolved = hooks
        .deliver(
            "/hooks/alertmanager",
            &fixture("alertmanager-resolved.json"),
        )
        .await;
    assert_eq!(resolved["outcome"], "joined");
    let room = store
        .incident(&id)
        .await
        .unwrap()
        .and_then(|incident| incident.room)
        .expect("the war room exists");
    fake.wait_for("the room told the alerts resolved", |f| {
        f.messages_in(&room)
            .iter()
            .any(|m| m.text.contains("have resolved"))
    })
    .await;
    let notice = fake
        .messages_in(&room)
        .into_iter()
        .find(|m| m.text.contains("have resolved"))
        .expect("posted");
    assert!(
        notice.text.starts_with(
            "All alerts of this incident's alertmanager group have resolved (1 alert)."
        ),
        "{}",
        notice.text
    );
    let buttons = notice
        .blocks
        .as_array()
        .and_then(|blocks| blocks.last())
        .cloned();
    let button = &buttons.expect("blocks")["elements"][0];
    assert_eq!(button["action_id"], "resolve");
    assert_eq!(button["value"], id.to_string());
    assert!(store.timeline(&id).await.unwrap().iter().any(|event| {
        event.kind == EventKind::Alert
            && event
                .text
                .starts_with("Alert resolved (alertmanager): ProbeFailure")
    }),);
    // Told once, however often the resolved group is delivered again.
    hooks
        .deliver(
            "/hooks/alertmanager",
            &fixture("alertmanager-resolved.json"),
        )
        .await;

    let click = click_payload(
        &fake,
        "UALICE",
        &room,
        &notice.ts,
        "resolve",
        &id.to_string(),
        "1790000400.000100",
    );
    assert_eq!(hooks.click(&click).await, 200);
    fake.wait_for("the resolution checklist posted", |f| {
        f.messages_in(&room)
            .iter()
            .any(|m| m.text.starts_with("Resolution checklist"))
    })
    .await;
    assert_eq!(
        store.incident(&id).await.unwrap().map(|i| i.status),
        Some(Status::Resolved)
    );
    assert_eq!(
        fake.messages_in(&room)
            .iter()
            .filter(|m| m.text.contains("have resolved"))
            .count(),
        1
    );
    assert_eq!(hooks.incidents().await.len(), 1);
    hooks.stop().await;
}

#[tokio::test]
async fn a_grafana_group_is_proposed_and_its_declare_and_dismiss_buttons_decide() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let hooks = Hooks::start(&backend, &fake, &announce, Some(ALERTS_TOKEN)).await;
    let store = hooks.engine.store().clone();

    let firing = fixture("grafana-firing.json");
    let answer = hooks.deliver("/hooks/grafana", &firing).await;
    assert_eq!(answer["outcome"], "proposed", "{answer}");
    let group = answer["group"].as_i64().expect("a group number");
    assert!(hooks.incidents().await.is_empty());
    fake.wait_for("the alert proposed in the announce channel", |f| {
        f.messages_in(&announce)
            .iter()
            .any(|m| m.text.contains("Alert: High memory usage in us-1"))
    })
    .await;
    let proposal = fake.messages_in(&announce).remove(0);
    assert!(
        proposal
            .text
            .contains("2 alerts firing from grafana; declare it as SEV1?"),
        "{}",
        proposal.text
    );
    let actions = proposal
        .blocks
        .as_array()
        .and_then(|b| b.last())
        .cloned()
        .expect("blocks");
    let ids: Vec<&str> = actions["elements"]
        .as_array()
        .expect("buttons")
        .iter()
        .filter_map(|button| button["action_id"].as_str())
        .collect();
    let declare = format!("alert-declare:{group}");
    let dismiss = format!("alert-dismiss:{group}");
    assert_eq!(ids, [declare.as_str(), dismiss.as_str()]);

    // Delivered again: kept, not proposed twice.
    let again = hooks.deliver("/hooks/grafana", &firing).await;
    assert_eq!(again["outcome"], "kept");

    let click = |action: &str, user: &str, ts: &str| {
        click_payload(
            &fake,
            user,
            &announce,
            &proposal.ts,
            action,
            &group.to_string(),
            ts,
        )
    };
    assert_eq!(
        hooks
            .click(&click(&declare, "UBOB", "1790000500.000100"))
            .await,
        200
    );
    fake.wait_for("the war room opened", |f| {
        f.channels().iter().any(|c| c.name.starts_with("inc-"))
    })
    .await;
    let incidents = hooks.incidents().await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].title, "High memory usage in us-1");
    let groups = store.alert_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].state, AlertGroupState::Declared);
    assert_eq!(groups[0].incident.as_ref(), Some(&incidents[0].id));
    // A second press, or Dismiss after Declare, changes nothing.
    hooks
        .click(&click(&declare, "UDAVE", "1790000501.000100"))
        .await;
    hooks
        .click(&click(&dismiss, "UDAVE", "1790000502.000100"))
        .await;
    // A later delivery joins the declared incident.
    let joined = hooks.deliver("/hooks/grafana", &firing).await;
    assert_eq!(joined["outcome"], "joined");
    assert_eq!(hooks.incidents().await.len(), 1);
    assert_eq!(
        store.alert_groups().await.unwrap()[0].state,
        AlertGroupState::Declared
    );

    // Another group, of 25 alerts, dismissed. Its proposal lists ten of them.
    let mut other: Value = serde_json::from_str(&firing).unwrap();
    other["groupKey"] = "{}:{team=\"blue\"}".into();
    let first = other["alerts"][0].clone();
    other["alerts"] = (0..25)
        .map(|i| {
            let mut alert = first.clone();
            alert["fingerprint"] = format!("blue-{i}").into();
            alert
        })
        .collect();
    let answer = hooks.deliver("/hooks/grafana", &other.to_string()).await;
    assert_eq!(answer["outcome"], "proposed");
    let second = answer["group"].as_i64().expect("a group number");
    fake.wait_for("the second proposal", |f| {
        f.messages_in(&announce)
            .iter()
            .any(|m| m.text.contains("25 alerts firing"))
    })
    .await;
    let big = fake
        .messages_in(&announce)
        .into_iter()
        .find(|m| m.text.contains("25 alerts firing"))
        .expect("posted");
    assert_eq!(
        big.text.matches("High memory usage: This alert").count(),
        10,
        "{}",
        big.text
    );
    assert!(big.text.contains("… and 15 more alerts."), "{}", big.text);
    let dismiss_second = click_payload(
        &fake,
        "UDAVE",
        &announce,
        &proposal.ts,
        &format!("alert-dismiss:{second}"),
        &second.to_string(),
        "1790000600.000100",
    );
    assert_eq!(hooks.click(&dismiss_second).await, 200);
    fake.wait_for("the dismissal told", |f| {
        f.responses("click-1790000600.000100")
            .iter()
            .any(|r| r.to_string().contains("dismissed by"))
    })
    .await;
    let groups = store.alert_groups().await.unwrap();
    assert_eq!(groups[1].state, AlertGroupState::Dismissed);
    assert_eq!(hooks.incidents().await.len(), 1);
    hooks.stop().await;
}

#[tokio::test]
async fn alerts_no_route_takes_are_recorded_and_counted_on_metrics() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let hooks = Hooks::start(&backend, &fake, &announce, Some(ALERTS_TOKEN)).await;
    let before = deliveries(&hooks.metrics().await, "alertmanager", "unrouted");
    let mut warning: Value = serde_json::from_str(&fixture("alertmanager-firing.json")).unwrap();
    warning["groupKey"] = "{}:{alertname=\"DiskFilling\"}".into();
    warning["commonLabels"]["severity"] = "warning".into();
    warning["alerts"][0]["labels"]["severity"] = "warning".into();
    let answer = hooks
        .deliver("/hooks/alertmanager", &warning.to_string())
        .await;
    assert_eq!(answer["outcome"], "unrouted", "{answer}");
    assert_eq!(answer["incident"], Value::Null);
    let groups = hooks.engine.store().alert_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].state, AlertGroupState::Unrouted);
    assert_eq!(groups[0].key, "{}:{alertname=\"DiskFilling\"}");
    assert_eq!(groups[0].source, "alertmanager");
    assert!(hooks.incidents().await.is_empty());
    let after = deliveries(&hooks.metrics().await, "alertmanager", "unrouted");
    // Metrics are process-wide and tests run in parallel: at least this one.
    assert!(after >= before + 1.0, "before {before}, after {after}");
    hooks.stop().await;
}

#[tokio::test]
async fn a_hundred_concurrent_deliveries_of_one_group_make_one_incident() {
    for backend in test_backends().await {
        let fake = FakeSlack::start().await;
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let hooks = Hooks::start(&backend, &fake, &announce, Some(ALERTS_TOKEN)).await;
        let body = fixture("alertmanager-firing.json");
        let authorization = format!("Bearer {ALERTS_TOKEN}");
        let deliveries: Vec<_> = (0..100)
            .map(|_| {
                let (http, addr) = (hooks.http.clone(), hooks.addr);
                let (body, authorization) = (body.clone(), authorization.clone());
                tokio::spawn(async move {
                    post(
                        &http,
                        addr,
                        "/hooks/alertmanager",
                        Some(&authorization),
                        body,
                    )
                    .await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for delivery in deliveries {
            let (status, answer) = delivery.await.expect("delivery task");
            assert_eq!(status, 200, "[{}] {answer}", backend.name);
            outcomes.push(answer);
        }
        let declared: Vec<_> = outcomes
            .iter()
            .filter(|answer| answer["outcome"] == "declared")
            .collect();
        assert_eq!(declared.len(), 1, "[{}] {outcomes:?}", backend.name);
        let id = incident_of(declared[0]);
        assert!(
            outcomes.iter().all(|answer| incident_of(answer) == id),
            "[{}] every delivery names the one incident",
            backend.name
        );
        let incidents = hooks.incidents().await;
        assert_eq!(incidents.len(), 1, "[{}]", backend.name);
        assert_eq!(
            hooks.engine.store().alert_groups().await.unwrap().len(),
            1,
            "[{}]",
            backend.name
        );
        let firing = hooks
            .engine
            .store()
            .timeline(&id)
            .await
            .unwrap()
            .into_iter()
            .filter(|event| {
                event.kind == EventKind::Alert && event.text.starts_with("Alert firing")
            })
            .count();
        assert_eq!(firing, 1, "[{}]", backend.name);
        hooks.stop().await;
    }
}

#[tokio::test]
async fn time_to_detect_runs_from_the_alerts_start_to_the_declaration() {
    for backend in test_backends().await {
        let name = backend.name;
        let fake = FakeSlack::start().await;
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let declared_at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::starting_at(declared_at));
        let vars = [
            ("SLACK_API_URL", fake.api_url()),
            ("SLACK_BOT_TOKEN", slack_fake::BOT_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_string()),
            ("WARROOM_ALERTS_TOKEN", ALERTS_TOKEN.to_string()),
            ("WARROOM_API_TOKEN", API_TOKEN.to_string()),
        ];
        let builder = app::builder(&backend, &vars, config(&announce)).clock(clock);
        let serving = Serving::start(builder, name).await;
        let hooks = Hooks {
            addr: serving.address,
            engine: serving.engine.clone(),
            http: reqwest::Client::new(),
            serving,
        };
        let answer = hooks
            .deliver("/hooks/alertmanager", &fixture("alertmanager-firing.json"))
            .await;
        let id = incident_of(&answer);
        let began = "2026-11-23T08:52:30.828Z";
        let incident = hooks.engine.store().incident(&id).await.unwrap().unwrap();
        assert_eq!(
            incident
                .detected_at
                .map(|at| at.to_rfc3339_opts(SecondsFormat::Millis, true)),
            Some(began.to_string()),
            "[{name}]"
        );

        let api = |path: String| {
            hooks
                .http
                .get(format!("http://{}{path}", hooks.addr))
                .bearer_auth(API_TOKEN)
                .send()
        };
        let detail: Value = api(format!("/api/incidents/{id}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(detail["detected_at"], began, "[{name}]");
        let draft = api(format!("/api/incidents/{id}/postmortem.md"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            draft.contains("| Time to detect | 7m | none configured | — |"),
            "[{name}] {draft}"
        );

        let stats = hooks
            .engine
            .handle(
                &Actor {
                    platform: Platform::Slack,
                    user: UserId::new("UALICE"),
                },
                &Context {
                    channel: "C0OPS".to_string(),
                    request_id: None,
                    room_name: None,
                },
                command::parse("stats 7d", hooks.engine.config()).unwrap(),
            )
            .await
            .unwrap()
            .text();
        assert!(
            stats.contains("Time to detect (MTTD): mean 7m, p50 7m, p90 7m (1 incidents)"),
            "[{name}] {stats}"
        );
        assert!(
            stats.find("Time to detect") < stats.find("Time to acknowledge"),
            "[{name}] {stats}"
        );

        let metrics = hooks.metrics().await;
        for line in [
            "warroom_incident_time_to_detect_seconds_bucket{severity=\"sev1\",le=\"300\"} 0",
            "warroom_incident_time_to_detect_seconds_bucket{severity=\"sev1\",le=\"900\"} 1",
            "warroom_incident_time_to_detect_seconds_sum{severity=\"sev1\"} 449.172",
            "warroom_incident_time_to_detect_seconds_count{severity=\"sev1\"} 1",
        ] {
            assert!(
                metrics.lines().any(|l| l == line),
                "[{name}] no `{line}` in {metrics}"
            );
        }
        hooks.stop().await;
    }
}

#[tokio::test]
async fn on_discord_a_proposed_alert_is_declared_by_its_button() {
    let backend = test_backends().await.remove(0);
    let route = r#"
[[alert_route]]
name = "team-blue"
match = { team = "blue" }
severity = "sev1"
title = "{alertname} in {zone}"
platform = "discord"
mode = "propose"
"#;
    let mut warroom =
        discord::Running::start_with(&backend, &format!("{}{route}", discord::config())).await;
    warroom.connected().await;
    let group =
        alerts::grafana(fixture("grafana-firing.json").as_bytes()).expect("the sample reads");
    let outcome = warroom
        .engine
        .receive_alerts(&group)
        .await
        .expect("recorded");
    assert!(
        matches!(outcome, AlertOutcome::Proposed { .. }),
        "{outcome:?}"
    );
    let fake = &warroom.fake;
    let proposal = eventually("the proposal in the announce channel", WAIT, || {
        discord::with_button(fake, ANNOUNCE_CHANNEL, "alert-declare:")
    })
    .await;
    assert!(
        proposal.body["content"]
            .as_str()
            .is_some_and(|content| content.contains("Alert: High memory usage in us-1")),
        "{:?}",
        proposal.body
    );
    let click = warroom.click(discord::ALICE, &proposal, "Declare").await;
    assert!(
        click.text().starts_with("Declaring INC-"),
        "{}",
        click.text()
    );
    let incidents = warroom
        .engine
        .store()
        .incidents(IncidentFilter::All, 10)
        .await
        .unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].platform, Platform::Discord);
    assert_eq!(incidents[0].title, "High memory usage in us-1");
    let again = warroom.click(discord::ALICE, &proposal, "Dismiss").await;
    assert!(
        again.text().contains("already declared"),
        "{}",
        again.text()
    );
    warroom.stop().await;
}

/// POSTs JSON to the API with its token and, if given, an `Idempotency-Key`;
/// gives the status, the `Idempotent-Replayed` header and the answer.
async fn api_post(hooks: &Hooks, path: &str, key: Option<&str>, body: Value) -> (u16, bool, Value) {
    let mut request = hooks
        .http
        .post(format!("http://{}{path}", hooks.addr))
        .bearer_auth(API_TOKEN)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("warroom answers");
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (
        status,
        replayed,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_api_declares_and_acts_and_a_retried_request_applies_once() {
    for backend in test_backends().await {
        let name = backend.name;
        let fake = FakeSlack::start().await;
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let hooks = Hooks::start(&backend, &fake, &announce, Some(ALERTS_TOKEN)).await;
        let store = hooks.engine.store().clone();

        let (status, answer) = post(
            &hooks.http,
            hooks.addr,
            "/api/incidents",
            None,
            serde_json::json!({ "title": "Checkout is slow" }).to_string(),
        )
        .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (401, Some("unauthorized")),
            "[{name}]"
        );
        assert!(hooks.incidents().await.is_empty());

        let declare = serde_json::json!({
            "title": "Checkout is slow",
            "severity": "sev1",
            "services": ["checkout"],
        });
        let (status, replayed, first) =
            api_post(&hooks, "/api/incidents", Some("declare-1"), declare.clone()).await;
        assert_eq!((status, replayed), (201, false), "[{name}] {first}");
        let id = incident_of(&first);
        assert!(
            first["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(&format!("Declaring {id}"))),
            "[{name}] {first}"
        );
        let (status, replayed, again) =
            api_post(&hooks, "/api/incidents", Some("declare-1"), declare.clone()).await;
        assert_eq!((status, replayed), (201, true), "[{name}]");
        assert_eq!(again, first, "[{name}] a retry gets the first answer");
        assert_eq!(
            hooks.incidents().await.len(),
            1,
            "[{name}] and applies once"
        );
        let incident = store.incident(&id).await.unwrap().unwrap();
        assert_eq!(incident.declared_by.as_str(), "warroom:api");
        assert_eq!(incident.services, ["checkout"]);
        assert_eq!(incident.platform, Platform::Slack);

        let path = |what: &str| format!("/api/incidents/{id}/{what}");
        let (status, _, answer) = api_post(
            &hooks,
            &path("updates"),
            None,
            serde_json::json!({ "text": "Payments are retried; checkout is slow, not down." }),
        )
        .await;
        assert_eq!(status, 200, "[{name}] {answer}");
        assert_eq!(answer["incident"], id.to_string());
        assert_eq!(
            store.status_updates(&id).await.unwrap().len(),
            1,
            "[{name}]"
        );
        let (status, _, answer) = api_post(
            &hooks,
            &path("status"),
            None,
            serde_json::json!({ "status": "identified", "text": "a slow database replica" }),
        )
        .await;
        assert_eq!(status, 200, "[{name}] {answer}");
        assert_eq!(
            store.incident(&id).await.unwrap().map(|i| i.status),
            Some(Status::Identified)
        );
        for _ in 0..3 {
            let (status, _, answer) = api_post(
                &hooks,
                &path("notes"),
                Some("note-1"),
                serde_json::json!({ "text": "replica lag 40s" }),
            )
            .await;
            assert_eq!(status, 200, "[{name}] {answer}");
        }
        let notes = store
            .timeline(&id)
            .await
            .unwrap()
            .into_iter()
            .filter(|event| event.kind == EventKind::Note)
            .collect::<Vec<_>>();
        assert_eq!(notes.len(), 1, "[{name}] {notes:?}");
        assert_eq!(notes[0].actor, "warroom:api");

        for (path, body, error, needle) in [
            (
                path("status"),
                serde_json::json!({ "status": "bogus" }),
                "bad_request",
                "status must be",
            ),
            (
                path("notes"),
                serde_json::json!({ "txt": "x" }),
                "bad_request",
                "unknown field `txt`",
            ),
            (
                path("notes"),
                serde_json::json!({ "text": "" }),
                "bad_request",
                "empty",
            ),
            (
                "/api/incidents/INC-20991231-001/notes".to_string(),
                serde_json::json!({ "text": "x" }),
                "not_found",
                "There is no incident",
            ),
            (
                "/api/incidents".to_string(),
                serde_json::json!({ "title": "x", "severity": "sev9" }),
                "bad_request",
                "severity `sev9` is not configured",
            ),
        ] {
            let (_, _, answer) = api_post(&hooks, &path, None, body).await;
            assert_eq!(answer["error"], error, "[{name}] {path}: {answer}");
            assert!(
                answer["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(needle)),
                "[{name}] {path}: {answer}"
            );
        }
        let long_key = "k".repeat(201);
        let (status, _, answer) = api_post(
            &hooks,
            &path("notes"),
            Some(&long_key),
            serde_json::json!({ "text": "x" }),
        )
        .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("bad_request")),
            "[{name}]"
        );

        let (status, _, answer) = api_post(
            &hooks,
            &path("resolve"),
            None,
            serde_json::json!({ "summary": "replica replaced" }),
        )
        .await;
        assert_eq!(status, 200, "[{name}] {answer}");
        assert_eq!(
            store.incident(&id).await.unwrap().map(|i| i.status),
            Some(Status::Resolved)
        );
        let (status, _, answer) =
            api_post(&hooks, &path("resolve"), None, serde_json::json!({})).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (409, Some("refused")),
            "[{name}] {answer}"
        );
        hooks.stop().await;
    }
}

const PAGERDUTY_SECRET: &str = "fake-pagerduty-webhook-secret";

/// PagerDuty's signature of `body` with `secret`, computed here independently of warroom.
fn pagerduty_signature(secret: &str, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body.as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// The documented sample event as `event_type`, about the page `incident_key`.
fn pagerduty_event(event_type: &str, event_id: &str, incident_key: &str) -> String {
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/pagerduty/incident-priority-updated.json"
        ))
        .expect("the sample"),
    )
    .expect("the sample is JSON");
    event["event"]["event_type"] = event_type.into();
    event["event"]["id"] = event_id.into();
    event["event"]["data"]["incident_key"] = incident_key.into();
    event.to_string()
}

async fn post_pagerduty(hooks: &Hooks, body: &str, signature: Option<&str>) -> (u16, Value) {
    let mut request = hooks
        .http
        .post(format!("http://{}/hooks/pagerduty", hooks.addr))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("X-PagerDuty-Signature", signature);
    }
    let response = request.send().await.expect("warroom answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The page events queued for `incident` with `action` (`acknowledge`, `resolve`).
async fn page_events(hooks: &Hooks, incident: &IncidentId, action: &str) -> usize {
    hooks
        .engine
        .store()
        .outbox_of(incident)
        .await
        .unwrap()
        .into_iter()
        .filter(|entry| {
            serde_json::to_value(&entry.operation)
                .is_ok_and(|op| op.to_string().contains(&format!("\"action\":\"{action}\"")))
        })
        .count()
}

#[tokio::test]
async fn pagerduty_acknowledgements_and_resolutions_reach_the_room_and_are_not_sent_back() {
    for backend in test_backends().await {
        let name = backend.name;
        let fake = FakeSlack::start().await;
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let events = Arc::new(FakeEvents::default());
        let vars = [
            ("SLACK_API_URL", fake.api_url()),
            ("SLACK_BOT_TOKEN", slack_fake::BOT_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_string()),
            ("WARROOM_ALERTS_TOKEN", ALERTS_TOKEN.to_string()),
            ("PAGERDUTY_ROUTING_KEY", "fake-routing-key".to_string()),
            ("PAGERDUTY_EVENTS_URL", events.serve().await),
            ("PAGERDUTY_WEBHOOK_SECRET", PAGERDUTY_SECRET.to_string()),
        ];
        let config = config_paging(&announce, "page = true\n");
        let serving = Serving::start(app::builder(&backend, &vars, config), name).await;
        let hooks = Hooks {
            addr: serving.address,
            engine: serving.engine.clone(),
            http: reqwest::Client::new(),
            serving,
        };
        let store = hooks.engine.store().clone();
        let declared = hooks
            .engine
            .handle(
                &Actor {
                    platform: Platform::Slack,
                    user: UserId::new("UALICE"),
                },
                &Context {
                    channel: "C0OPS".to_string(),
                    request_id: None,
                    room_name: None,
                },
                command::parse("sev1 checkout is down", hooks.engine.config()).unwrap(),
            )
            .await
            .unwrap();
        let id = declared.declared.clone().expect("declared");
        let pages = store.pages_of(&id).await.unwrap();
        assert_eq!(pages.len(), 1, "[{name}] {pages:?}");
        assert_eq!(pages[0].dedup_key, id.to_string());

        // Unsigned or wrongly signed: 401, and nothing changes.
        let acknowledged = pagerduty_event("incident.acknowledged", "ev-ack", id.as_str());
        for signature in [
            None,
            Some("v1=00".to_string()),
            Some(pagerduty_signature("another-secret", &acknowledged)),
        ] {
            let (status, answer) =
                post_pagerduty(&hooks, &acknowledged, signature.as_deref()).await;
            assert_eq!(
                (status, answer["error"].as_str()),
                (401, Some("unauthorized")),
                "[{name}]"
            );
        }
        assert_eq!(
            store.incident(&id).await.unwrap().unwrap().acknowledged_at,
            None
        );

        // Signed (beside a stale signature, as during a secret rotation).
        let signature = format!(
            "{},{}",
            pagerduty_signature("the-old-secret", &acknowledged),
            pagerduty_signature(PAGERDUTY_SECRET, &acknowledged)
        );
        let (status, answer) = post_pagerduty(&hooks, &acknowledged, Some(&signature)).await;
        assert_eq!(status, 200, "[{name}] {answer}");
        assert_eq!(answer["outcome"], "acknowledged", "[{name}] {answer}");
        assert_eq!(answer["incident"], id.to_string());
        let incident = store.incident(&id).await.unwrap().unwrap();
        assert!(incident.acknowledged_at.is_some(), "[{name}]");
        assert!(
            store
                .timeline(&id)
                .await
                .unwrap()
                .iter()
                .any(|event| event.kind == EventKind::Acknowledged
                    && event.text == "Acknowledged in PagerDuty by Tenex Engineer"),
            "[{name}]"
        );
        assert_eq!(
            page_events(&hooks, &id, "acknowledge").await,
            0,
            "[{name}] not sent back"
        );
        fake.wait_for("the war room", |f| {
            f.channels().iter().any(|c| c.name.starts_with("inc-"))
        })
        .await;
        let room = fake
            .channels()
            .into_iter()
            .find(|c| c.name.starts_with("inc-"))
            .map(|c| c.id)
            .expect("a room");
        fake.wait_for("the room told, and its summary edited", |f| {
            f.messages_in(&room)
                .iter()
                .any(|m| m.text == "Acknowledged in PagerDuty by Tenex Engineer.")
                && !f.done("chat.update").is_empty()
        })
        .await;
        let (_, again) = post_pagerduty(&hooks, &acknowledged, Some(&signature)).await;
        assert_eq!(
            again["outcome"], "kept",
            "[{name}] a redelivery changes nothing"
        );

        let resolved = pagerduty_event("incident.resolved", "ev-resolve", id.as_str());
        let signature = pagerduty_signature(PAGERDUTY_SECRET, &resolved);
        let (status, answer) = post_pagerduty(&hooks, &resolved, Some(&signature)).await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (200, Some("resolved")),
            "[{name}] {answer}"
        );
        let incident = store.incident(&id).await.unwrap().unwrap();
        assert_eq!(incident.status, Status::Resolved, "[{name}]");
        assert_eq!(
            incident.summary.as_deref(),
            Some("Resolved in PagerDuty by Tenex Engineer")
        );
        assert_eq!(
            page_events(&hooks, &id, "resolve").await,
            0,
            "[{name}] not sent back"
        );
        assert_eq!(page_events(&hooks, &id, "trigger").await, 1, "[{name}]");

        // An incident PagerDuty opened by itself is an alert group, routed.
        let foreign = pagerduty_event(
            "incident.triggered",
            "ev-foreign",
            "d3640fbd41094207a1c11e58e46b1662",
        );
        let signature = pagerduty_signature(PAGERDUTY_SECRET, &foreign);
        let (_, answer) = post_pagerduty(&hooks, &foreign, Some(&signature)).await;
        assert_eq!(answer["outcome"], "declared", "[{name}] {answer}");
        let opened = incident_of(&answer);
        assert_eq!(
            store.incident(&opened).await.unwrap().unwrap().title,
            "A little bump in the road"
        );
        let groups = store.alert_groups().await.unwrap();
        assert_eq!(
            (groups[0].source.as_str(), groups[0].key.as_str()),
            ("pagerduty", "PGR0VU2")
        );

        // What warroom does not follow is answered and ignored; a broken body is a 400.
        let other = pagerduty_event("incident.priority_updated", "ev-other", id.as_str());
        let (_, answer) = post_pagerduty(
            &hooks,
            &other,
            Some(&pagerduty_signature(PAGERDUTY_SECRET, &other)),
        )
        .await;
        assert_eq!(answer["outcome"], "ignored", "[{name}]");
        let broken = r#"{"event":{"id":"x","event_type":"incident.resolved"}}"#;
        let (status, answer) = post_pagerduty(
            &hooks,
            broken,
            Some(&pagerduty_signature(PAGERDUTY_SECRET, broken)),
        )
        .await;
        assert_eq!(status, 400, "[{name}] {answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("event.data: missing")),
            "[{name}] {answer}"
        );
        hooks.stop().await;
    }
}
