//! Programs never outlive warroom, and nothing less than warroom's death stops
//! them. A real crash: `warroom serve` is killed with SIGKILL while an action's
//! program runs. The program must die with it, and the next warroom must
//! report the run as interrupted exactly once and not run it again.
//!
//! The incident and its queued run are written through the library into the
//! database the binary then serves, on every available backend; the binary
//! picks the run up as it would any other.

use crate::common::harness::{FIXTURES, Harness, SEV1, bot, terse_phrases};
use crate::common::served::Served;
use crate::common::store_reads::StoreReads;
use crate::common::{Backend, fresh_store, give_room, incident, insert_incidents, test_backends};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use warroom::actions::{EnvLookup, RunResult, Runner};
use warroom::config::Config;
use warroom::domain::{EventKind, IncidentId, RunStatus, UserId};
use warroom::outbox::{Destination, Operation};

/// How long the binary may take to start and pick the run up.
const STARTUP: Duration = Duration::from_secs(60);

/// How long the kernel may take to deliver the program's parent-death signal.
const DEATH: Duration = Duration::from_secs(10);

fn config(pid_file: &Path) -> String {
    let program = format!("{FIXTURES}/record_pid.sh");
    let nap = format!("{FIXTURES}/nap.sh");
    let world = format!(
        r#"
[actions.hang]
kind = "program"
description = "Records its pid, then hangs"
program = "{program}"
args = ["{}"]
timeout = "10m"

[actions.nap]
kind = "program"
description = "Runs for half a second"
program = "{nap}"
"#,
        pid_file.display()
    );
    [&bot("UTC"), SEV1, &terse_phrases(), &world].concat()
}

/// Polls `condition` every 20 ms until it holds or `limit` has passed.
async fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    condition()
}

fn pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Whether `pid` still runs; a zombie (dead, not yet reaped by whoever inherited
/// it) does not.
fn running(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may hold spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X" | "x"))
}

/// Writes an incident with a war room and one queued run of `hang`, as the
/// engine would have, and closes the database again for the binary.
async fn seed(db: &Backend, now: DateTime<Utc>) -> IncidentId {
    let store = fresh_store(db).await;
    let declared = incident(1, now);
    let id = declared.id.clone();
    insert_incidents(&store, &[declared]).await;
    give_room(&store, &id, "CROOM").await;
    let mut tx = store.begin().await.expect("begin");
    let number = tx
        .request_action_run(
            &id,
            "hang",
            &BTreeMap::new(),
            RunStatus::Queued,
            &UserId::new("UALICE"),
            now,
        )
        .await
        .expect("queue the run");
    tx.commit().await.expect("commit");
    assert_eq!(number, 1);
    store.close().await;
    id
}

#[tokio::test]
async fn kill_9_takes_the_program_along_and_the_run_is_reported_interrupted_once() {
    for db in test_backends().await {
        let dir = tempfile::tempdir().unwrap();
        let pid_file: PathBuf = dir.path().join("pids");
        let config_file = dir.path().join("warroom.toml");
        std::fs::write(&config_file, config(&pid_file)).unwrap();
        let id = seed(&db, Utc::now()).await;

        let mut served = Served::start(dir.path(), &config_file, &db.url, &[]);
        let started = wait_for(STARTUP, || !pids(&pid_file).is_empty()).await;
        assert!(
            started,
            "{}: the program never started; warroom said:\n{}",
            db.name,
            served.log()
        );
        let program = pids(&pid_file)[0];
        assert!(running(program), "{}: the program runs", db.name);

        served.kill();
        assert!(
            wait_for(DEATH, || !running(program)).await,
            "{}: program {program} outlived warroom",
            db.name
        );

        // The next warroom, an hour later: long past the run's 12-minute lease.
        let h = Harness::builder(config(&pid_file))
            .starting_at(Utc::now() + chrono::Duration::hours(1))
            .build(&db)
            .await;
        assert_eq!(h.worker.run_due().await.unwrap(), 0, "{}", db.name);
        assert_eq!(h.worker.run_due().await.unwrap(), 0, "{}", db.name);

        let store = &h.store;
        let runs = store.action_runs_of(&id).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, RunStatus::Interrupted, "{}", db.name);
        assert_eq!(runs[0].attempts, 1, "{}", db.name);
        let reports: Vec<String> = store
            .outbox_of(&id)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|row| match row.operation {
                Operation::Post {
                    to: Destination::Room,
                    message,
                    ..
                } => Some(message.plain_text()),
                _ => None,
            })
            .collect();
        assert_eq!(
            reports,
            vec!["Run #1 (hang) interrupted: interrupted by a restart; not run again".to_string()],
            "{}",
            db.name
        );
        let finished: Vec<String> = store
            .timeline(&id)
            .await
            .unwrap()
            .into_iter()
            .filter(|event| event.kind == EventKind::ActionFinished)
            .map(|event| event.text)
            .collect();
        assert_eq!(
            finished,
            vec!["run #1 (hang) interrupted: interrupted by a restart; not run again".to_string()],
            "{}",
            db.name
        );
        assert_eq!(pids(&pid_file), vec![program], "{}: run once", db.name);
        h.store.close().await;
    }
}

/// The parent-death signal follows the thread that forked a program, and tokio's
/// threads come and go. Here the run is first polled (and its program started)
/// on a thread that then ends, and finished elsewhere: the program must live on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_lives_on_when_the_thread_that_started_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_toml_str(&config(&dir.path().join("pids"))).expect("valid config");
    let action = config.action("nap").expect("configured").clone();
    let env: EnvLookup = Arc::new(|_: &str| None);
    let runner = Runner::new(env, config.actions().values());
    let (_stop, cancel) = tokio::sync::watch::channel(false);
    let mut run = Box::pin(async move { runner.run(&action, &BTreeMap::new(), cancel).await });
    let runtime = tokio::runtime::Handle::current();
    let run = std::thread::spawn(move || {
        runtime.block_on(std::future::poll_fn(|cx| {
            let first = run.as_mut().poll(cx);
            assert!(first.is_pending(), "the program runs for a while");
            Poll::Ready(())
        }));
        run
    })
    .join()
    .expect("the short-lived thread ends");
    let outcome = run.await.expect("the program starts");
    assert_eq!(outcome.result, RunResult::Succeeded, "{outcome:?}");
    assert_eq!(outcome.output, "woke up");
}
