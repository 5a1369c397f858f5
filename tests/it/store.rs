//! The store against every available backend (SQLite always, Postgres when
//! `WARROOM_TEST_POSTGRES_URL` is set): each test gets a fresh database.

use crate::common;

use crate::common::store_reads::StoreReads;
use crate::common::{at, fresh_store, incident, incident_id, insert_incidents, test_backends};
use std::collections::BTreeSet;
use std::time::Duration;
use warroom::domain::{EventKind, Platform, Role, Status, TimelineEvent, UserId};
use warroom::outbox::{Delivered, Destination, MessageRef, Operation, RoomSpec};
use warroom::render::{Block, Inline, Message};
use warroom::store::{Backend as StoreBackend, IncidentFilter, Store, StoreError};

const LEASE: Duration = Duration::from_secs(60);

fn post(text: &str) -> Operation {
    Operation::Post {
        to: Destination::Room,
        message: Message {
            blocks: vec![Block::Paragraph(vec![Inline::Text(text.into())])],
        },
        handle: None,
    }
}

fn post_text(operation: &Operation) -> String {
    match operation {
        Operation::Post { message, .. } => message.plain_text(),
        other => format!("{other:?}"),
    }
}

async fn enqueue(store: &Store, incident: Option<u32>, operations: &[Operation]) {
    let mut tx = store.begin().await.expect("begin");
    let id = incident.map(incident_id);
    for operation in operations {
        tx.enqueue(id.as_ref(), Platform::Testing, operation, at(0))
            .await
            .expect("enqueue");
    }
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn migrations_apply_twice_and_survive_a_restart() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        store.migrate().await.expect("second migrate is a no-op");
        store.ping().await.expect("ping");
        insert_incidents(&store, &[incident(1, at(0))]).await;
        store.close().await;
        drop(store);

        let store = fresh_store(&db).await;
        assert!(
            store
                .incident(&incident_id(1))
                .await
                .expect("read")
                .is_some(),
            "[{}]",
            db.name
        );
    }
}

#[tokio::test]
async fn sqlite_is_one_process_and_the_lock_goes_with_the_store() {
    let db = test_backends()
        .await
        .into_iter()
        .next()
        .expect("sqlite is always available");
    let store = fresh_store(&db).await;
    assert_eq!(store.backend(), StoreBackend::Sqlite);
    let clone = store.clone();
    drop(store);
    match Store::connect(&db.url).await {
        Err(StoreError::Locked(_)) => {}
        Err(other) => panic!("expected Locked, got {other}"),
        Ok(_) => panic!("a second store on the same file must be refused while the first lives"),
    }
    drop(clone);
    let reopened = fresh_store(&db).await;
    reopened.ping().await.expect("ping");
    drop(reopened);
}

#[tokio::test]
async fn incidents_round_trip_with_roles() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        let mut first = incident(1, at(0));
        first.drill = true;
        first.acknowledged_at = Some(at(30));
        first.roles.insert(Role::Scribe, UserId::new("dave"));
        let second = incident(2, at(60));
        insert_incidents(&store, &[first.clone(), second.clone()]).await;

        assert_eq!(
            store.incident(&first.id).await.expect("read"),
            Some(first.clone()),
            "[{}]",
            db.name
        );

        let mut tx = store.begin().await.expect("begin");
        let mut locked = tx
            .lock_incident(&first.id)
            .await
            .expect("lock")
            .expect("exists");
        assert_eq!(locked, first);
        locked.status = Status::Resolved;
        locked.resolved_at = Some(at(600));
        locked.summary = Some("rolled back the deploy".into());
        locked.room = Some("room-1".into());
        locked.services = vec![];
        locked.roles.remove(&Role::Scribe);
        locked.roles.insert(Role::Commander, UserId::new("bob"));
        locked.roles.insert(Role::Comms, UserId::new("carol"));
        tx.update_incident(&locked).await.expect("update");
        tx.commit().await.expect("commit");

        assert_eq!(
            store.incident(&first.id).await.expect("read"),
            Some(locked.clone()),
            "[{}]",
            db.name
        );
        assert_eq!(
            store
                .incident_by_room(Platform::Testing, "room-1")
                .await
                .expect("by room"),
            Some(locked.clone())
        );
        assert_eq!(
            store
                .incident_by_room(Platform::Slack, "room-1")
                .await
                .expect("by room"),
            None
        );

        let mut tx = store.begin().await.expect("begin");
        let by_room = tx
            .lock_incident_by_room(Platform::Testing, "room-1")
            .await
            .expect("lock by room");
        assert_eq!(by_room, Some(locked.clone()));
        assert_eq!(
            tx.lock_incident(&incident_id(9))
                .await
                .expect("lock missing"),
            None
        );
        drop(tx);

        let all = store
            .incidents(IncidentFilter::All, 10)
            .await
            .expect("list");
        assert_eq!(
            all,
            vec![second.clone(), locked.clone()],
            "[{}] newest first",
            db.name
        );
        let open = store
            .incidents(IncidentFilter::Open, 10)
            .await
            .expect("list");
        assert_eq!(open, vec![second.clone()]);
        let limited = store.incidents(IncidentFilter::All, 1).await.expect("list");
        assert_eq!(limited, vec![second]);
    }
}

#[tokio::test]
async fn timeline_is_ordered_by_time_then_insertion() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        let id = incident_id(1);
        insert_incidents(&store, &[incident(1, at(0))]).await;
        let event = |seconds, kind, text: &str| TimelineEvent {
            at: at(seconds),
            kind,
            actor: "alice".into(),
            text: text.into(),
        };
        let mut tx = store.begin().await.expect("begin");
        tx.record_event(&id, &event(10, EventKind::Note, "second"))
            .await
            .expect("event");
        tx.record_event(&id, &event(0, EventKind::Declared, "first"))
            .await
            .expect("event");
        tx.record_event(&id, &event(10, EventKind::StatusChanged, "third"))
            .await
            .expect("event");
        tx.commit().await.expect("commit");
        let texts: Vec<_> = store
            .timeline(&id)
            .await
            .expect("timeline")
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(texts, ["first", "second", "third"], "[{}]", db.name);
    }
}

#[tokio::test]
async fn followups_are_numbered_per_incident() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0)), incident(2, at(0))]).await;
        let (one, two) = (incident_id(1), incident_id(2));
        let due = at(0).date_naive().succ_opt();
        let bob = UserId::new("bob");
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(
            tx.add_followup(&one, "add an alert", Some(&bob), due, at(5))
                .await
                .expect("add"),
            1
        );
        assert_eq!(
            tx.add_followup(&one, "write runbook", None, None, at(6))
                .await
                .expect("add"),
            2
        );
        assert_eq!(
            tx.add_followup(&two, "other incident", None, None, at(7))
                .await
                .expect("add"),
            1
        );
        assert_eq!(
            tx.add_followup(&one, "fix retries", None, None, at(8))
                .await
                .expect("add"),
            3
        );
        assert!(tx.complete_followup(&one, 2).await.expect("complete"));
        assert!(
            !tx.complete_followup(&one, 9)
                .await
                .expect("complete missing")
        );
        tx.commit().await.expect("commit");

        let followups = store.followups(&one).await.expect("followups");
        let summary: Vec<_> = followups
            .iter()
            .map(|f| (f.number, f.text.as_str(), f.done))
            .collect();
        assert_eq!(
            summary,
            [
                (1, "add an alert", false),
                (2, "write runbook", true),
                (3, "fix retries", false)
            ],
            "[{}]",
            db.name
        );
        assert_eq!(followups[0].owner, Some(bob));
        assert_eq!(followups[0].due, due);
        assert_eq!(followups[0].created_at, at(5));
    }
}

#[tokio::test]
async fn a_replayed_request_gets_the_first_reply() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(
            tx.claim_request("slack:abc", at(0)).await.expect("claim"),
            None
        );
        tx.save_reply("slack:abc", "Declared INC-20261123-001")
            .await
            .expect("save");
        tx.commit().await.expect("commit");

        let mut tx = store.begin().await.expect("begin");
        assert_eq!(
            tx.claim_request("slack:abc", at(1)).await.expect("claim"),
            Some("Declared INC-20261123-001".into()),
            "[{}]",
            db.name
        );
        // A claim that was rolled back is forgotten: the retry is handled afresh.
        assert_eq!(
            tx.claim_request("slack:rolled-back", at(1))
                .await
                .expect("claim"),
            None
        );
        drop(tx);
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(
            tx.claim_request("slack:rolled-back", at(2))
                .await
                .expect("claim"),
            None
        );
        tx.commit().await.expect("commit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incident_numbers_are_unique_under_concurrency() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        let day = at(0).date_naive();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let store = store.clone();
            tasks.spawn(async move {
                let mut numbers = Vec::new();
                for _ in 0..4 {
                    let mut tx = store.begin().await?;
                    let number = tx.next_incident_number(day).await?;
                    tx.commit().await?;
                    numbers.push(number);
                }
                Ok::<_, StoreError>(numbers)
            });
        }
        let mut all = BTreeSet::new();
        let mut count = 0;
        while let Some(joined) = tasks.join_next().await {
            let numbers = joined
                .expect("task")
                .unwrap_or_else(|e| panic!("[{}] next number: {e}", db.name));
            count += numbers.len();
            all.extend(numbers);
        }
        assert_eq!(count, 200);
        assert_eq!(all, (1..=200).collect::<BTreeSet<u32>>(), "[{}]", db.name);

        let mut tx = store.begin().await.expect("begin");
        assert_eq!(
            tx.next_incident_number(day.succ_opt().expect("next day"))
                .await
                .expect("next"),
            1
        );
        tx.commit().await.expect("commit");
    }
}

#[tokio::test]
async fn outbox_lanes_are_delivered_in_order() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0)), incident(2, at(0))]).await;
        enqueue(&store, Some(1), &[post("a1"), post("a2"), post("a3")]).await;
        enqueue(&store, Some(2), &[post("b1"), post("b2")]).await;
        enqueue(&store, None, &[post("g1")]).await;

        let mut delivered = Vec::new();
        for round in 0..4 {
            let claimed = store
                .claim_outbox("worker", at(round), LEASE, 10)
                .await
                .expect("claim");
            let mut texts: Vec<_> = claimed.iter().map(|e| post_text(&e.operation)).collect();
            texts.sort();
            delivered.push(texts);
            for entry in claimed {
                assert!(
                    store
                        .complete_outbox(entry.id, "worker", at(round), Delivered::Nothing)
                        .await
                        .expect("complete")
                );
            }
        }
        assert_eq!(
            delivered,
            vec![vec!["a1", "b1", "g1"], vec!["a2", "b2"], vec!["a3"], vec![]],
            "[{}] one head per lane per round",
            db.name
        );
        let rows = store.outbox_of(&incident_id(1)).await.expect("outbox of");
        assert_eq!(rows.len(), 3);
        assert!(
            rows.iter()
                .all(|row| row.delivered_at.is_some() && row.incident == Some(incident_id(1)))
        );
        assert_eq!(
            store.outbox_backlog(at(10)).await.expect("backlog"),
            (0, None)
        );
    }
}

#[tokio::test]
async fn a_leased_head_holds_back_its_lane_only() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0)), incident(2, at(0))]).await;
        enqueue(&store, Some(1), &[post("a1"), post("a2")]).await;
        let claimed = store
            .claim_outbox("worker", at(0), LEASE, 1)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1, "[{}] limit is honoured", db.name);
        assert_eq!(post_text(&claimed[0].operation), "a1");
        // While a1 is leased, a2 must wait even though it is due.
        assert!(
            store
                .claim_outbox("worker", at(1), LEASE, 10)
                .await
                .expect("claim")
                .is_empty()
        );
    }
}

#[tokio::test]
async fn a_rate_limited_head_holds_back_only_its_lane() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0)), incident(2, at(0))]).await;
        enqueue(&store, Some(1), &[post("a1"), post("a2")]).await;
        enqueue(&store, Some(2), &[post("b1"), post("b2")]).await;

        let claimed = store
            .claim_outbox("worker", at(0), LEASE, 10)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 2);
        for entry in &claimed {
            match post_text(&entry.operation).as_str() {
                "a1" => assert!(
                    store
                        .postpone_outbox(entry, "worker", at(5), "429")
                        .await
                        .expect("postpone")
                ),
                _ => assert!(
                    store
                        .complete_outbox(entry.id, "worker", at(0), Delivered::Nothing)
                        .await
                        .expect("done")
                ),
            }
        }
        let claimed = store
            .claim_outbox("worker", at(1), LEASE, 10)
            .await
            .expect("claim");
        let texts: Vec<_> = claimed.iter().map(|e| post_text(&e.operation)).collect();
        assert_eq!(texts, ["b2"], "[{}] lane 1 waits for its head", db.name);
        assert_eq!(store.outbox_backlog(at(10)).await.expect("backlog").0, 3);

        let claimed = store
            .claim_outbox("worker", at(5), LEASE, 10)
            .await
            .expect("claim");
        let texts: Vec<_> = claimed.iter().map(|e| post_text(&e.operation)).collect();
        assert_eq!(texts, ["a1"]);
        assert_eq!(
            claimed[0].attempts, 0,
            "a rate limit is not a failed attempt"
        );
        assert_eq!(claimed[0].last_error.as_deref(), Some("429"));
    }
}

#[tokio::test]
async fn retries_count_attempts_and_failures_let_the_lane_move_on() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0))]).await;
        enqueue(&store, Some(1), &[post("a1"), post("a2")]).await;
        let first = store
            .claim_outbox("worker", at(0), LEASE, 10)
            .await
            .expect("claim")
            .remove(0);
        assert!(
            store
                .retry_outbox(first.id, "worker", at(2), "500")
                .await
                .expect("retry")
        );
        assert!(
            store
                .claim_outbox("worker", at(1), LEASE, 10)
                .await
                .expect("claim")
                .is_empty()
        );
        let again = store
            .claim_outbox("worker", at(2), LEASE, 10)
            .await
            .expect("claim")
            .remove(0);
        assert_eq!((again.id, again.attempts), (first.id, 1), "[{}]", db.name);
        assert!(
            store
                .fail_outbox(again.id, "worker", at(2), "gave up")
                .await
                .expect("fail")
        );
        let next = store
            .claim_outbox("worker", at(2), LEASE, 10)
            .await
            .expect("claim");
        assert_eq!(
            next.iter()
                .map(|e| post_text(&e.operation))
                .collect::<Vec<_>>(),
            ["a2"]
        );
        let rows = store.outbox_of(&incident_id(1)).await.expect("rows");
        assert_eq!(rows[0].failed_at, Some(at(2)));
        assert_eq!(rows[0].attempts, 2);
        assert_eq!(rows[0].last_error.as_deref(), Some("gave up"));
        let (pending, age) = store.outbox_backlog(at(10)).await.expect("backlog");
        assert_eq!((pending, age), (1, Some(Duration::from_secs(10))));
    }
}

#[tokio::test]
async fn an_expired_lease_is_claimed_by_another_owner_and_the_first_loses_it() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0))]).await;
        enqueue(&store, Some(1), &[post("a1")]).await;
        let first = store
            .claim_outbox("crashed", at(0), LEASE, 10)
            .await
            .expect("claim")
            .remove(0);
        assert!(
            store
                .claim_outbox("second", at(30), LEASE, 10)
                .await
                .expect("claim")
                .is_empty()
        );
        assert!(
            store
                .claim_outbox("second", at(60), LEASE, 10)
                .await
                .expect("claim")
                .is_empty(),
            "held until it ends"
        );
        let second = store
            .claim_outbox("second", at(61), LEASE, 10)
            .await
            .expect("claim")
            .remove(0);
        assert_eq!(second.id, first.id);

        assert!(
            !store
                .complete_outbox(first.id, "crashed", at(62), Delivered::Nothing)
                .await
                .expect("complete")
        );
        assert!(
            !store
                .retry_outbox(first.id, "crashed", at(62), "x")
                .await
                .expect("retry")
        );
        assert!(
            !store
                .postpone_outbox(&first, "crashed", at(62), "x")
                .await
                .expect("postpone")
        );
        assert!(
            !store
                .fail_outbox(first.id, "crashed", at(62), "x")
                .await
                .expect("fail")
        );
        assert!(
            store
                .complete_outbox(second.id, "second", at(62), Delivered::Nothing)
                .await
                .expect("complete")
        );
        assert!(
            !store
                .complete_outbox(second.id, "second", at(63), Delivered::Nothing)
                .await
                .expect("twice"),
            "[{}]",
            db.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_share_a_row() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        let incidents: Vec<_> = (1..=20).map(|n| incident(n, at(0))).collect();
        insert_incidents(&store, &incidents).await;
        for n in 1..=20 {
            enqueue(&store, Some(n), &[post("x")]).await;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let store = store.clone();
            tasks.spawn(async move {
                store
                    .claim_outbox(&format!("w{worker}"), at(0), LEASE, 20)
                    .await
            });
        }
        let mut ids = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            ids.extend(
                joined
                    .expect("task")
                    .expect("claim")
                    .into_iter()
                    .map(|e| e.id),
            );
        }
        let distinct: BTreeSet<_> = ids.iter().copied().collect();
        assert_eq!((ids.len(), distinct.len()), (20, 20), "[{}]", db.name);
    }
}

#[tokio::test]
async fn completing_records_the_room_and_message_handles() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0))]).await;
        let id = incident_id(1);
        let spec = RoomSpec {
            name: "inc-20261123-001-checkout".into(),
            topic: Message::text("SEV1"),
            purpose: "checkout is down".into(),
            private: false,
        };
        let mut summary = post("summary");
        if let Operation::Post { handle, .. } = &mut summary {
            *handle = Some("summary".into());
        }
        enqueue(&store, Some(1), &[Operation::CreateRoom(spec), summary]).await;

        let create = store
            .claim_outbox("w", at(0), LEASE, 10)
            .await
            .expect("claim")
            .remove(0);
        assert!(matches!(create.operation, Operation::CreateRoom(_)));
        assert!(
            store
                .complete_outbox(create.id, "w", at(1), Delivered::Room("room-7".into()))
                .await
                .expect("complete")
        );
        assert_eq!(
            store
                .incident(&id)
                .await
                .expect("read")
                .and_then(|i| i.room),
            Some("room-7".into()),
            "[{}]",
            db.name
        );
        assert_eq!(
            store
                .incident_by_room(Platform::Testing, "room-7")
                .await
                .expect("by room")
                .map(|i| i.id),
            Some(id.clone())
        );

        let post = store
            .claim_outbox("w", at(1), LEASE, 10)
            .await
            .expect("claim")
            .remove(0);
        assert_eq!(store.message_ref(&id, "summary").await.expect("ref"), None);
        let posted = MessageRef {
            channel: "room-7".into(),
            id: "m1".into(),
        };
        let delivered = Delivered::Message {
            handle: "summary".into(),
            posted: posted.clone(),
        };
        assert!(
            store
                .complete_outbox(post.id, "w", at(2), delivered)
                .await
                .expect("complete")
        );
        assert_eq!(
            store.message_ref(&id, "summary").await.expect("ref"),
            Some(posted)
        );

        // A re-post under the same handle (an at-least-once repeat) replaces the reference.
        let mut again = Operation::Post {
            to: Destination::Room,
            message: Message { blocks: vec![] },
            handle: Some("summary".into()),
        };
        enqueue(&store, Some(1), std::slice::from_mut(&mut again)).await;
        let repeat = store
            .claim_outbox("w", at(3), LEASE, 10)
            .await
            .expect("claim")
            .remove(0);
        let newer = MessageRef {
            channel: "room-7".into(),
            id: "m2".into(),
        };
        let delivered = Delivered::Message {
            handle: "summary".into(),
            posted: newer.clone(),
        };
        assert!(
            store
                .complete_outbox(repeat.id, "w", at(3), delivered)
                .await
                .expect("complete")
        );
        assert_eq!(
            store.message_ref(&id, "summary").await.expect("ref"),
            Some(newer)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_locked_incident_is_changed_by_one_transaction_at_a_time() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0))]).await;
        let id = incident_id(1);
        // Read-modify-write of the summary from 20 tasks: without the row lock,
        // Postgres would lose updates; SQLite's write lock serialises anyway.
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (store, id) = (store.clone(), id.clone());
            tasks.spawn(async move {
                let mut tx = store.begin().await?;
                let mut incident = tx
                    .lock_incident(&id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("incident vanished".into()))?;
                let count: u32 = incident
                    .summary
                    .as_deref()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0);
                incident.summary = Some((count + 1).to_string());
                tx.update_incident(&incident).await?;
                tx.commit().await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined
                .expect("task")
                .unwrap_or_else(|e| panic!("[{}] update: {e}", db.name));
        }
        let summary = store
            .incident(&id)
            .await
            .expect("read")
            .and_then(|i| i.summary);
        assert_eq!(summary.as_deref(), Some("20"), "[{}]", db.name);
    }
}

#[test]
fn test_database_urls_replace_only_the_database_name() {
    assert_eq!(
        common::with_database("postgres://u@h:1/postgres", "t1"),
        "postgres://u@h:1/t1"
    );
    assert_eq!(
        common::with_database("postgres://u@h:1/postgres?sslmode=disable", "t1"),
        "postgres://u@h:1/t1?sslmode=disable"
    );
    assert_eq!(
        common::with_database("postgres://u@h:1", "t1"),
        "postgres://u@h:1/t1"
    );
}
