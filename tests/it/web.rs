//! The HTTP face over real HTTP: the status page, the incident page and the Atom
//! feed; the JSON API and its token; `/metrics`; security headers.
//!
//! Incidents are seeded through the real engine, as commands, on a fresh SQLite
//! file, and on Postgres when `WARROOM_TEST_POSTGRES_URL` is set.

use crate::common;

use crate::common::app::TestApp;
use crate::common::store_reads::StoreReads;
use crate::common::{insert_incidents, test_backends};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use warroom::command::{self, Command};
use warroom::domain::{ComponentState, IncidentId, Severity, Status, Title, UserText};

const TOKEN: &str = "test-api-token-5d1f0c8e";

/// What [`seed`] declared.
struct Seeded {
    /// Open SEV1 on `api`, with a public update and an internal note.
    sev1: IncidentId,
    /// Resolved SEV2 on `auth`: identified with a cause, resolved with a summary.
    sev2: IncidentId,
    /// Open SEV3 on `Database` whose title and update try to inject markup.
    hostile: IncidentId,
    /// An open SEV1 drill on `auth`, with an update of its own.
    drill: IncidentId,
}

const SEV1_TITLE: &str = "Checkout API is down";
const SEV1_UPDATE: &str = "Card payments fail for some customers; a fix is being rolled out.";
const NOTE: &str = "internal: db-7 credentials rotated by bob";
const SEV2_TITLE: &str = "Logins are slow";
const SEV2_CAUSE: &str = "a bad cache setting slowed logins";
const SEV2_SUMMARY: &str = "Cache setting rolled back; logins are fast again.";
const HOSTILE_TITLE: &str = "<script>alert(1)</script> in titles";
const HOSTILE_UPDATE: &str = "Tom & Jerry <img src=x onerror=alert(2)> \"quoted\"";
const DRILL_TITLE: &str = "Game day: database failover";
const DRILL_UPDATE: &str = "drill-only words that must stay private";

async fn seed(app: &TestApp) -> Seeded {
    let sev1 = app
        .declare("UALICE", &format!("sev1 {SEV1_TITLE} service=api"))
        .await;
    app.run("UALICE", "C-ops", &format!("update {sev1} {SEV1_UPDATE}"))
        .await;
    app.run("UBOB", "C-ops", &format!("note {sev1} {NOTE}"))
        .await;

    let sev2 = app
        .declare("UALICE", &format!("sev2 {SEV2_TITLE} service=auth"))
        .await;
    app.run(
        "UALICE",
        "C-ops",
        &format!("status {sev2} identified {SEV2_CAUSE}"),
    )
    .await;
    app.run("UALICE", "C-ops", &format!("resolve {sev2} {SEV2_SUMMARY}"))
        .await;

    // Built directly: as Slack text, `<…>` would be read as markup before the engine saw it.
    let hostile = app
        .declare_command(
            "UALICE",
            Command::Declare(command::Declare {
                severity: Some(Severity::new("sev3")),
                title: Title::parse(HOSTILE_TITLE).unwrap(),
                services: vec!["Database".into()],
                drill: false,
                private: false,
            }),
        )
        .await;
    app.command(
        "UALICE",
        "C-ops",
        Command::PostUpdate(command::PostUpdate {
            incident: Some(hostile.clone()),
            text: UserText::parse("the update", HOSTILE_UPDATE).unwrap(),
            params: Vec::new(),
        }),
    )
    .await;

    let drill = app
        .declare(
            "UALICE",
            &format!("sev1 {DRILL_TITLE} service=auth --drill"),
        )
        .await;
    app.run("UALICE", "C-ops", &format!("update {drill} {DRILL_UPDATE}"))
        .await;
    Seeded {
        sev1,
        sev2,
        hostile,
        drill,
    }
}

/// The `<li>` of one component on the status page.
fn component(name: &str, state: ComponentState) -> String {
    format!(
        "<li><span class=\"name\">{name}</span> <span class=\"state state-{}\">{}</span></li>",
        state.as_str(),
        state.label()
    )
}

#[tokio::test]
async fn status_page_shows_component_states_and_public_updates_only() {
    for backend in test_backends().await {
        let app = TestApp::spawn(backend, None).await;
        let name = app.backend.name;
        let seeded = seed(&app).await;
        let (status, page) = app.page("/").await;
        assert_eq!(status, 200, "[{name}]");

        assert!(
            page.contains("<title>Example Status</title>"),
            "[{name}] {page}"
        );
        assert!(
            page.contains("<section class=\"overall state-major_outage\""),
            "[{name}] the open SEV1 makes the whole page a major outage: {page}"
        );
        // api ← SEV1, Database ← SEV3; auth's SEV2 is resolved and its SEV1 a drill.
        for (component_name, state) in [
            ("API", ComponentState::MajorOutage),
            ("Database", ComponentState::Degraded),
            ("Auth", ComponentState::Operational),
        ] {
            assert!(
                page.contains(&component(component_name, state)),
                "[{name}] {component_name} is {state}: {page}"
            );
        }

        let active = section(&page, "Active incidents");
        assert!(active.contains(SEV1_TITLE), "[{name}] {active}");
        assert!(active.contains(&format!("href=\"/incidents/{}\"", seeded.sev1)));
        assert!(
            active.contains(&html_escape(SEV1_UPDATE)),
            "[{name}] {active}"
        );
        assert!(active.contains("We are investigating this issue."));
        assert!(!active.contains(SEV2_TITLE), "[{name}] resolved is past");
        let past = section(&page, "Past incidents");
        assert!(past.contains(SEV2_TITLE), "[{name}] {past}");
        assert!(past.contains("Partial outage"), "[{name}] {past}");

        // User-written text is shown as text, never as markup.
        assert!(
            page.contains(&html_escape(HOSTILE_TITLE)),
            "[{name}] {page}"
        );
        assert!(
            page.contains(&html_escape(HOSTILE_UPDATE)),
            "[{name}] {page}"
        );
        assert!(
            !page.contains("<script"),
            "[{name}] no script at all: {page}"
        );
        assert!(!page.contains("<img"), "[{name}] {page}");

        // Nothing internal and nothing of the drill.
        for private in [NOTE, "db-7", DRILL_TITLE, DRILL_UPDATE, "UALICE", "UBOB"] {
            assert!(
                !page.contains(private),
                "[{name}] `{private}` leaked: {page}"
            );
        }
        assert!(
            !page.contains(seeded.drill.as_str()),
            "[{name}] drill id leaked"
        );

        // A state set explicitly (what a `status` action records) shows as set.
        let mut tx = app.store().begin().await.unwrap();
        tx.set_component_state(
            "auth",
            ComponentState::Maintenance,
            None,
            "UALICE",
            Utc::now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let (_, page) = app.page("/").await;
        assert!(
            page.contains(&component("Auth", ComponentState::Maintenance)),
            "[{name}] {page}"
        );
        assert!(page.contains(&component("API", ComponentState::MajorOutage)));

        app.stop().await;
    }
}

#[tokio::test]
async fn incident_pages_show_public_history_and_hide_drills() {
    for backend in test_backends().await {
        let app = TestApp::spawn(backend, None).await;
        let name = app.backend.name;
        let seeded = seed(&app).await;

        let (status, page) = app.page(&format!("/incidents/{}", seeded.sev2)).await;
        assert_eq!(status, 200, "[{name}]");
        for shown in [
            SEV2_TITLE,
            SEV2_CAUSE,
            SEV2_SUMMARY,
            "Identified",
            "Resolved",
            "<dd>Auth</dd>",
        ] {
            assert!(page.contains(shown), "[{name}] `{shown}` missing: {page}");
        }
        // Newest first: the resolution above the cause above the declaration.
        let order: Vec<usize> = [SEV2_SUMMARY, SEV2_CAUSE, "We are investigating this issue."]
            .iter()
            .map(|text| page.find(text).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "[{name}] {page}");

        let (_, page) = app.page(&format!("/incidents/{}", seeded.sev1)).await;
        assert!(
            page.contains(SEV1_UPDATE) && !page.contains(NOTE),
            "[{name}] {page}"
        );
        assert!(
            !page.contains("UBOB") && !page.contains("Technical"),
            "[{name}]"
        );

        let (_, page) = app.page(&format!("/incidents/{}", seeded.hostile)).await;
        assert!(!page.contains("<script") && page.contains(&html_escape(HOSTILE_TITLE)));

        for missing in [
            format!("/incidents/{}", seeded.drill),
            "/incidents/INC-20990101-001".to_string(),
            "/incidents/not-an-id".to_string(),
            "/no/such/page".to_string(),
        ] {
            let (status, page) = app.page(&missing).await;
            assert_eq!(status, 404, "[{name}] {missing}");
            assert!(page.contains("Not found"), "[{name}] {page}");
            assert!(!page.contains(DRILL_TITLE), "[{name}]");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn history_covers_ninety_days() {
    for backend in test_backends().await {
        let app = TestApp::spawn(backend, None).await;
        let name = app.backend.name;
        let now = Utc::now();
        let old = |number: u32, days: i64, title: &str| {
            let declared = now - Duration::days(days);
            let mut incident = common::incident(number, declared);
            incident.id = IncidentId::new(NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(), number);
            incident.title = title.to_string();
            incident.status = Status::Resolved;
            incident.resolved_at = Some(declared + Duration::hours(1));
            incident
        };
        insert_incidents(
            app.store(),
            &[
                old(1, 80, "Eighty days ago"),
                old(2, 100, "A hundred days ago"),
            ],
        )
        .await;
        let (_, page) = app.page("/").await;
        let past = section(&page, "Past incidents");
        assert!(past.contains("Eighty days ago"), "[{name}] {past}");
        assert!(!page.contains("A hundred days ago"), "[{name}] {page}");
        assert!(page.contains("All systems operational"), "[{name}] {page}");
        app.stop().await;
    }
}

#[tokio::test]
async fn atom_feed_is_valid_xml_with_escaped_public_updates() {
    for backend in test_backends().await {
        let app = TestApp::spawn(backend, None).await;
        let name = app.backend.name;
        let seeded = seed(&app).await;
        let response = app.get("/feed.atom").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/atom+xml; charset=utf-8"
        );
        let xml = response.text().await.unwrap();
        let document = roxmltree::Document::parse(&xml)
            .unwrap_or_else(|e| panic!("[{name}] feed is not XML ({e}): {xml}"));
        let feed = document.root_element();
        assert_eq!(feed.tag_name().name(), "feed");
        assert_eq!(
            feed.tag_name().namespace(),
            Some("http://www.w3.org/2005/Atom")
        );
        let child = |node: roxmltree::Node, tag: &str| {
            node.children()
                .find(|c| c.has_tag_name(tag))
                .and_then(|c| c.text())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(child(feed, "title"), "Example Status");
        assert!(DateTime::parse_from_rfc3339(&child(feed, "updated")).is_ok());
        let entries: Vec<(String, String, String)> = feed
            .children()
            .filter(|c| c.has_tag_name("entry"))
            .map(|entry| {
                assert!(DateTime::parse_from_rfc3339(&child(entry, "updated")).is_ok());
                (
                    child(entry, "id"),
                    child(entry, "title"),
                    child(entry, "content"),
                )
            })
            .collect();
        let contents: Vec<&str> = entries.iter().map(|(_, _, c)| c.as_str()).collect();
        assert!(contents.contains(&SEV1_UPDATE), "[{name}] {xml}");
        assert!(contents.contains(&SEV2_SUMMARY), "[{name}] {xml}");
        // Escaped on the wire, the same text once parsed.
        assert!(contents.contains(&HOSTILE_UPDATE), "[{name}] {xml}");
        assert!(
            entries
                .iter()
                .any(|(_, title, _)| title == &format!("Investigating — {HOSTILE_TITLE}")),
            "[{name}] {xml}"
        );
        assert!(!xml.contains("<script"), "[{name}] {xml}");
        let ids: std::collections::BTreeSet<&str> =
            entries.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids.len(), entries.len(), "[{name}] entry ids are unique");
        assert!(
            ids.iter()
                .all(|id| id.starts_with("https://status.example.test/incidents/")),
            "[{name}] {ids:?}"
        );
        for private in [NOTE, DRILL_TITLE, DRILL_UPDATE, seeded.drill.as_str()] {
            assert!(!xml.contains(private), "[{name}] `{private}` leaked");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let backend = test_backends().await.remove(0);
    let app = TestApp::spawn(backend, Some(TOKEN)).await;
    for path in [
        "/",
        "/incidents/INC-20990101-001",
        "/feed.atom",
        "/assets/status.css",
        "/api/incidents",
        "/metrics",
        "/healthz",
        "/nowhere",
    ] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("script-src"),
            "{path}: no script source at all"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
    // The page links its stylesheet, which the CSP's `style-src 'self'` allows.
    let (_, page) = app.page("/").await;
    assert!(page.contains("<link rel=\"stylesheet\" href=\"/assets/status.css\">"));
    assert!(page.contains("name=\"viewport\""), "readable on a phone");
    app.stop().await;
}

#[tokio::test]
async fn posted_bodies_are_refused_unread() {
    let backend = test_backends().await.remove(0);
    let app = TestApp::spawn(backend, Some(TOKEN)).await;
    // No route here takes a body, so a post (of more than the body limit, which
    // guards the routes that do read one) is refused without being read.
    let response = app
        .http
        .post(app.url("/"))
        .body(vec![b'x'; 2 * warroom::web::BODY_LIMIT])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    app.stop().await;
}

// ---------------------------------------------------------------------------------
// The JSON API

async fn api(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = app.http.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, body)
}

#[tokio::test]
async fn api_is_off_without_a_token_and_says_how_to_turn_it_on() {
    let backend = test_backends().await.remove(0);
    let app = TestApp::spawn(backend, None).await;
    for path in [
        "/api/incidents",
        "/api/incidents/INC-20990101-001",
        "/api/other",
    ] {
        for token in [None, Some(TOKEN)] {
            let (status, body) = api(&app, path, token).await;
            assert_eq!(status, 503, "{path}");
            assert_eq!(body["error"], "api_disabled", "{path}");
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains("WARROOM_API_TOKEN")
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn api_wants_the_right_bearer_token() {
    let backend = test_backends().await.remove(0);
    let app = TestApp::spawn(backend, Some(TOKEN)).await;
    for path in [
        "/api/incidents",
        "/api/incidents/INC-20990101-001",
        "/api/other",
    ] {
        for token in [None, Some("wrong"), Some(&TOKEN[..TOKEN.len() - 1])] {
            let response = match token {
                Some(token) => app.http.get(app.url(path)).bearer_auth(token),
                None => app.http.get(app.url(path)),
            }
            .send()
            .await
            .unwrap();
            assert_eq!(response.status(), 401, "{path} with {token:?}");
            assert_eq!(
                response.headers()["www-authenticate"],
                "Bearer realm=\"warroom\""
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "unauthorized");
        }
    }
    // Another scheme with the right secret is still no Bearer token.
    let response = app
        .http
        .get(app.url("/api/incidents"))
        .header("authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let (status, body) = api(&app, "/api/incidents", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, serde_json::json!({ "incidents": [], "next": null }));
    let response = app
        .http
        .get(app.url("/api/incidents"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = api(&app, "/api/incidents/INC-20990101-001", Some(TOKEN)).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, body) = api(&app, "/api/other", Some(TOKEN)).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    app.stop().await;
}

#[tokio::test]
async fn api_serves_the_postmortem_draft_as_markdown_behind_the_token() {
    for backend in test_backends().await {
        let app = TestApp::spawn(backend, Some(TOKEN)).await;
        let seeded = seed(&app).await;
        let path = format!("/api/incidents/{}/postmortem.md", seeded.sev2);
        let denied = app.http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(denied.status(), 401);

        let response = app
            .http
            .get(app.url(&path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/markdown; charset=utf-8"
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        let draft = response.text().await.unwrap();
        assert!(
            draft.starts_with(&format!("# Postmortem: {SEV2_TITLE}\n")),
            "{draft}"
        );
        assert!(
            draft.contains(&format!("## Root cause\n\n{SEV2_CAUSE}\n")),
            "{draft}"
        );
        assert!(
            draft.contains(&format!("## Resolution\n\n{SEV2_SUMMARY}\n")),
            "{draft}"
        );

        // User text cannot smuggle HTML into the draft.
        let hostile = format!("/api/incidents/{}/postmortem.md", seeded.hostile);
        let response = app
            .http
            .get(app.url(&hostile))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let draft = response.text().await.unwrap();
        assert!(
            draft.contains("&lt;script&gt;alert(1)&lt;/script&gt; in titles"),
            "{draft}"
        );
        assert!(!draft.contains("<script>"), "{draft}");

        let (status, body) = api(
            &app,
            "/api/incidents/INC-20990101-001/postmortem.md",
            Some(TOKEN),
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
        app.stop().await;
    }
}

/// The documented types of a JSON value.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Str,
    OptStr,
    Bool,
    Int,
    StrArray,
    StrMap,
    Time,
    OptTime,
    Array,
}

fn check(kind: Kind, value: &Value) -> bool {
    let time = |v: &Value| {
        v.as_str()
            .is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with('Z'))
    };
    match kind {
        Kind::Str => value.is_string(),
        Kind::OptStr => value.is_string() || value.is_null(),
        Kind::Bool => value.is_boolean(),
        Kind::Int => value.is_i64(),
        Kind::StrArray => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        Kind::StrMap => value
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string)),
        Kind::Time => time(value),
        Kind::OptTime => value.is_null() || time(value),
        Kind::Array => value.is_array(),
    }
}

/// Asserts that `object` has exactly `fields`, each of its kind.
fn assert_shape(what: &str, object: &Value, fields: &[(&str, Kind)]) {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("{what} is an object: {object}"));
    let expected: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    let mut actual: Vec<&str> = map.keys().map(String::as_str).collect();
    let mut sorted = expected.clone();
    sorted.sort();
    actual.sort();
    assert_eq!(actual, sorted, "{what} has exactly the documented fields");
    for (name, kind) in fields {
        assert!(
            check(*kind, &map[*name]),
            "{what}.{name} is {kind:?}: {}",
            map[*name]
        );
    }
}

const INCIDENT_FIELDS: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("title", Kind::Str),
    ("severity", Kind::Str),
    ("status", Kind::Str),
    ("drill", Kind::Bool),
    ("services", Kind::StrArray),
    ("roles", Kind::StrMap),
    ("platform", Kind::Str),
    ("room", Kind::OptStr),
    ("declared_by", Kind::Str),
    ("declared_at", Kind::Time),
    ("acknowledged_at", Kind::OptTime),
    ("identified_at", Kind::OptTime),
    ("mitigated_at", Kind::OptTime),
    ("resolved_at", Kind::OptTime),
    ("last_update_at", Kind::OptTime),
    ("summary", Kind::OptStr),
    ("detected_at", Kind::OptTime),
    ("url", Kind::Str),
];

#[tokio::test]
async fn api_json_follows_the_documented_schema() {
    for backend in test_backends().await {
        let app = TestApp::spawn(backend, Some(TOKEN)).await;
        let name = app.backend.name;
        let seeded = seed(&app).await;
        app.run(
            "UBOB",
            "C-ops",
            &format!(
                "followup {} Add an alert on card failures @alice due:2026-12-01",
                seeded.sev1
            ),
        )
        .await;

        let (status, list) = api(&app, "/api/incidents", Some(TOKEN)).await;
        assert_eq!(status, 200, "[{name}] {list}");
        assert_shape(
            "list",
            &list,
            &[("incidents", Kind::Array), ("next", Kind::OptStr)],
        );
        let incidents = list["incidents"].as_array().unwrap();
        let ids: Vec<&str> = incidents
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        // Declaration order, drills included.
        assert_eq!(
            ids,
            [&seeded.sev1, &seeded.sev2, &seeded.hostile, &seeded.drill].map(IncidentId::as_str),
            "[{name}]"
        );
        for incident in incidents {
            assert_shape("incident", incident, INCIDENT_FIELDS);
        }

        let (status, open) = api(&app, "/api/incidents?status=open", Some(TOKEN)).await;
        assert_eq!(status, 200);
        assert!(
            open["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["status"] != "resolved")
        );
        assert_eq!(open["incidents"].as_array().unwrap().len(), 3, "[{name}]");
        let (_, resolved) = api(&app, "/api/incidents?status=resolved", Some(TOKEN)).await;
        assert_eq!(resolved["incidents"][0]["id"], seeded.sev2.as_str());
        assert_eq!(resolved["incidents"].as_array().unwrap().len(), 1);

        let (status, detail) = api(
            &app,
            &format!("/api/incidents/{}", seeded.sev1),
            Some(TOKEN),
        )
        .await;
        assert_eq!(status, 200, "[{name}] {detail}");
        let mut fields = INCIDENT_FIELDS.to_vec();
        fields.extend([
            ("updates", Kind::Array),
            ("timeline", Kind::Array),
            ("followups", Kind::Array),
            ("action_runs", Kind::Array),
            ("runbook_runs", Kind::Array),
        ]);
        assert_shape("detail", &detail, &fields);
        assert_eq!(detail["severity"], "sev1");
        assert_eq!(detail["status"], "investigating");
        assert_eq!(detail["services"], serde_json::json!(["api"]));
        assert_eq!(detail["roles"]["commander"], "UALICE");
        assert_eq!(detail["roles"]["technical"], "UBOB");
        assert_eq!(detail["url"], format!("/api/incidents/{}", seeded.sev1));
        assert_eq!(detail["action_runs"], serde_json::json!([]));
        assert_eq!(detail["runbook_runs"], serde_json::json!([]));
        for update in detail["updates"].as_array().unwrap() {
            assert_shape(
                "update",
                update,
                &[
                    ("at", Kind::Time),
                    ("status", Kind::Str),
                    ("text", Kind::Str),
                ],
            );
        }
        assert_eq!(detail["updates"][0]["text"], SEV1_UPDATE);
        let timeline = detail["timeline"].as_array().unwrap();
        for event in timeline {
            assert_shape(
                "event",
                event,
                &[
                    ("at", Kind::Time),
                    ("kind", Kind::Str),
                    ("actor", Kind::Str),
                    ("text", Kind::Str),
                ],
            );
        }
        // The API is internal: the timeline has the note the status page hides.
        assert!(
            timeline
                .iter()
                .any(|e| e["kind"] == "note" && e["text"].as_str().unwrap().contains(NOTE))
        );
        let followups = detail["followups"].as_array().unwrap();
        assert_eq!(followups.len(), 1, "[{name}] {detail}");
        assert_shape(
            "followup",
            &followups[0],
            &[
                ("number", Kind::Int),
                ("text", Kind::Str),
                ("owner", Kind::OptStr),
                ("due", Kind::OptStr),
                ("done", Kind::Bool),
                ("created_at", Kind::Time),
            ],
        );
        assert_eq!(followups[0]["due"], "2026-12-01");

        let (_, resolved) = api(
            &app,
            &format!("/api/incidents/{}", seeded.sev2),
            Some(TOKEN),
        )
        .await;
        assert_eq!(resolved["status"], "resolved");
        assert_eq!(resolved["summary"], SEV2_SUMMARY);
        let statuses: Vec<&str> = resolved["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["identified", "resolved"], "[{name}]");
        let (_, drill) = api(
            &app,
            &format!("/api/incidents/{}", seeded.drill),
            Some(TOKEN),
        )
        .await;
        assert_eq!(drill["drill"], true);
        app.stop().await;
    }
}

#[tokio::test]
async fn api_pages_through_incidents_by_declaration_time() {
    for backend in test_backends().await {
        let app = TestApp::spawn(backend, Some(TOKEN)).await;
        let name = app.backend.name;
        let t0 = common::at(0);
        // Three incidents in the same millisecond, so a page boundary falls inside a tie.
        let declared = [0, 1, 1, 1, 2, 3, 3];
        let mut incidents: Vec<_> = declared
            .iter()
            .enumerate()
            .map(|(i, seconds)| common::incident(i as u32 + 1, t0 + Duration::seconds(*seconds)))
            .collect();
        incidents[4].status = Status::Resolved;
        incidents[4].resolved_at = Some(t0 + Duration::seconds(10));
        insert_incidents(app.store(), &incidents).await;
        let id = |n: usize| incidents[n - 1].id.to_string();

        let since = (t0 + Duration::seconds(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut path = format!("/api/incidents?since={since}&limit=2");
        let mut pages: Vec<Vec<String>> = Vec::new();
        loop {
            let (status, page) = api(&app, &path, Some(TOKEN)).await;
            assert_eq!(status, 200, "[{name}] {path}: {page}");
            pages.push(
                page["incidents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_str().unwrap().to_string())
                    .collect(),
            );
            match &page["next"] {
                Value::Null => break,
                next => {
                    assert_shape(
                        "next",
                        next,
                        &[
                            ("since", Kind::Time),
                            ("after", Kind::Str),
                            ("url", Kind::Str),
                        ],
                    );
                    path = next["url"].as_str().unwrap().to_string();
                }
            }
            assert!(pages.len() < 10, "[{name}] paging ends");
        }
        assert_eq!(
            pages,
            [vec![id(2), id(3)], vec![id(4), id(5)], vec![id(6), id(7)]],
            "[{name}] every incident since `since` once, in order"
        );

        // Filters carry over into the next page.
        let (_, open) = api(
            &app,
            &format!("/api/incidents?status=open&since={since}&limit=4"),
            Some(TOKEN),
        )
        .await;
        let open_ids: Vec<&str> = open["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(open_ids, [id(2), id(3), id(4), id(6)], "[{name}]");
        let next = open["next"]["url"].as_str().unwrap().to_string();
        assert!(next.starts_with("/api/incidents?status=open&"), "{next}");
        let (_, rest) = api(&app, &next, Some(TOKEN)).await;
        assert_eq!(rest["incidents"][0]["id"], id(7));
        assert_eq!(rest["next"], Value::Null);

        let (_, later) = api(
            &app,
            &format!(
                "/api/incidents?since={}",
                (t0 + Duration::seconds(3)).to_rfc3339_opts(SecondsFormat::Millis, true)
            ),
            Some(TOKEN),
        )
        .await;
        assert_eq!(later["incidents"].as_array().unwrap().len(), 2, "[{name}]");

        for bad in [
            "/api/incidents?since=yesterday",
            "/api/incidents?limit=0",
            "/api/incidents?limit=201",
            "/api/incidents?limit=ten",
            "/api/incidents?status=closed",
            "/api/incidents?after=INC-20261123-001",
            "/api/incidents?since=2026-11-23T09:00:00Z&after=nonsense",
        ] {
            let (status, body) = api(&app, bad, Some(TOKEN)).await;
            assert_eq!(status, 400, "[{name}] {bad}: {body}");
            assert_eq!(body["error"], "bad_request", "[{name}] {bad}");
        }
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------
// /metrics

/// One sample: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses Prometheus text exposition, failing on any line that is not a comment,
/// blank, or `name{labels} value [timestamp]`, and on samples whose family was
/// never given a valid TYPE.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let sample = Regex::new(
        r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))( -?[0-9]+)?$",
    )
    .unwrap();
    let label = Regex::new(r#"^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)"#).unwrap();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad TYPE line: {line}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "TYPE twice: {name}"
            );
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let captures = sample
            .captures(line)
            .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
        let name = captures[1].to_string();
        let mut labels = BTreeMap::new();
        let mut rest = captures.get(3).map_or("", |m| m.as_str());
        while !rest.is_empty() {
            let found = label
                .captures(rest)
                .unwrap_or_else(|| panic!("bad labels in {line:?}"));
            labels.insert(found[1].to_string(), found[2].to_string());
            rest = &rest[found[0].len()..];
        }
        let value = match &captures[4] {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            number => number.parse().expect("a number"),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix).filter(|base| {
                    types
                        .get(*base)
                        .is_some_and(|t| t == "histogram" || t == "summary")
                })
            })
            .unwrap_or(&name);
        assert!(types.contains_key(family), "sample before its TYPE: {line}");
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

fn value_of(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse_prometheus(&response.text().await.unwrap())
}

#[test]
fn the_prometheus_parser_rejects_what_is_not_exposition_text() {
    let good = "# HELP a x\n# TYPE a counter\na{k=\"v\\\"\",l=\"w\"} 1\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 3.5\nh_count 2\n";
    let samples = parse_prometheus(good);
    assert_eq!(samples.len(), 4);
    assert_eq!(samples[0].labels["k"], "v\\\"");
    for bad in [
        "a 1\n",
        "# TYPE a counter\na{k=v} 1\n",
        "# TYPE a thing\n",
        "# TYPE a gauge\na one\n",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_prometheus(bad)).is_err(),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn metrics_parse_and_move_when_commands_run() {
    for backend in test_backends().await {
        let app = TestApp::spawn(backend, None).await;
        let name = app.backend.name;
        let before = scrape(&app).await;
        let commands = |samples: &[Sample], kind: &str, outcome: &str| {
            value_of(
                samples,
                "warroom_commands_total",
                &[("kind", kind), ("outcome", outcome)],
            )
        };
        let acks = |samples: &[Sample]| {
            value_of(
                samples,
                "warroom_ack_latency_seconds_count",
                &[("severity", "sev1")],
            )
        };
        assert_eq!(
            value_of(&before, "warroom_database_up", &[]),
            1.0,
            "[{name}]"
        );
        assert_eq!(
            value_of(&before, "warroom_open_incidents", &[("severity", "sev1")]),
            0.0,
            "[{name}] every configured severity is reported, 0 when none is open"
        );

        let sev1 = app
            .declare("UALICE", "sev1 Metrics are moving service=api")
            .await;
        app.run("UALICE", "C-ops", &format!("ack {sev1}")).await;
        app.run("UALICE", "C-ops", "ack INC-20990101-001").await;
        app.declare("UALICE", "sev2 A drill does not count --drill")
            .await;

        let after = scrape(&app).await;
        assert!(commands(&after, "declare", "done") >= commands(&before, "declare", "done") + 2.0);
        assert!(commands(&after, "ack", "done") >= commands(&before, "ack", "done") + 1.0);
        assert!(commands(&after, "ack", "rejected") >= commands(&before, "ack", "rejected") + 1.0);
        assert!(
            acks(&after) >= acks(&before) + 1.0,
            "[{name}] ack latency recorded"
        );
        // These two come from this app's own database, so they are exact.
        assert_eq!(
            value_of(&after, "warroom_open_incidents", &[("severity", "sev1")]),
            1.0
        );
        assert_eq!(
            value_of(&after, "warroom_open_incidents", &[("severity", "sev2")]),
            0.0
        );
        assert!(
            value_of(&after, "warroom_outbox_depth", &[]) >= 1.0,
            "[{name}] queued posts"
        );
        assert!(
            after
                .iter()
                .any(|s| s.name == "warroom_outbox_oldest_age_seconds"),
            "[{name}]"
        );

        // No chat platform runs in this app, so each delivery attempt is a retry;
        // wait (up to a deadline, not a fixed sleep) until the dispatcher has tried.
        // Other tests in this process count deliveries too: the attempt recorded
        // in this app's own outbox (counted before it is recorded) says it was ours.
        let retried = |samples: &[Sample]| {
            value_of(
                samples,
                "warroom_deliveries_total",
                &[("platform", "slack"), ("result", "retried")],
            )
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let attempted = app
                .store()
                .outbox_of(&sev1)
                .await
                .expect("outbox")
                .iter()
                .any(|entry| entry.attempts > 0);
            if attempted && retried(&scrape(&app).await) > retried(&before) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "[{name}] no delivery attempt counted"
            );
            tokio::task::yield_now().await;
        }
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------

/// The part of `page` under the `<h2>` starting with `heading`, up to the next one.
fn section<'a>(page: &'a str, heading: &str) -> &'a str {
    let start = page
        .find(&format!("<h2>{heading}"))
        .unwrap_or_else(|| panic!("no section {heading}: {page}"));
    let rest = &page[start + 4..];
    let end = rest.find("<h2>").unwrap_or(rest.len());
    &rest[..end]
}

/// The escaping askama applies to text in HTML (numeric character references).
fn html_escape(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}
