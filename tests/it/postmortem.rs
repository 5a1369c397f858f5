//! The postmortem draft end to end: a scripted incident driven through the real
//! engine on a manual clock (a recovery action run by the real action worker
//! included) renders exactly the checked-in draft, and times show in the
//! configured zone across a clock change while the store keeps UTC.
//!
//! Every test runs on a fresh SQLite file, and on Postgres when
//! `WARROOM_TEST_POSTGRES_URL` is set.

use crate::common;

use crate::common::harness::{DAVE, FIXTURES, Harness, PEOPLE, SEV1_ROLES, bot, service_phrases};
use crate::common::{Backend, insert_incidents, test_backends};
use chrono::{DateTime, TimeZone, Utc};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use warroom::actions::EnvLookup;
use warroom::config::Config;
use warroom::domain::{EventKind, IncidentId, Severity, Status, TimelineEvent};
use warroom::render::{self, PostmortemRecord};

/// The config, with times shown in `timezone`.
fn config(timezone: &str) -> String {
    let world = r#"
[[severity]]
name = "sev1"
label = "Critical"
description = "Complete outage"
respond_within = "15m"
update_every = "15m"
page = true

[[severity]]
name = "sev2"
label = "Major"
description = "Partial outage"
respond_within = "30m"

[[service]]
name = "checkout"
rto = "30m"
rpo = "5m"

[[service]]
name = "payments"
rto = "1h"
"#;
    let actions = format!(
        r#"
[actions.rollback]
kind = "program"
description = "Roll a service back"
program = "{FIXTURES}/release.sh"
args = ["{{target}}"]
env = ["RELEASE_FIFO"]
params = {{ target = {{ required = true, pattern = "[a-z-]+", description = "the service" }} }}
approval = "commander"
allowed_roles = ["commander", "technical"]

[slack]
announce_channel = "CANNOUNCE"
"#
    );
    [
        &bot(timezone),
        PEOPLE,
        DAVE,
        SEV1_ROLES,
        &service_phrases(),
        world,
        &actions,
    ]
    .concat()
}

/// How long the test waits for the action's program to start.
const PATIENCE: Duration = Duration::from_secs(15);

const GOLDEN: &str = "tests/golden/postmortem-sev1.md";

/// The FIFO the `rollback` action's program waits on until the test lets it go.
struct Release {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Release {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("release");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo {}", path.display());
        Self { path, _dir: dir }
    }
}

/// The bot with times shown in `timezone`, its clock at `start`; the action
/// runner's environment names the FIFO as `RELEASE_FIFO`.
async fn harness(backend: &Backend, timezone: &str, start: DateTime<Utc>) -> (Harness, Release) {
    let release = Release::new();
    let fifo = release.path.display().to_string();
    let env: EnvLookup = Arc::new(move |name: &str| (name == "RELEASE_FIFO").then(|| fifo.clone()));
    let h = Harness::builder(config(timezone))
        .starting_at(start)
        .env(env)
        .build(backend)
        .await;
    (h, release)
}

impl Harness {
    /// Lets the action worker run the queued `rollback`, which lasts `seconds`
    /// on the test's clock: the program starts (its start time is recorded), the
    /// clock moves on, and only then is the program let go.
    async fn run_action_for(&self, release: &Release, seconds: u64) {
        let worker = self.worker.clone();
        let pass = tokio::spawn(async move { worker.run_due().await });
        // Opening a FIFO to write without blocking succeeds only once a reader
        // has it open: the program is running.
        let deadline = std::time::Instant::now() + PATIENCE;
        let mut writer = loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&release.path)
            {
                Ok(writer) => break writer,
                Err(error) if error.raw_os_error() == Some(libc::ENXIO) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the action's program did not start"
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(error) => panic!("open {}: {error}", release.path.display()),
            }
        };
        self.clock.advance(Duration::from_secs(seconds));
        writeln!(writer, "released").expect("write to the FIFO");
        drop(writer);
        let ran = pass
            .await
            .expect("the pass ends")
            .expect("database answers");
        assert_eq!(ran, 1, "one run was queued");
    }

    async fn draft(&self, id: &IncidentId) -> String {
        let record = self
            .store
            .incident_record(id)
            .await
            .expect("read")
            .expect("found");
        render::postmortem(&PostmortemRecord::of(&record), &self.config)
    }
}

/// Compares without rewriting the expected file: a mismatch prints both texts and
/// the first differing line, so the change can be judged and the file edited by hand.
fn assert_golden(actual: &str, path: &str) {
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    if actual == expected {
        return;
    }
    let first_difference = actual
        .lines()
        .zip(expected.lines())
        .enumerate()
        .find(|(_, (a, e))| a != e)
        .map(|(n, (a, e))| format!("line {}:\n  expected: {e}\n  actual:   {a}", n + 1))
        .unwrap_or_else(|| {
            format!(
                "one is a prefix of the other ({} vs {} lines)",
                actual.lines().count(),
                expected.lines().count()
            )
        });
    panic!(
        "the draft differs from {path}; {first_difference}\n\
         ----- actual -----\n{actual}----- end -----"
    );
}

#[tokio::test]
async fn a_scripted_sev1_renders_exactly_the_golden_postmortem() {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
    for backend in test_backends().await {
        let (h, release) = harness(&backend, "UTC", start).await;
        let (id, room) = h
            .declare_by(
                "UERIN",
                "sev1 checkout is down | cards declined service=checkout service=payments",
            )
            .await;
        h.minutes(2);
        h.run("UALICE", &room, "ack").await;
        h.run("UALICE", &room, "role comms <@UCAROL|carol>").await;
        h.run("UALICE", &room, "role scribe @dave").await;
        h.minutes(5);
        h.run(
            "UCAROL",
            &room,
            "update we are looking into failed payments",
        )
        .await;
        h.minutes(8);
        h.run(
            "UBOB",
            &room,
            "status identified bad deploy of checkout-api (config *flag* | v2)",
        )
        .await;
        h.run("UBOB", &room, "run rollback target=checkout-api")
            .await;
        h.minutes(1);
        h.run("UALICE", &room, "approve 1").await;
        h.run_action_for(&release, 150).await;
        h.clock.advance(Duration::from_secs(30));
        h.run("UCAROL", &room, "update rollback in progress").await;
        h.minutes(10);
        h.run("UBOB", &room, "status monitoring").await;
        h.run("UCAROL", &room, "update error rates are back to normal")
            .await;
        h.run("UDAVE", &room, "note 14:20 rollback started").await;
        h.run(
            "UALICE",
            &room,
            "followup add a canary for checkout-api @bob due:2026-12-01",
        )
        .await;
        h.run(
            "UALICE",
            &room,
            "followup alert on card declines | by region",
        )
        .await;
        h.minutes(20);
        h.run("UALICE", &room, "resolve rolled back checkout-api to v1")
            .await;
        h.deliver().await;

        assert_golden(&h.draft(&id).await, GOLDEN);
    }
}

#[tokio::test]
async fn a_clock_change_inside_an_incident_shows_local_times_and_keeps_utc_stored() {
    // Berlin leaves summer time on 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC,
    // so 02:30 happens twice; the draft must tell them apart and count real time.
    let start = Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap();
    for backend in test_backends().await {
        let (h, _release) = harness(&backend, "Europe/Berlin", start).await;
        let (id, room) = h.declare_by("UALICE", "sev1 checkout is down").await;
        h.minutes(20);
        h.run("UALICE", &room, "status identified bad deploy").await;
        h.minutes(20);
        h.run("UBOB", &room, "status monitoring").await;
        h.minutes(20);
        h.run("UALICE", &room, "resolve rolled back").await;
        h.deliver().await;

        let stored: Vec<DateTime<Utc>> = h
            .store
            .timeline(&id)
            .await
            .expect("timeline")
            .iter()
            .map(|e| e.at)
            .collect();
        let utc = |h, m| Utc.with_ymd_and_hms(2026, 10, 25, h, m, 0).unwrap();
        assert_eq!(stored.first(), Some(&utc(0, 30)), "{stored:?}");
        assert!(stored.contains(&utc(0, 50)), "{stored:?}");
        assert!(stored.contains(&utc(1, 10)), "{stored:?}");
        assert_eq!(stored.last(), Some(&utc(1, 30)), "{stored:?}");

        let draft = h.draft(&id).await;
        for line in [
            "- **Duration:** 1h 0m (02:30 CEST – 02:30 CET)",
            "Times are in Europe/Berlin.",
            "- 02:30 CEST — **Declared** — Declared SEV1 Critical: checkout is down",
            "- 02:50 CEST — **Identified** — Status investigating → identified: bad deploy",
            "- 02:10 CET — **Mitigated** — Status identified → monitoring",
            "- 02:30 CET — **Resolved** — Resolved: rolled back",
            "| Time to mitigate | 40m |",
        ] {
            assert!(draft.contains(line), "missing `{line}` in:\n{draft}");
        }
    }
}

#[tokio::test]
async fn the_postmortem_command_shares_the_draft_as_a_file_with_a_summary_and_records_it() {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
    for backend in test_backends().await {
        let (h, _release) = harness(&backend, "UTC", start).await;
        let (id, room) = h.declare_by("UALICE", "sev1 checkout is down").await;
        h.minutes(3);
        h.run("UALICE", &room, "ack").await;
        h.minutes(7);
        h.run("UBOB", &room, "status monitoring").await;
        h.minutes(20);
        h.run("UALICE", &room, "resolve rolled back").await;
        let reply = h
            .run("UDAVE", "CGENERAL", &format!("postmortem {id}"))
            .await;
        assert_eq!(
            reply.text(),
            format!("The postmortem draft of {id} is posted in its war room.")
        );
        h.deliver().await;

        let posted = h.platform.texts_in(&room);
        let last = posted.last().expect("something was posted in the room");
        assert!(
            last.starts_with(&format!(
                "Postmortem draft · {id} · SEV1 · checkout is down\n\
                 Severity: SEV1 (Critical)\n\
                 Duration: 30m (14:00 UTC – 14:30 UTC)\n\
                 Time to acknowledge: 3m\n\
                 Time to mitigate: 10m\n\
                 Time to resolve: 30m\n"
            )),
            "{last}"
        );
        assert!(
            last.contains(&format!(
                "(https://warroom.test/api/incidents/{id}/postmortem.md)"
            )),
            "{last}"
        );
        let events = h.store.timeline(&id).await.expect("timeline");
        let posted = events.last().expect("events");
        assert_eq!(
            (posted.kind, posted.actor.as_str(), posted.text.as_str()),
            (
                EventKind::PostmortemPosted,
                "UDAVE",
                "Postmortem draft posted"
            )
        );
        let files = h.platform.files_in(&room);
        assert_eq!(files.len(), 1, "one file shared");
        let file = &files[0];
        assert_eq!(file.filename, format!("postmortem-{id}.md"));
        assert_eq!(
            file.title,
            format!("Postmortem draft · {id} · checkout is down")
        );
        assert_eq!(file.content, h.draft(&id).await, "the file is the draft");
        assert!(file.content.contains("— Postmortem draft posted\n"));
    }
}

/// One seeded incident: its number, severity, minutes before now it was declared,
/// minutes after that it was acknowledged, mitigated and resolved, whether it is a
/// drill, and how often its postmortem was posted.
type Seed = (
    u32,
    &'static str,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    bool,
    usize,
);

const DAY: i64 = 24 * 60;

const SEEDS: [Seed; 9] = [
    (1, "sev1", DAY, Some(5), Some(20), Some(60), false, 1),
    // Acknowledged after its 15m target.
    (2, "sev1", 2 * DAY, Some(20), Some(40), Some(90), false, 1),
    (3, "sev2", 3 * DAY, Some(10), Some(30), Some(120), false, 0),
    // Acknowledged after its 30m target; the postmortem posted twice counts once.
    (4, "sev2", 4 * DAY, Some(45), Some(50), Some(100), false, 2),
    // Acknowledged exactly on target: not missed.
    (5, "sev1", 5 * DAY, Some(15), None, None, false, 0),
    // Unacknowledged for 2h against a 30m target: missed.
    (6, "sev2", 120, None, None, None, false, 0),
    // Unacknowledged for 10m against a 15m target: not missed yet.
    (7, "sev1", 10, None, None, None, false, 0),
    // A drill counts for nothing.
    (8, "sev1", DAY, Some(30), Some(31), Some(32), true, 1),
    // Only in the 30-day window.
    (9, "sev1", 10 * DAY, Some(1), Some(2), Some(3), false, 0),
];

async fn seed_stats(h: &Harness, now: DateTime<Utc>) {
    let minutes = chrono::TimeDelta::minutes;
    let mut incidents = Vec::new();
    for (number, severity, ago, ack, mitigated, resolved, drill, _) in SEEDS {
        let declared = now - minutes(ago);
        let mut incident = common::incident(number, declared);
        incident.severity = Severity::new(severity);
        incident.drill = drill;
        incident.acknowledged_at = ack.map(|m| declared + minutes(m));
        incident.mitigated_at = mitigated.map(|m| declared + minutes(m));
        incident.resolved_at = resolved.map(|m| declared + minutes(m));
        if resolved.is_some() {
            incident.status = Status::Resolved;
        }
        incidents.push(incident);
    }
    insert_incidents(&h.store, &incidents).await;
    let mut tx = h.store.begin().await.expect("begin");
    for (number, _, ago, _, _, _, _, posted) in SEEDS {
        for _ in 0..posted {
            let event = TimelineEvent {
                at: now - minutes(ago) + minutes(200),
                kind: EventKind::PostmortemPosted,
                actor: "alice".into(),
                text: "Postmortem draft posted".into(),
            };
            tx.record_event(&common::incident_id(number), &event)
                .await
                .expect("record");
        }
    }
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn stats_match_hand_computed_numbers_over_each_window() {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
    for backend in test_backends().await {
        let name = backend.name;
        let (h, _release) = harness(&backend, "UTC", now).await;
        seed_stats(&h, now).await;

        // 7 days: incidents 1–7. Acknowledged: 5, 10, 15, 20, 45 → mean 19, p50 15, p90 45.
        // Mitigated: 20, 30, 40, 50 → mean 35, p50 30, p90 50. Resolved: 60, 90, 100, 120
        // → mean 92.5, p50 90, p90 120. Missed: 2, 4, 6. Postmortems: 1, 2, 4.
        let week = h.run("UDAVE", "CGENERAL", "stats 7d").await.text();
        assert_eq!(
            week,
            "Incident stats · last 7 days (drills excluded)\n\
             Incidents: 7 — SEV1 4, SEV2 3\n\
             Time to acknowledge (MTTA): mean 19m, p50 15m, p90 45m (5 incidents)\n\
             Time to mitigate: mean 35m, p50 30m, p90 50m (4 incidents)\n\
             Time to resolve (MTTR): mean 1h 32m, p50 1h 30m, p90 2h 0m (4 incidents)\n\
             Response-time targets missed: 3 of 7\n\
             Postmortems written: 3 of 7",
            "[{name}]"
        );

        // 30 days adds incident 9. Acknowledged: 1, 5, 10, 15, 20, 45 → mean 16, p50 10,
        // p90 45. Mitigated: 2, 20, 30, 40, 50 → mean 28.4, p50 30, p90 50. Resolved: 3,
        // 60, 90, 100, 120 → mean 74.6, p50 90, p90 120.
        let month = h.run("UDAVE", "CGENERAL", "stats").await.text();
        assert_eq!(
            month,
            "Incident stats · last 30 days (drills excluded)\n\
             Incidents: 8 — SEV1 5, SEV2 3\n\
             Time to acknowledge (MTTA): mean 16m, p50 10m, p90 45m (6 incidents)\n\
             Time to mitigate: mean 28m, p50 30m, p90 50m (5 incidents)\n\
             Time to resolve (MTTR): mean 1h 14m, p50 1h 30m, p90 2h 0m (5 incidents)\n\
             Response-time targets missed: 3 of 8\n\
             Postmortems written: 3 of 8",
            "[{name}]"
        );
    }
}

#[tokio::test]
async fn stats_over_an_empty_window_say_so() {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
    for backend in test_backends().await {
        let (h, _release) = harness(&backend, "UTC", now).await;
        assert_eq!(
            h.run("UDAVE", "CGENERAL", "stats 90d").await.text(),
            "No incidents were declared in the last 90 days (drills excluded)."
        );
    }
}

#[test]
fn a_draft_over_a_size_limit_leaves_out_the_middle_of_the_timeline_and_says_where_the_whole_is() {
    let config = Config::from_toml_str(&config("UTC")).expect("test config is valid");
    let declared = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
    let incident = common::incident(1, declared);
    let timeline: Vec<TimelineEvent> = (0..1_000)
        .map(|n| TimelineEvent {
            at: declared + chrono::TimeDelta::seconds(n),
            kind: EventKind::Note,
            actor: "alice".into(),
            text: format!("note {n:04} {}", "x".repeat(80)),
        })
        .collect();
    let record = PostmortemRecord {
        incident: &incident,
        timeline: &timeline,
        followups: &[],
        updates: &[],
        action_runs: &[],
    };
    let whole = render::postmortem(&record, &config);
    assert_eq!(
        render::postmortem_within(&record, &config, whole.len()),
        whole,
        "a draft within the limit is whole"
    );

    let limit = whole.len() / 2;
    let cut = render::postmortem_within(&record, &config, limit);
    assert!(
        cut.len() <= limit,
        "{} bytes over a {limit}-byte limit",
        cut.len()
    );
    let notes = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| line.contains(" — note "))
            .map(str::to_string)
            .collect()
    };
    let whole_notes = notes(&whole);
    let notice_at = cut
        .find("- _… ")
        .expect("a notice where events were left out");
    let (before, after) = (notes(&cut[..notice_at]), notes(&cut[notice_at..]));
    let left_out = 1_000 - before.len() - after.len();
    assert!(!before.is_empty() && !after.is_empty() && left_out > 0);
    // The first and the last events stay, in order, around the notice.
    assert!(
        before[..] == whole_notes[..before.len()],
        "the start is kept as it was"
    );
    assert!(
        after[..] == whole_notes[1_000 - after.len()..],
        "the end is kept as it was"
    );
    let notice = format!(
        "- _… {left_out} of 1000 timeline events are left out here to keep this file within \
         the chat platform's size limit. The whole draft is at \
         <https://warroom.test/api/incidents/{}/postmortem.md> (needs the API token)._\n",
        incident.id
    );
    assert!(
        cut[notice_at..].starts_with(&notice),
        "the notice says how many and where"
    );
    let tail = &whole[whole.find("\n## Root cause").expect("root cause")..];
    assert!(
        cut.ends_with(tail),
        "the sections after the timeline are whole"
    );
    let head = &whole[..whole.find("- 14:00 — note 0000").expect("first note")];
    assert!(
        cut.starts_with(head),
        "the sections before the timeline are whole"
    );
}

#[test]
fn a_draft_too_long_outside_its_timeline_is_still_cut_to_the_limit() {
    let config = Config::from_toml_str(&config("UTC")).expect("test config is valid");
    let declared = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
    let incident = common::incident(1, declared);
    let followups: Vec<warroom::domain::FollowUp> = (1..=2_000)
        .map(|number| warroom::domain::FollowUp {
            number,
            text: format!("follow-up {number} — ünïcode on every line"),
            owner: None,
            due: None,
            done: false,
            created_at: declared,
            issue: None,
        })
        .collect();
    let record = PostmortemRecord {
        incident: &incident,
        timeline: &[],
        followups: &followups,
        updates: &[],
        action_runs: &[],
    };
    let limit = 20_000;
    assert!(render::postmortem(&record, &config).len() > limit);
    let cut = render::postmortem_within(&record, &config, limit);
    assert!(cut.len() <= limit, "{} bytes", cut.len());
    assert!(
        cut.ends_with(&format!(
            "_… the rest of this draft is left out to keep this file within the chat platform's \
             size limit. The whole draft is at \
             <https://warroom.test/api/incidents/{}/postmortem.md> (needs the API token)._\n",
            incident.id
        )),
        "the cut says where the whole draft is"
    );
    assert!(
        !cut.contains("timeline events are left out"),
        "no timeline was cut"
    );
}
