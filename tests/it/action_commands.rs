//! `/incident run`, `approve` and `cancel` end to end on every available backend:
//! the engine queues runs in its transaction, the action worker runs the
//! programs in `tests/fixtures/actions` and the results reach the war room.

use crate::common::harness::{API_TOKEN, FIXTURES, Harness, api_incident, serve, sev1_team};
use crate::common::{Backend, test_backends};
use std::sync::Arc;
use std::time::Duration;
use warroom::actions::{EnvLookup, Runner};
use warroom::clock::Clock;
use warroom::command::{self, ButtonAction};
use warroom::domain::{EventKind, IncidentId, RunId, RunStatus, UserId};
use warroom::engine::Visibility;
use warroom::workers::{ActionWorker, ActionWorkerSettings};

/// The value of the one secret the actions' environment holds.
const ACTION_TOKEN: &str = "tok-5f3a9c71e2";

fn config() -> String {
    let dir = FIXTURES;
    let actions = format!(
        r#"
[actions.restart]
kind = "program"
description = "Restart a service"
program = "{dir}/ok.sh"
args = ["{{target}}"]
params = {{ target = {{ required = true, pattern = "[a-z-]+", description = "the service" }} }}
allowed_roles = ["commander", "technical"]

[actions.echo]
kind = "program"
description = "Echo its arguments"
program = "{dir}/args.sh"
args = ["{{text}}", "{{incident}}"]
params = {{ text = {{ required = true, description = "anything" }} }}

[actions.broken]
kind = "program"
description = "Always fails"
program = "{dir}/fail.sh"

[actions.stuck]
kind = "program"
description = "Never ends"
program = "{dir}/hang.sh"
timeout = "1s"

[actions.slow]
kind = "program"
description = "Runs until stopped"
program = "{dir}/hang.sh"
timeout = "60s"

[actions.again]
kind = "program"
description = "Safe to run twice"
program = "{dir}/ok.sh"
args = ["again"]
rerun_on_restart = true

[actions.failover]
kind = "program"
description = "Needs the commander's approval"
program = "{dir}/ok.sh"
args = ["db"]
approval = "commander"
allowed_roles = ["commander", "technical"]
"#
    );
    sev1_team() + &actions
}

/// How every test here declares its incident.
const DECLARE: &str = "sev1 checkout is down service=checkout";

async fn harness(backend: &Backend) -> Harness {
    harness_with_actions(backend, "").await
}

/// A harness whose config has `more` appended (more `[actions.NAME]`) and
/// whose environment holds [`ACTION_TOKEN`].
async fn harness_with_actions(backend: &Backend, more: &str) -> Harness {
    let env: EnvLookup =
        Arc::new(|name: &str| (name == "ACTION_TOKEN").then(|| ACTION_TOKEN.to_owned()));
    Harness::builder(format!("{}{more}", config()))
        .env(env)
        .quick_runner()
        .build(backend)
        .await
}

#[tokio::test]
async fn a_run_is_queued_run_by_the_worker_and_its_result_posted() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        let reply = h.run("UBOB", &room, "run restart target=checkout").await;
        assert_eq!(
            reply.text(),
            "Run #1 of `restart` is queued.",
            "{}",
            db.name
        );
        assert_eq!(h.work().await, 1, "{}", db.name);
        assert_eq!(h.work().await, 0, "{}: runs once", db.name);
        let text = h.room_text(&room);
        assert!(text.contains("requested run #1"), "{}: {text}", db.name);
        assert!(
            text.contains("Run #1 (restart) succeeded"),
            "{}: {text}",
            db.name
        );
        assert!(text.contains("restarted checkout"), "{}: {text}", db.name);
        assert_eq!(h.statuses(&id).await, vec![RunStatus::Succeeded]);
        let runs = h.store.action_runs_of(&id).await.unwrap();
        assert_eq!(runs[0].output.as_deref(), Some("restarted checkout"));
        assert_eq!(runs[0].output_hash.as_ref().map(String::len), Some(64));
        let kinds: Vec<EventKind> = h
            .store
            .timeline(&id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect();
        assert!(kinds.contains(&EventKind::ActionRequested), "{kinds:?}");
        assert!(kinds.contains(&EventKind::ActionFinished), "{kinds:?}");
    }
}

#[tokio::test]
async fn failures_and_timeouts_are_posted_as_such() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        h.run("UBOB", &room, "run broken").await;
        h.run("UBOB", &room, "run stuck").await;
        assert_eq!(h.work().await, 2, "{}", db.name);
        let text = h.room_text(&room);
        assert!(
            text.contains("Run #1 (broken) failed"),
            "{}: {text}",
            db.name
        );
        assert!(text.contains("disk full"), "{}: {text}", db.name);
        assert!(
            text.contains("Run #2 (stuck) timed_out"),
            "{}: {text}",
            db.name
        );
        assert_eq!(
            h.statuses(&id).await,
            vec![RunStatus::Failed, RunStatus::TimedOut]
        );
    }
}

#[tokio::test]
async fn a_role_not_allowed_and_bad_params_are_refused() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        let reply = h.run("UCAROL", &room, "run restart target=checkout").await;
        assert!(
            reply
                .text()
                .starts_with("Only the incident commander or technical lead"),
            "{}",
            reply.text()
        );
        let reply = h.run("UBOB", &room, "run restart").await;
        assert!(reply.text().contains("missing: target"), "{}", reply.text());
        assert!(
            reply.text().contains("target=… (the service)"),
            "{}",
            reply.text()
        );
        let reply = h.run("UBOB", &room, "run restart target=Check_Out").await;
        assert!(
            reply.text().contains("not accepted: target"),
            "{}",
            reply.text()
        );
        // What an action takes, in words: its params, and the incident's values it uses.
        let reply = h.run("UBOB", &room, "run echo").await;
        assert!(
            reply.text().ends_with(
                "was not run (missing: text). It takes: text=… (anything); \
                 {incident} is the incident's id."
            ),
            "{}",
            reply.text()
        );
        let reply = h.run("UBOB", &room, "run again force=yes").await;
        assert!(
            reply
                .text()
                .ends_with("was not run (unknown: force). It takes no parameters."),
            "{}",
            reply.text()
        );
        let reply = h.run("UBOB", &room, "run nothing").await;
        assert!(
            reply.text().contains("no action `nothing`"),
            "{}",
            reply.text()
        );
        assert!(h.statuses(&id).await.is_empty(), "{}", db.name);
        assert_eq!(h.work().await, 0);
    }
}

#[tokio::test]
async fn an_approval_is_needed_given_by_the_commander_and_counted_once() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        let reply = h.run("UBOB", &room, "run failover").await;
        assert_eq!(
            reply.text(),
            "Run #1 of `failover` is waiting for approval."
        );
        assert_eq!(
            h.work().await,
            0,
            "{}: nothing runs before approval",
            db.name
        );

        let reply = h
            .click("UBOB", ButtonAction::Approve(RunId::new(1)), &id, "click-1")
            .await;
        assert!(
            reply.text().starts_with("Only the incident commander"),
            "{}",
            reply.text()
        );
        assert_eq!(h.work().await, 0, "{}", db.name);

        let reply = h
            .click(
                "UALICE",
                ButtonAction::Approve(RunId::new(1)),
                &id,
                "click-2",
            )
            .await;
        assert_eq!(reply.text(), "Run #1 approved.");
        let replayed = h
            .click(
                "UALICE",
                ButtonAction::Approve(RunId::new(1)),
                &id,
                "click-2",
            )
            .await;
        assert_eq!(replayed.text(), "Run #1 approved.");
        let double = h
            .click(
                "UALICE",
                ButtonAction::Approve(RunId::new(1)),
                &id,
                "click-3",
            )
            .await;
        assert!(
            double.text().contains("not waiting for approval"),
            "{}",
            double.text()
        );

        assert_eq!(h.work().await, 1, "{}", db.name);
        assert_eq!(h.work().await, 0, "{}", db.name);
        let runs = h.store.action_runs_of(&id).await.unwrap();
        assert_eq!(runs[0].status, RunStatus::Succeeded);
        assert_eq!(runs[0].approved_by, Some(UserId::new("UALICE")));
    }
}

#[tokio::test]
async fn deny_and_cancel_stop_a_run_before_it_starts() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        h.run("UBOB", &room, "run failover").await;
        h.run("UBOB", &room, "run restart target=api").await;
        let reply = h
            .click("UALICE", ButtonAction::Deny(RunId::new(1)), &id, "deny-1")
            .await;
        assert_eq!(reply.text(), "Run #1 cancelled.");
        let reply = h.run("UCAROL", &room, "cancel 2").await;
        assert!(
            reply.text().starts_with("Only whoever requested"),
            "{}",
            reply.text()
        );
        let reply = h.run("UBOB", &room, "cancel #2").await;
        assert_eq!(reply.text(), "Run #2 cancelled.");
        assert_eq!(h.work().await, 0, "{}", db.name);
        assert_eq!(
            h.statuses(&id).await,
            vec![RunStatus::Cancelled, RunStatus::Cancelled]
        );
        let reply = h
            .click("UALICE", ButtonAction::Approve(RunId::new(1)), &id, "late")
            .await;
        assert!(
            reply.text().contains("not waiting for approval"),
            "{}",
            reply.text()
        );
    }
}

#[tokio::test]
async fn a_shell_looking_param_reaches_the_program_as_one_argument() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        let dir = tempfile::tempdir().unwrap();
        let pwned = dir.path().join("pwned");
        // Chat params are one word each; `${IFS}` is a shell's space.
        let text = format!(
            "$(touch${{IFS}}{});rm${{IFS}}-rf${{IFS}}{}",
            pwned.display(),
            dir.path().display()
        );
        h.run("UBOB", &room, &format!("run echo text={text}")).await;
        assert_eq!(h.work().await, 1);
        let runs = h.store.action_runs_of(&id).await.unwrap();
        assert_eq!(
            runs[0].output.as_deref(),
            Some(format!("2 args\n[{text}]\n[{id}]").as_str()),
            "{}",
            db.name
        );
        assert!(!pwned.exists());
        assert!(dir.path().exists());
    }
}

#[tokio::test]
async fn a_run_abandoned_by_a_stopped_worker_is_reported_interrupted_once() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        h.run("UBOB", &room, "run restart target=api").await;
        // A worker that claims the run and dies without finishing it.
        let claimed = h
            .store
            .claim_action_runs("dead-worker", h.clock_now(), Duration::from_secs(60), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(h.work().await, 0, "{}: a live lease is left alone", db.name);
        h.clock.advance(Duration::from_secs(61));
        assert_eq!(h.work().await, 0, "{}: not run again", db.name);
        assert_eq!(h.work().await, 0, "{}", db.name);
        let text = h.room_text(&room);
        assert_eq!(
            text.matches("Run #1 (restart) interrupted").count(),
            1,
            "{}: {text}",
            db.name
        );
        assert_eq!(h.statuses(&id).await, vec![RunStatus::Interrupted]);
    }
}

#[tokio::test]
async fn an_abandoned_run_of_a_rerun_on_restart_action_runs_again_once() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        h.run("UBOB", &room, "run again").await;
        h.store
            .claim_action_runs("dead-worker", h.clock_now(), Duration::from_secs(60), 10)
            .await
            .unwrap();
        h.clock.advance(Duration::from_secs(61));
        assert_eq!(h.work().await, 1, "{}: run again", db.name);
        assert_eq!(h.work().await, 0, "{}", db.name);
        let text = h.room_text(&room);
        assert!(
            text.contains("Run #1 (again) interrupted: interrupted by a restart; running it again"),
            "{}: {text}",
            db.name
        );
        assert!(
            text.contains("Run #1 (again) succeeded"),
            "{}: {text}",
            db.name
        );
        let runs = h.store.action_runs_of(&id).await.unwrap();
        assert_eq!(runs[0].status, RunStatus::Succeeded);
        assert_eq!(runs[0].attempts, 2);
    }
}

#[tokio::test]
async fn a_hundred_concurrent_requests_each_run_exactly_once_across_two_workers() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        let keys: Vec<String> = (0..100).map(|n| format!("req-{n}")).collect();
        let requests = keys.iter().map(|key| {
            let command = command::parse("run restart target=checkout", &*h.config).unwrap();
            h.handle("UBOB", &room, command, Some(key))
        });
        futures_util::future::join_all(requests).await;
        let second = ActionWorker::new(
            h.engine.clone(),
            Runner::new(Arc::new(|_: &str| None), h.config.actions().values()),
            Arc::new(h.clock.clone()),
            ActionWorkerSettings::default(),
            Arc::default(),
        );
        let mut ran = 0;
        loop {
            let (a, b) = tokio::join!(h.worker.run_due(), second.run_due());
            let passed = a.unwrap() + b.unwrap();
            if passed == 0 {
                break;
            }
            ran += passed;
        }
        h.deliver().await;
        assert_eq!(ran, 100, "{}", db.name);
        let runs = h.store.action_runs_of(&id).await.unwrap();
        assert_eq!(runs.len(), 100, "{}", db.name);
        assert!(
            runs.iter()
                .all(|run| run.status == RunStatus::Succeeded && run.attempts == 1),
            "{}",
            db.name
        );
        let text = h.room_text(&room);
        assert_eq!(text.matches(") succeeded").count(), 100, "{}", db.name);
    }
}

#[tokio::test]
async fn cancel_stops_a_running_program() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        h.run("UBOB", &room, "run slow").await;
        let started = std::time::Instant::now();
        let worker = h.worker.clone();
        let pass = tokio::spawn(async move { worker.run_due().await });
        while h.statuses(&id).await != vec![RunStatus::Running] {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let reply = h.run("UCAROL", &room, "cancel 1").await;
        assert!(
            reply.text().starts_with("Only whoever requested"),
            "{}",
            reply.text()
        );
        let reply = h.run("UALICE", &room, "cancel 1").await;
        assert_eq!(reply.text(), "Run #1 is being stopped.");
        let reply = h.run("UBOB", &room, "cancel 1").await;
        assert_eq!(reply.text(), "Run #1 is already being stopped.");
        assert_eq!(pass.await.unwrap().unwrap(), 1);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        h.deliver().await;
        assert_eq!(
            h.statuses(&id).await,
            vec![RunStatus::Cancelled],
            "{}",
            db.name
        );
        let text = h.room_text(&room);
        assert!(
            text.contains("Stopping run #1 (slow)"),
            "{}: {text}",
            db.name
        );
        assert!(
            text.contains("Run #1 (slow) cancelled: stopped on request"),
            "{}: {text}",
            db.name
        );
    }
}

#[tokio::test]
async fn the_api_shows_the_runs_of_an_incident() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare(DECLARE).await;
        h.run("UBOB", &room, "run failover").await;
        h.click(
            "UALICE",
            ButtonAction::Approve(RunId::new(1)),
            &id,
            "approve",
        )
        .await;
        h.work().await;
        let (base, _served) = serve(h.web_state(Some(API_TOKEN))).await;
        let detail = api_incident(&base, &id).await;
        let run = &detail["action_runs"][0];
        assert_eq!(run["number"], 1, "{}: {detail}", db.name);
        assert_eq!(run["action"], "failover");
        assert_eq!(run["status"], "succeeded");
        assert_eq!(run["requested_by"], "UBOB");
        assert_eq!(run["approved_by"], "UALICE");
        assert_eq!(run["params"]["incident"], id.as_str());
        assert_eq!(run["output"], "restarted db");
        assert_eq!(run["output_hash"].as_str().map(str::len), Some(64));
    }
}

#[tokio::test]
async fn a_drill_shows_what_would_run_and_runs_nothing() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let reply = h
            .run("UALICE", "CGENERAL", "sev1 failover practice --drill")
            .await;
        let text = reply.text();
        let start = text.find("INC-").expect("an incident id");
        let id: IncidentId = text[start..start + 16].parse().unwrap();
        h.deliver().await;
        let room = h
            .store
            .incident(&id)
            .await
            .unwrap()
            .and_then(|i| i.room)
            .unwrap();
        let reply = h.run("UBOB", &room, "run echo text=a;b").await;
        assert!(
            reply.text().starts_with("Drill: `echo` was not run"),
            "{}",
            reply.text()
        );
        assert_eq!(h.work().await, 0, "{}", db.name);
        assert!(h.statuses(&id).await.is_empty());
        let text = h.room_text(&room);
        let program = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/actions/args.sh"
        );
        assert!(
            text.contains(&format!("It would execute: {program} \"a;b\" \"{id}\"")),
            "{}: {text}",
            db.name
        );
    }
}

impl Harness {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// A service an http action calls: it echoes what it was sent, or fails.
async fn http_target() -> String {
    use axum::Router;
    use axum::extract::Path;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    let app = Router::new()
        .route(
            "/restart/{service}",
            post(
                |Path(service): Path<String>, headers: HeaderMap| async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("none")
                        .to_owned();
                    format!("restarting {service}, authorized by {auth}")
                },
            ),
        )
        .route(
            "/broken/{service}",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "try later") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn big_output_secrets_and_http_results_reach_the_room_capped_and_redacted() {
    let target = http_target().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/actions");
    let more = format!(
        r#"
[actions.flood]
kind = "program"
description = "Prints ten megabytes"
program = "{dir}/flood.sh"
timeout = "60s"

[actions.leak]
kind = "program"
description = "Prints the token it was given"
program = "{dir}/secret.sh"
env = ["ACTION_TOKEN"]

[actions.notify]
kind = "http"
description = "Ask the service to restart"
method = "POST"
url = "{target}/restart/{{service}}"
header_env = {{ Authorization = "ACTION_TOKEN" }}

[actions.unavailable]
kind = "http"
description = "A service that is down"
method = "POST"
url = "{target}/broken/{{service}}"
"#
    );
    for db in test_backends().await {
        let h = harness_with_actions(&db, &more).await;
        let (id, room) = h.declare(DECLARE).await;
        for run in ["run flood", "run leak", "run notify", "run unavailable"] {
            h.run("UBOB", &room, run).await;
        }
        assert_eq!(h.work().await, 4, "{}", db.name);
        let text = h.room_text(&room);
        assert!(!text.contains(ACTION_TOKEN), "{}: {text}", db.name);

        let flood = h
            .platform
            .texts_in(&room)
            .into_iter()
            .find(|t| t.contains("Run #1 (flood)"));
        let flood = flood.unwrap_or_else(|| panic!("{}: no flood result in {text}", db.name));
        assert!(
            flood.contains("Run #1 (flood) succeeded"),
            "{}: {flood}",
            db.name
        );
        assert!(flood.contains("000000000 "), "{}: first line kept", db.name);
        assert!(flood.contains("the end"), "{}: last line kept", db.name);
        assert!(
            flood.len() < 6_000,
            "{}: 10 MB of output posted as {} bytes",
            db.name,
            flood.len()
        );
        assert!(
            text.contains("Run #2 (leak) succeeded"),
            "{}: {text}",
            db.name
        );
        assert!(text.contains("token is [redacted]"), "{}: {text}", db.name);
        assert!(
            text.contains("Run #3 (notify) succeeded"),
            "{}: {text}",
            db.name
        );
        assert!(
            text.contains("restarting checkout, authorized by [redacted]"),
            "{}: {text}",
            db.name
        );
        assert!(
            text.contains("Run #4 (unavailable) failed: HTTP 503"),
            "{}: {text}",
            db.name
        );

        let runs = h.store.action_runs_of(&id).await.unwrap();
        let whole = std::process::Command::new(format!("{dir}/flood.sh"))
            .output()
            .unwrap()
            .stdout;
        assert_eq!(whole.len(), 10_000_008, "the fixture prints ten megabytes");
        let digest = ring::digest::digest(&ring::digest::SHA256, &whole);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            runs[0].output_hash.as_deref(),
            Some(hex.as_str()),
            "{}",
            db.name
        );
        assert!(
            runs.iter()
                .filter_map(|run| run.output.as_deref())
                .all(|output| !output.contains(ACTION_TOKEN)),
            "{}: the stored output is redacted too",
            db.name
        );
    }
}

#[tokio::test]
async fn summary_gives_the_state_and_what_is_still_open_in_one_message() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (_, room) = h.declare(DECLARE).await;
        let start = h.clock.now();
        let fresh = h.run("UCAROL", &room, "summary").await.text();
        for line in [
            "Severity: SEV1 (Critical)",
            "Status: investigating",
            "Incident commander: @UALICE",
            "Technical lead: @UBOB",
            "Scribe: open",
            "Last update: none yet",
            "Open runs: none",
            "Open follow-ups: none",
        ] {
            assert!(fresh.contains(line), "{}: `{line}` in {fresh}", db.name);
        }
        let first_due = (start + chrono::TimeDelta::minutes(15)).format("%H:%M UTC");
        assert!(
            fresh.contains(&format!("Next update due: by {first_due}")),
            "{}: {fresh}",
            db.name
        );

        h.run("UBOB", &room, "run failover").await;
        h.run("UBOB", &room, "run restart target=checkout").await;
        assert_eq!(h.work().await, 1, "{}: restart ran", db.name);
        h.run("UALICE", &room, "followup check replica lag due:2026-12-31")
            .await;
        h.run("UALICE", &room, "followup page the vendor").await;
        h.run("UALICE", &room, "followup done 2").await;
        h.clock.advance(std::time::Duration::from_secs(120));
        h.run("UALICE", &room, "update failing over to the replica")
            .await;
        let now = h.run("UCAROL", &room, "summary").await;
        let text = now.text();
        let updated = h.clock.now().format("%H:%M UTC");
        let next = (h.clock.now() + chrono::TimeDelta::minutes(15)).format("%H:%M UTC");
        for line in [
            format!("Last update: {updated} — failing over to the replica"),
            "Open runs: #1 failover (awaiting_approval)".to_owned(),
            "Open follow-ups: #1 check replica lag, due 2026-12-31".to_owned(),
            format!("Next update due: by {next}"),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{}: `{line}` in {text}",
                db.name
            );
        }
        assert_eq!(
            now.visibility,
            Visibility::Ephemeral,
            "only the asker sees it"
        );
    }
}
