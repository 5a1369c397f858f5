//! `/incident run <runbook>` end to end on every available backend: the engine
//! records the runbook run and its steps, the action worker runs the programs
//! in `tests/fixtures/actions` one step after another, fallbacks and
//! `continue_on_failure` decide what follows a failure, and the recovery report
//! reaches the war room.

use crate::common::harness::{
    API_TOKEN, FIXTURES, Harness, HarnessBuilder, api_incident, serve, sev1_team, start,
};
use crate::common::{Backend, test_backends};
use std::path::{Path, PathBuf};
use std::time::Duration;
use warroom::clock::{Clock, TokioClock};
use warroom::command::ButtonAction;
use warroom::domain::{EventKind, IncidentId, RunId, RunStatus, UserId};

fn config() -> String {
    let dir = FIXTURES;
    let actions = format!(
        r#"
[actions.note]
kind = "program"
description = "Note a word in a log"
program = "{dir}/note.sh"
args = ["{{log}}", "{{word}}"]
params = {{ log = {{ required = true, description = "the log file" }}, word = {{ required = true, description = "what to note" }} }}
allowed_roles = ["commander", "technical"]

[actions.rescue]
kind = "program"
description = "Note that the rescue ran"
program = "{dir}/note.sh"
args = ["{{log}}", "rescue"]
params = {{ log = {{ required = true, description = "the log file" }} }}

[actions.broken]
kind = "program"
description = "Always fails"
program = "{dir}/fail.sh"

[actions.pause]
kind = "program"
description = "Takes a while"
program = "{dir}/pause.sh"
args = ["{{log}}"]
params = {{ log = {{ required = true, description = "the log file" }} }}

[actions.failover]
kind = "program"
description = "Needs the commander's approval"
program = "{dir}/note.sh"
args = ["{{log}}", "failover"]
params = {{ log = {{ required = true, description = "the log file" }} }}
approval = "commander"

[actions.block]
kind = "program"
description = "Runs until killed"
program = "{dir}/block.sh"
timeout = "20s"

[actions.once]
kind = "program"
description = "Blocks the first time, succeeds when run again"
program = "{dir}/once.sh"
args = ["{{marker}}"]
params = {{ marker = {{ required = true, description = "a marker file" }} }}
timeout = "20s"
rerun_on_restart = true

[actions.commanders-only]
kind = "program"
description = "Only the commander runs it"
program = "{dir}/ok.sh"
allowed_roles = ["commander"]

[runbooks.recover]
description = "Four steps, the first rescued by its fallback"
steps = ["broken", {{ action = "note", params = {{ word = "two" }} }}, "pause", {{ action = "note", params = {{ word = "four" }} }}]
on_failure = {{ broken = "rescue" }}

[runbooks.halt]
description = "Stops at its failing second step"
steps = [{{ action = "note", params = {{ word = "one" }} }}, "broken", {{ action = "note", params = {{ word = "three" }} }}, {{ action = "note", params = {{ word = "four" }} }}]

[runbooks.press-on]
description = "Goes past its failing second step"
steps = [{{ action = "note", params = {{ word = "one" }} }}, {{ action = "broken", continue_on_failure = true }}, {{ action = "note", params = {{ word = "three" }} }}]

[status_page]
title = "Example Status"
components = ["checkout-api"]

[actions.degrade]
kind = "status"
description = "Mark the API degraded on the status page"
component = "checkout-api"
state = "degraded"

[runbooks.announce]
description = "A program step, then a status page step"
steps = [{{ action = "note", params = {{ word = "one" }} }}, "degrade"]

[runbooks.guarded]
description = "Its second step needs approval"
steps = [{{ action = "note", params = {{ word = "one" }} }}, "failover"]

[runbooks.stuck]
description = "Its first step runs until killed"
steps = ["block", {{ action = "note", params = {{ word = "two" }} }}]

[runbooks.resumable]
description = "Its first step may run twice"
steps = ["once", {{ action = "note", params = {{ word = "two" }} }}]

[runbooks.restricted]
description = "Has a step only the commander may run"
steps = [{{ action = "note", params = {{ word = "one" }} }}, "commanders-only"]
"#
    );
    sev1_team() + &actions
}

async fn harness(backend: &Backend) -> Harness {
    builder().build(backend).await
}

fn builder() -> HarnessBuilder {
    Harness::builder(config()).quick_runner()
}

impl<C: Clock + Clone> Harness<C> {
    async fn runbook_statuses(&self, id: &IncidentId) -> Vec<String> {
        self.store
            .runbook_runs_of(id)
            .await
            .unwrap()
            .iter()
            .map(|run| run.status.to_string())
            .collect()
    }
}

/// The words the steps noted, in order; empty if no step wrote the log.
fn noted(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The report's table row of step `number`, split into its cells.
fn report_row(text: &str, number: usize) -> Vec<String> {
    let table = text
        .rsplit("Recovery report")
        .next()
        .expect("a recovery report");
    let line = table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(&number.to_string()))
        .unwrap_or_else(|| panic!("no row for step {number}: {text}"));
    line.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Seconds in a duration cell like `0.3s`.
fn seconds(cell: &str) -> f64 {
    cell.strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("`{cell}` is not a duration in seconds"))
}

#[tokio::test]
async fn a_failed_step_rescued_by_its_fallback_lets_the_rest_run_in_order() {
    for db in test_backends().await {
        // Durations are measured: this harness reads the real time.
        let h = builder()
            .clock(TokioClock::starting_at(start()))
            .build(&db)
            .await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let reply = h
            .run("UBOB", &room, &format!("run recover log={}", log.display()))
            .await;
        assert_eq!(
            reply.text(),
            "Runbook `recover` started: step 1 is run #1.",
            "{}",
            db.name
        );
        let ran = h.work_until_idle().await;
        assert_eq!(ran, 5, "{}: four steps and one fallback", db.name);
        assert_eq!(
            noted(&log),
            ["rescue", "two", "paused", "four"],
            "{}",
            db.name
        );
        let runs = h.runs(&id).await;
        let order: Vec<(usize, bool, &str, RunStatus)> = runs
            .iter()
            .map(|run| {
                let step = run.step.expect("every run is a step");
                (step.index, step.fallback, run.action.as_str(), run.status)
            })
            .collect();
        assert_eq!(
            order,
            [
                (0, false, "broken", RunStatus::Failed),
                (1, false, "note", RunStatus::Succeeded),
                (2, false, "pause", RunStatus::Succeeded),
                (3, false, "note", RunStatus::Succeeded),
                (0, true, "rescue", RunStatus::Succeeded),
            ],
            "{}",
            db.name
        );
        let finished = |n: usize| runs[n].finished_at.unwrap();
        let started = |n: usize| runs[n].started_at.unwrap();
        // Run numbers: 1–4 the steps, 5 the fallback of step 1.
        for (before, after) in [(0, 4), (4, 1), (1, 2), (2, 3)] {
            assert!(
                finished(before) <= started(after),
                "{}: run #{} ends before run #{} starts: {runs:?}",
                db.name,
                before + 1,
                after + 1
            );
        }

        let text = h.room_text(&room);
        assert!(
            text.contains("Recovery report: runbook recover (#1) recovered with 1 fallback."),
            "{}: {text}",
            db.name
        );
        let first = report_row(&text, 1);
        assert_eq!(first[1..3], ["broken", "failed"], "{}: {text}", db.name);
        assert!(
            first[4].starts_with("rescue → succeeded ("),
            "{}: {first:?}",
            db.name
        );
        for (number, action) in [(2, "note"), (3, "pause"), (4, "note")] {
            let row = report_row(&text, number);
            assert_eq!(row[1..3], [action, "succeeded"], "{}: {text}", db.name);
            assert_eq!(row[4], "—", "{}: no fallback for step {number}", db.name);
        }
        assert!(
            seconds(&report_row(&text, 3)[3]) >= 0.3,
            "{}: the pause took at least 0.3 s: {text}",
            db.name
        );

        let timeline = h.timeline(&id).await;
        let count = |kind: EventKind| timeline.iter().filter(|(k, _)| *k == kind).count();
        assert_eq!(count(EventKind::RunbookStarted), 1, "{timeline:?}");
        assert_eq!(count(EventKind::RunbookFinished), 1, "{timeline:?}");
        assert_eq!(count(EventKind::ActionRequested), 5, "{timeline:?}");
        assert_eq!(count(EventKind::ActionFinished), 5, "{timeline:?}");
        assert_eq!(h.runbook_statuses(&id).await, ["succeeded"]);
    }
}

#[tokio::test]
async fn a_failure_without_fallback_stops_the_runbook_and_skips_the_rest() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        h.run("UBOB", &room, &format!("run halt log={}", log.display()))
            .await;
        assert_eq!(h.work_until_idle().await, 2, "{}", db.name);
        assert_eq!(noted(&log), ["one"], "{}: steps 3 and 4 never ran", db.name);
        assert_eq!(
            h.named_statuses(&id).await,
            [
                ("note".to_owned(), RunStatus::Succeeded),
                ("broken".to_owned(), RunStatus::Failed),
                ("note".to_owned(), RunStatus::Skipped),
                ("note".to_owned(), RunStatus::Skipped),
            ],
            "{}",
            db.name
        );
        let text = h.room_text(&room);
        assert!(
            text.contains("runbook halt (#1) failed at step 2; steps 3–4 skipped."),
            "{}: {text}",
            db.name
        );
        assert_eq!(report_row(&text, 3)[2], "skipped", "{}: {text}", db.name);
        assert_eq!(report_row(&text, 4)[3], "—", "{}: never ran", db.name);
        assert_eq!(h.runbook_statuses(&id).await, ["failed"]);
    }
}

#[tokio::test]
async fn a_step_that_may_fail_lets_the_later_steps_run() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        h.run(
            "UBOB",
            &room,
            &format!("run press-on log={}", log.display()),
        )
        .await;
        assert_eq!(h.work_until_idle().await, 3, "{}", db.name);
        assert_eq!(noted(&log), ["one", "three"], "{}", db.name);
        let text = h.room_text(&room);
        assert!(
            text.contains("runbook press-on (#1) completed; step 2 failed."),
            "{}: {text}",
            db.name
        );
        assert_eq!(report_row(&text, 2)[2], "failed", "{}: {text}", db.name);
        assert_eq!(h.runbook_statuses(&id).await, ["failed"]);
    }
}

#[tokio::test]
async fn a_runbook_needing_approval_waits_for_the_commander_and_starts_once() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let reply = h
            .run("UBOB", &room, &format!("run guarded log={}", log.display()))
            .await;
        assert_eq!(
            reply.text(),
            "Runbook `guarded` is waiting for approval (run #1)."
        );
        assert_eq!(
            h.work_until_idle().await,
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
        assert_eq!(h.work_until_idle().await, 0, "{}", db.name);

        let reply = h
            .click(
                "UALICE",
                ButtonAction::Approve(RunId::new(1)),
                &id,
                "click-2",
            )
            .await;
        assert_eq!(
            reply.text(),
            "Runbook `guarded` approved; run #1 is queued."
        );
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
        assert_eq!(h.work_until_idle().await, 2, "{}", db.name);
        assert_eq!(
            noted(&log),
            ["one", "failover"],
            "{}: each step once",
            db.name
        );
        let runs = h.runs(&id).await;
        assert!(
            runs.iter().all(|run| run.attempts == 1),
            "{}: {runs:?}",
            db.name
        );
        let text = h.room_text(&room);
        assert!(
            text.contains("runbook guarded (#1) recovered: every step succeeded."),
            "{}: {text}",
            db.name
        );
        let runbooks = h.store.runbook_runs_of(&id).await.unwrap();
        assert_eq!(runbooks[0].approved_by, Some(UserId::new("UALICE")));
    }
}

#[tokio::test]
async fn a_denied_runbook_ends_and_no_step_runs() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        h.run("UBOB", &room, &format!("run guarded log={}", log.display()))
            .await;
        let reply = h
            .click("UALICE", ButtonAction::Deny(RunId::new(1)), &id, "deny-1")
            .await;
        assert_eq!(reply.text(), "Runbook `guarded` cancelled.");
        assert_eq!(h.work_until_idle().await, 0, "{}", db.name);
        assert!(!log.exists(), "{}: no step ran", db.name);
        assert_eq!(
            h.named_statuses(&id).await,
            [
                ("note".to_owned(), RunStatus::Cancelled),
                ("failover".to_owned(), RunStatus::Skipped),
            ]
        );
        let text = h.room_text(&room);
        assert!(
            text.contains("runbook guarded (#1) cancelled at step 1; step 2 skipped."),
            "{}: {text}",
            db.name
        );
        let late = h
            .click("UALICE", ButtonAction::Approve(RunId::new(1)), &id, "late")
            .await;
        assert!(
            late.text().contains("not waiting for approval"),
            "{}",
            late.text()
        );
        assert_eq!(h.runbook_statuses(&id).await, ["cancelled"]);
    }
}

#[tokio::test]
async fn a_step_not_allowed_and_missing_params_are_refused_naming_them() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let reply = h.run("UBOB", &room, "run restricted log=/tmp/x").await;
        assert_eq!(
            reply.text(),
            format!(
                "Runbook `restricted` was not started: in {id}, you may not run \
                 `commanders-only` (incident commander only)."
            )
        );
        let reply = h.run("UBOB", &room, "run recover color=red").await;
        let text = reply.text();
        assert!(
            text.starts_with(
                "Runbook `recover` was not started (the fallback of step 1 `rescue`: missing: log; \
                 step 2 `note`: missing: log;"
            ),
            "{text}"
        );
        assert!(text.contains("unknown: color"), "{text}");
        assert!(
            text.ends_with("It takes: log=… (the log file)."),
            "{text}: `word` is fixed by every step that takes it"
        );
        assert!(h.runs(&id).await.is_empty(), "{}", db.name);
        assert!(h.runbook_statuses(&id).await.is_empty(), "{}", db.name);
    }
}

#[tokio::test]
async fn a_drill_shows_each_step_and_runs_nothing() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 failover practice --drill").await;
        let reply = h.run("UBOB", &room, "run recover log=/srv/log").await;
        assert_eq!(
            reply.text(),
            "Drill: runbook `recover` was not run; the room shows what each step would execute."
        );
        assert_eq!(h.work_until_idle().await, 0, "{}", db.name);
        assert!(h.runs(&id).await.is_empty(), "{}", db.name);
        assert!(h.runbook_statuses(&id).await.is_empty(), "{}", db.name);
        let text = h.room_text(&room);
        for line in [
            format!("1. broken: {FIXTURES}/fail.sh"),
            format!(
                "if step 1 fails, its fallback rescue: {FIXTURES}/note.sh \"/srv/log\" \"rescue\""
            ),
            format!("2. note: {FIXTURES}/note.sh \"/srv/log\" \"two\""),
            format!("3. pause: {FIXTURES}/pause.sh \"/srv/log\""),
            format!("4. note: {FIXTURES}/note.sh \"/srv/log\" \"four\""),
        ] {
            assert!(text.contains(&line), "{}: `{line}` in {text}", db.name);
        }
    }
}

#[tokio::test]
async fn cancelling_a_running_step_stops_it_and_starts_no_later_step() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        h.run("UBOB", &room, &format!("run stuck log={}", log.display()))
            .await;
        let worker = h.worker.clone();
        let pass = tokio::spawn(async move { worker.run_due().await });
        wait_until_running(&h, &id).await;
        let reply = h.run("UBOB", &room, "cancel 2").await;
        assert_eq!(
            reply.text(),
            "Runbook `stuck` is being cancelled: run #1 is being stopped."
        );
        assert_eq!(pass.await.unwrap().unwrap(), 1, "{}", db.name);
        assert_eq!(h.work_until_idle().await, 0, "{}: no later step", db.name);
        assert!(!log.exists(), "{}", db.name);
        assert_eq!(
            h.named_statuses(&id).await,
            [
                ("block".to_owned(), RunStatus::Cancelled),
                ("note".to_owned(), RunStatus::Skipped),
            ],
            "{}",
            db.name
        );
        let text = h.room_text(&room);
        assert!(
            text.contains("runbook stuck (#1) cancelled at step 1; step 2 skipped."),
            "{}: {text}",
            db.name
        );
    }
}

/// Waits (at most ten seconds) until the incident's first run is running.
async fn wait_until_running(h: &Harness, id: &IncidentId) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while h.runs(id).await.first().map(|run| run.status) != Some(RunStatus::Running) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the first step starts running");
}

/// Starts runbook `name` with `params`, lets a worker start its first step
/// (and, with `started`, waits for its program to make that file), and drops
/// the worker while the step holds its lease; then (after Bob's `commands`, if
/// any) reopens the bot on the same database with the clock past that lease.
async fn restart_mid_step(
    db: &Backend,
    name: &str,
    params: &str,
    started: Option<&Path>,
    commands: &[&str],
) -> (Harness, IncidentId, String) {
    let h = harness(db).await;
    let (id, room) = h.declare("sev1 checkout is down").await;
    h.run("UBOB", &room, &format!("run {name} {params}")).await;
    let worker = h.worker.clone();
    let pass = tokio::spawn(async move { worker.run_due().await });
    wait_until_running(&h, &id).await;
    if let Some(file) = started {
        // The program starts a moment after its run is marked running.
        tokio::time::timeout(Duration::from_secs(10), async {
            while !file.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the first step's program starts");
    }
    pass.abort();
    assert!(pass.await.unwrap_err().is_cancelled());
    for command in commands {
        h.run("UBOB", &room, command).await;
    }
    let clock = h.clock.clone();
    let stopped = h.shut_down().await;
    clock.advance(Duration::from_secs(3600));
    let h = stopped.build(db).await;
    (h, id, room)
}

#[tokio::test]
async fn a_restart_mid_step_ends_the_runbook_as_interrupted_once() {
    for db in test_backends().await {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let params = format!("log={}", log.display());
        let (h, id, room) = restart_mid_step(&db, "stuck", &params, None, &[]).await;
        assert_eq!(
            h.work_until_idle().await,
            0,
            "{}: nothing runs again",
            db.name
        );
        assert_eq!(h.work_until_idle().await, 0, "{}", db.name);
        assert!(!log.exists(), "{}: step 2 never ran", db.name);
        assert_eq!(
            h.named_statuses(&id).await,
            [
                ("block".to_owned(), RunStatus::Interrupted),
                ("note".to_owned(), RunStatus::Skipped),
            ],
            "{}",
            db.name
        );
        let text = h.room_text(&room);
        assert_eq!(
            text.matches("Recovery report").count(),
            1,
            "{}: {text}",
            db.name
        );
        assert!(
            text.contains("runbook stuck (#1) interrupted by a restart at step 1; step 2 skipped."),
            "{}: {text}",
            db.name
        );
        assert_eq!(h.runbook_statuses(&id).await, ["interrupted"]);
    }
}

#[tokio::test]
async fn a_restart_mid_step_of_a_rerun_on_restart_action_runs_it_again_and_goes_on() {
    for db in test_backends().await {
        let dir = tempfile::tempdir().unwrap();
        let marker: PathBuf = dir.path().join("marker");
        let log = dir.path().join("log");
        let params = format!("marker={} log={}", marker.display(), log.display());
        let (h, id, room) = restart_mid_step(&db, "resumable", &params, Some(&marker), &[]).await;
        assert_eq!(
            h.work_until_idle().await,
            2,
            "{}: step 1 again, then step 2",
            db.name
        );
        assert_eq!(noted(&log), ["two"], "{}", db.name);
        let runs = h.runs(&id).await;
        assert_eq!(runs[0].attempts, 2, "{}", db.name);
        let text = h.room_text(&room);
        assert!(
            text.contains("Run #1 (once) interrupted: interrupted by a restart; running it again"),
            "{}: {text}",
            db.name
        );
        assert_eq!(text.matches("Recovery report").count(), 1, "{}", db.name);
        assert!(
            text.contains("runbook resumable (#1) recovered: every step succeeded."),
            "{}: {text}",
            db.name
        );
        assert_eq!(h.runbook_statuses(&id).await, ["succeeded"]);
    }
}

#[tokio::test]
async fn a_runbook_cancelled_before_a_restart_does_not_run_its_step_again() {
    for db in test_backends().await {
        let dir = tempfile::tempdir().unwrap();
        let marker: PathBuf = dir.path().join("marker");
        let log = dir.path().join("log");
        let params = format!("marker={} log={}", marker.display(), log.display());
        let (h, id, room) =
            restart_mid_step(&db, "resumable", &params, Some(&marker), &["cancel 1"]).await;
        assert_eq!(h.work_until_idle().await, 0, "{}: nothing runs", db.name);
        assert!(!log.exists(), "{}", db.name);
        let runs = h.runs(&id).await;
        assert_eq!(runs[0].attempts, 1, "{}: {runs:?}", db.name);
        assert_eq!(
            h.named_statuses(&id).await,
            [
                ("once".to_owned(), RunStatus::Cancelled),
                ("note".to_owned(), RunStatus::Skipped),
            ],
            "{}",
            db.name
        );
        let text = h.room_text(&room);
        assert_eq!(text.matches("Recovery report").count(), 1, "{}", db.name);
        assert!(
            text.contains("runbook resumable (#1) cancelled at step 1; step 2 skipped."),
            "{}: {text}",
            db.name
        );
        assert_eq!(h.runbook_statuses(&id).await, ["cancelled"]);
    }
}

#[tokio::test]
async fn the_api_shows_which_runbook_step_a_run_is() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        h.run("UBOB", &room, &format!("run recover log={}", log.display()))
            .await;
        h.work_until_idle().await;
        let (base, _served) = serve(h.web_state(Some(API_TOKEN))).await;
        let detail = api_incident(&base, &id).await;
        let runbook = &detail["runbook_runs"][0];
        assert_eq!(runbook["number"], 1, "{}: {detail}", db.name);
        assert_eq!(runbook["runbook"], "recover");
        assert_eq!(runbook["status"], "succeeded");
        assert_eq!(runbook["requested_by"], "UBOB");
        let fallback = &detail["action_runs"][4];
        assert_eq!(fallback["action"], "rescue", "{detail}");
        assert_eq!(fallback["runbook_run"], 1);
        assert_eq!(fallback["step"], 1);
        assert_eq!(fallback["fallback"], true);
        let third = &detail["action_runs"][2];
        assert_eq!(third["action"], "pause", "{detail}");
        assert_eq!(third["step"], 3);
        assert_eq!(third["fallback"], false);
    }
}

#[tokio::test]
async fn the_actions_list_shows_runbooks_with_their_steps() {
    let db = test_backends().await.remove(0);
    let h = harness(&db).await;
    let (_, room) = h.declare("sev1 checkout is down").await;
    let text = h.run("UBOB", &room, "actions").await.text();
    assert!(
        text.contains(
            "recover — Four steps, the first rescued by its fallback. Steps: \
             1. broken (on failure: rescue), 2. note, 3. pause, 4. note"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_status_step_runs_in_its_turn_like_any_other() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        h.run(
            "UBOB",
            &room,
            &format!("run announce log={}", log.display()),
        )
        .await;
        h.work_until_idle().await;
        assert_eq!(noted(&log), ["one"], "{}", db.name);
        assert_eq!(
            h.named_statuses(&id).await,
            [
                ("note".to_owned(), RunStatus::Succeeded),
                ("degrade".to_owned(), RunStatus::Succeeded),
            ],
            "{}",
            db.name
        );
        let text = h.room_text(&room);
        assert!(
            text.contains("checkout-api → degraded"),
            "{}: {text}",
            db.name
        );
        assert_eq!(h.runbook_statuses(&id).await, ["succeeded"], "{}", db.name);
    }
}

#[tokio::test]
async fn an_expired_approval_ends_the_runbook_and_no_step_runs() {
    for db in test_backends().await {
        let h = harness(&db).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        h.run("UBOB", &room, &format!("run guarded log={}", log.display()))
            .await;
        h.clock.advance(Duration::from_secs(29 * 60));
        assert_eq!(h.work_until_idle().await, 0, "{}", db.name);
        assert_eq!(
            h.runbook_statuses(&id).await,
            ["awaiting_approval"],
            "{}",
            db.name
        );
        h.clock.advance(Duration::from_secs(60));
        assert_eq!(h.work_until_idle().await, 0, "{}", db.name);
        assert!(!log.exists(), "{}: no step ran", db.name);
        assert_eq!(
            h.named_statuses(&id).await,
            [
                ("note".to_owned(), RunStatus::Cancelled),
                ("failover".to_owned(), RunStatus::Skipped),
            ],
            "{}",
            db.name
        );
        let text = h.room_text(&room);
        assert!(
            text.contains("approval expired after 30m"),
            "{}: {text}",
            db.name
        );
        assert!(
            text.contains("runbook guarded (#1) cancelled at step 1; step 2 skipped."),
            "{}: {text}",
            db.name
        );
        assert_eq!(h.runbook_statuses(&id).await, ["cancelled"], "{}", db.name);
    }
}

/// Each step is queued in the transaction that ends the one before it; that
/// commit wakes the action worker, which starts the step at once. The worker
/// here would otherwise look only once an hour, and the four steps and the
/// fallback must all run well within the minute the test allows.
#[tokio::test]
async fn a_step_queued_as_the_last_one_ends_starts_without_waiting_for_a_poll() {
    for db in test_backends().await {
        let h = builder()
            .clock(TokioClock::starting_at(start()))
            .action_worker_polling_every(Duration::from_secs(3600))
            .build(&db)
            .await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        h.run("UBOB", &room, &format!("run recover log={}", log.display()))
            .await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (stop_delivery, delivery_stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = tokio::spawn(h.worker.clone().run(async {
            let _ = stopped.await;
        }));
        let dispatcher = tokio::spawn(h.dispatcher.clone().run(async {
            let _ = delivery_stopped.await;
        }));

        let reported = h.platform.wait_until(|platform| {
            platform
                .texts_in(&room)
                .iter()
                .any(|text| text.contains("Recovery report"))
        });
        tokio::time::timeout(Duration::from_secs(60), reported)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{}: the runbook did not finish within a minute; ran: {:?}",
                    db.name,
                    noted(&log)
                )
            });
        assert_eq!(
            noted(&log),
            ["rescue", "two", "paused", "four"],
            "{}",
            db.name
        );
        assert_eq!(h.runbook_statuses(&id).await, ["succeeded"], "{}", db.name);
        let _ = (stop.send(()), stop_delivery.send(()));
        worker.await.expect("the worker stops");
        dispatcher.await.expect("the dispatcher stops");
    }
}
