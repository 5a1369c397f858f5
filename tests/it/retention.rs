//! Retention: the pruner deletes handled request ids, applied inbox items,
//! finished chat operations and finished reminders once they are older than
//! `[retention]` allows, a bounded batch at a time, and keeps incidents, their
//! timelines, pending work and the fired response checks the engine still reads.

use crate::common::harness::{Harness, id_in, sev1_team};
use crate::common::store_reads::StoreReads;
use crate::common::{at, test_backends};
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom::clock::{Clock, ManualClock, SharedClock};
use warroom::command::{self, Command};
use warroom::config::RetentionConfig;
use warroom::domain::{IncidentId, Platform};
use warroom::outbox::OutboxEntry;
use warroom::outbox::testing::{Failure, OperationKind};
use warroom::schedule::{Reminder, ReminderKind, ReminderOutcome};
use warroom::store::{Bookkeeping, Store};
use warroom::workers::{Pruned, Pruner, PrunerSettings};

const DAY: u64 = 24 * 60 * 60;

/// The action tests' team, keeping bookkeeping one day and finished work two.
fn config() -> String {
    sev1_team()
        + r#"
[retention]
processed_requests = "1d"
delivered_operations = "2d"
"#
}

fn parsed(h: &Harness, text: &str) -> Command {
    command::parse(text, &*h.config).unwrap_or_else(|e| panic!("`{text}` should parse: {e}"))
}

/// The request ids handled so far, without their platform prefix, sorted.
async fn request_ids(store: &Store) -> Vec<String> {
    let rows = sqlx::query("SELECT key FROM processed_requests ORDER BY key")
        .fetch_all(store.pool())
        .await
        .expect("read");
    rows.iter()
        .map(|row| {
            let key: String = row.try_get("key").expect("key");
            key.rsplit(':').next().unwrap_or_default().to_string()
        })
        .collect()
}

#[derive(PartialEq)]
enum Applied {
    Yes,
    No,
}

/// Keeps a click in the inbox, leased for a minute, and marks it applied or
/// not; its id.
async fn keep_click(h: &Harness, applied: Applied) -> i64 {
    let now = h.clock.now();
    let id = h
        .store
        .receive(
            Platform::Slack,
            "interaction",
            "{}",
            "test",
            now,
            Duration::from_secs(60),
        )
        .await
        .expect("receive");
    if applied == Applied::Yes {
        assert!(h.store.handled(id, now, None).await.expect("handled"));
    }
    id
}

async fn inbox_ids(store: &Store) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM inbox ORDER BY id")
        .fetch_all(store.pool())
        .await
        .expect("read")
}

/// An incident's outbox rows and reminders, as stored.
async fn work_of(store: &Store, id: &IncidentId) -> (Vec<OutboxEntry>, Vec<Reminder>) {
    (
        store.outbox_of(id).await.expect("read"),
        store.reminders_of(id).await.expect("read"),
    )
}

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(store.pool())
        .await
        .expect("count")
}

/// Alice declares in `#general` as platform request `request`; the new id.
async fn declare_as(h: &Harness, text: &str, request: &str) -> IncidentId {
    let reply = h
        .handle("UALICE", "CGENERAL", parsed(h, text), Some(request))
        .await;
    id_in(&reply.text())
}

#[tokio::test]
async fn old_bookkeeping_goes_and_incidents_timelines_and_pending_work_stay() {
    for db in test_backends().await {
        let h = Harness::builder(config()).build(&db).await;
        let name = db.name;

        // A: declared, its response check missed, then resolved; all delivered.
        let old = declare_as(&h, "sev1 checkout is down", "req-old").await;
        h.deliver().await;
        h.minutes(16);
        h.scheduler.run_due().await.expect("scheduler pass");
        h.deliver().await;
        h.handle(
            "UALICE",
            "CGENERAL",
            parsed(&h, &format!("resolve {old} rolled back")),
            Some("req-old-resolve"),
        )
        .await;
        h.deliver().await;

        // Two clicks kept in the inbox: one applied, one whose receiver died.
        keep_click(&h, Applied::Yes).await;
        let unapplied = keep_click(&h, Applied::No).await;

        // B: its room cannot be made for a year, so its operations stay pending.
        h.platform.fail_next(
            OperationKind::CreateRoom,
            Failure::RateLimited(Duration::from_secs(365 * DAY)),
        );
        let stuck = h.run("UALICE", "CGENERAL", "sev1 payments are down").await;
        let stuck = id_in(&stuck.text());
        h.deliver().await;

        // Three days on: C is new and delivered.
        h.clock.advance(Duration::from_secs(3 * DAY));
        let new = declare_as(&h, "sev1 search is slow", "req-new").await;
        h.deliver().await;
        let recent = keep_click(&h, Applied::Yes).await;

        let timeline_before = h.timeline(&old).await;
        let old_reminders = h.store.reminders_of(&old).await.expect("read");
        let response_fired = |r: &&Reminder| {
            r.kind == ReminderKind::Response && r.outcome == Some(ReminderOutcome::Fired)
        };
        assert!(
            old_reminders.iter().any(|r| response_fired(&r)),
            "{name}: A's response check fired: {old_reminders:?}"
        );
        assert!(
            old_reminders.iter().any(|r| r.kind == ReminderKind::Update),
            "{name}: A had update reminders: {old_reminders:?}"
        );
        let old_operations = h.store.outbox_of(&old).await.expect("read").len();
        let stuck_work = work_of(&h.store, &stuck).await;
        let stuck_operations = &stuck_work.0;
        assert!(
            !stuck_operations.is_empty()
                && stuck_operations
                    .iter()
                    .all(|op| op.delivered_at.is_none() && op.failed_at.is_none()),
            "{name}: B's operations are pending: {stuck_operations:?}"
        );
        let new_work = work_of(&h.store, &new).await;
        assert!(
            new_work.0.iter().all(|op| op.delivered_at.is_some()),
            "{name}: C's operations were delivered"
        );
        assert_eq!(
            request_ids(&h.store).await,
            ["req-new", "req-old", "req-old-resolve"],
            "{name}"
        );

        let pruned = h.pruner.prune_due().await.expect("pruner pass");
        assert_eq!(
            pruned,
            Pruned {
                processed_requests: 2,
                inbox: 1,
                operations: old_operations as u64,
                reminders: (old_reminders.len() - 1) as u64,
            },
            "{name}"
        );
        assert_eq!(request_ids(&h.store).await, ["req-new"], "{name}");
        assert_eq!(
            inbox_ids(&h.store).await,
            [unapplied, recent],
            "{name}: the old applied click went; the unapplied one stays however old"
        );
        assert!(
            h.store.outbox_of(&old).await.expect("read").is_empty(),
            "{name}: A's delivered operations went"
        );
        let kept: Vec<_> = h.store.reminders_of(&old).await.expect("read");
        assert_eq!(kept.len(), 1, "{name}: {kept:?}");
        assert!(
            response_fired(&&kept[0]),
            "{name}: A's fired response check stays: {kept:?}"
        );
        assert_eq!(
            work_of(&h.store, &stuck).await,
            stuck_work,
            "{name}: B's pending operations and reminders stay, however old"
        );
        assert_eq!(
            work_of(&h.store, &new).await,
            new_work,
            "{name}: C's operations and reminders are within the window"
        );
        for id in [&old, &stuck, &new] {
            assert!(
                h.store.incident(id).await.expect("read").is_some(),
                "{name}: {id} stays"
            );
        }
        assert_eq!(h.timeline(&old).await, timeline_before, "{name}");
        assert_eq!(
            h.pruner.prune_due().await.expect("pruner pass"),
            Pruned::default(),
            "{name}: nothing more is due"
        );
    }
}

/// `n` handled requests, `req-0` first, one a minute from `from`.
async fn handled_requests(store: &Store, n: u32, from: DateTime<Utc>) {
    for i in 0..n {
        let mut tx = store.begin().await.expect("begin");
        let now = from + chrono::Duration::minutes(i64::from(i));
        tx.claim_request(&format!("test:req-{i}"), now)
            .await
            .expect("claim");
        tx.save_reply(&format!("test:req-{i}"), "ok")
            .await
            .expect("reply");
        tx.commit().await.expect("commit");
    }
}

async fn prune(store: &Store, kind: Bookkeeping, before: DateTime<Utc>, limit: u32) -> u64 {
    store.prune(kind, before, limit).await.expect("prune")
}

#[tokio::test]
async fn one_call_deletes_at_most_its_limit_oldest_first() {
    for db in test_backends().await {
        let h = Harness::builder(config()).build(&db).await;
        let name = db.name;
        handled_requests(&h.store, 7, at(0)).await;
        let before = at(6 * 60);
        let mut left = Vec::new();
        for expected in [3, 3, 0] {
            let deleted = prune(&h.store, Bookkeeping::ProcessedRequests, before, 3).await;
            assert_eq!(deleted, expected, "{name}");
            left.push(request_ids(&h.store).await);
        }
        assert_eq!(left[0], ["req-3", "req-4", "req-5", "req-6"], "{name}");
        assert_eq!(left[1], ["req-6"], "{name}: req-6 came at the cut-off");

        // A declared and resolved incident: several delivered operations and
        // finished reminders, all older than the cut-off below.
        let (id, _) = h.declare("sev1 checkout is down").await;
        h.run("UALICE", "CGENERAL", &format!("resolve {id} fixed"))
            .await;
        h.deliver().await;
        let operations = h.store.outbox_of(&id).await.expect("read").len() as u64;
        let reminders = h.store.reminders_of(&id).await.expect("read").len() as u64;
        assert!(operations > 2 && reminders >= 2, "{name}");
        let later = h.clock.now() + chrono::Duration::minutes(1);
        let operations_pruned = prune(&h.store, Bookkeeping::FinishedOperations, later, 2).await;
        assert_eq!(operations_pruned, 2, "{name}");
        let left = h.store.outbox_of(&id).await.expect("read");
        assert_eq!(left.len() as u64, operations - 2, "{name}");
        let operations_pruned = prune(&h.store, Bookkeeping::FinishedOperations, later, 100).await;
        assert_eq!(operations_pruned, operations - 2, "{name}");
        let reminders_pruned = prune(&h.store, Bookkeeping::FinishedReminders, later, 1).await;
        assert_eq!(reminders_pruned, 1, "{name}");
        assert_eq!(
            h.store.reminders_of(&id).await.expect("read").len() as u64,
            reminders - 1,
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_loop_goes_on_while_batches_are_full_and_stops_on_shutdown() {
    for db in test_backends().await {
        let h = Harness::builder(config()).build(&db).await;
        let name = db.name;
        handled_requests(&h.store, 5, at(0)).await;
        // The pruner's clock is two days after the requests; the harness's is not moved.
        let clock = ManualClock::starting_at(at(2 * DAY as i64));
        let shared: SharedClock = Arc::new(clock);
        let pruner = Pruner::new(
            h.store.clone(),
            shared,
            RetentionConfig {
                processed_requests: Duration::from_secs(DAY),
                ..RetentionConfig::default()
            },
            PrunerSettings {
                batch: 2,
                interval: Duration::from_secs(3600),
                ..PrunerSettings::default()
            },
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(pruner.run(async move {
            let _ = stopped.await;
        }));
        // Batches of 2, 2 and 1: only going straight on after a full batch
        // empties the table before the hour-long pause.
        let patience = Instant::now() + Duration::from_secs(20);
        while count(&h.store, "processed_requests").await > 0 {
            assert!(
                Instant::now() < patience,
                "{name}: the pruner stopped before the table was empty"
            );
            tokio::task::yield_now().await;
        }
        stop.send(()).expect("the pruner is running");
        tokio::time::timeout(Duration::from_secs(20), running)
            .await
            .unwrap_or_else(|_| panic!("{name}: the pruner stops when told"))
            .expect("the pruner ended cleanly");
    }
}
