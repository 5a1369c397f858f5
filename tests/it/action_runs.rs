//! The action_runs table on every available backend: requests, approvals and
//! cancels that change a run once, leases shared with the other leased tables,
//! and runs abandoned by a stopped process marked interrupted once.

use crate::common::{at, fresh_store, incident, incident_id, insert_incidents, test_backends};
use std::collections::BTreeMap;
use std::time::Duration;
use warroom::domain::{RunStatus, UserId};
use warroom::store::{RunReport, Store};

const LEASE: Duration = Duration::from_secs(60);

async fn request(store: &Store, status: RunStatus) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let params = BTreeMap::from([("service".to_owned(), "; rm -rf /".to_owned())]);
    let id = tx
        .request_action_run(
            &incident_id(1),
            "restart",
            &params,
            status,
            &UserId::new("bob"),
            at(0),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn a_requested_run_keeps_its_parameters_and_requester() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0))]).await;
        let id = request(&store, RunStatus::Queued).await;
        let runs = store.action_runs_of(&incident_id(1)).await.unwrap();
        assert_eq!(runs.len(), 1, "{}", db.name);
        let run = &runs[0];
        assert_eq!(run.id, id);
        assert_eq!(run.action, "restart");
        assert_eq!(run.params["service"], "; rm -rf /");
        assert_eq!(run.status, RunStatus::Queued);
        assert_eq!(run.requested_by, UserId::new("bob"));
        assert_eq!(run.created_at, at(0));
        assert_eq!(run.attempts, 0);
    }
}

#[tokio::test]
async fn an_approval_counts_once_and_a_denied_run_cannot_be_approved() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0))]).await;
        let approved = request(&store, RunStatus::AwaitingApproval).await;
        let denied = request(&store, RunStatus::AwaitingApproval).await;
        let alice = UserId::new("alice");

        let claimed = store
            .claim_action_runs("w1", at(1), LEASE, 10)
            .await
            .unwrap();
        assert!(
            claimed.is_empty(),
            "{}: nothing runs before approval",
            db.name
        );

        let mut tx = store.begin().await.unwrap();
        assert!(tx.approve_action_run(approved, &alice).await.unwrap());
        assert!(
            !tx.approve_action_run(approved, &alice).await.unwrap(),
            "double click"
        );
        assert!(tx.cancel_action_run(denied, &alice, at(2)).await.unwrap());
        assert!(
            !tx.approve_action_run(denied, &alice).await.unwrap(),
            "denied stays denied"
        );
        let run = tx
            .action_run(&incident_id(1), approved)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run.status, RunStatus::Queued);
        assert_eq!(run.approved_by, Some(alice.clone()));
        let run = tx
            .action_run(&incident_id(1), denied)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run.status, RunStatus::Cancelled);
        assert_eq!(run.result.as_deref(), Some("cancelled by alice"));
        assert!(
            tx.action_run(&incident_id(2), denied)
                .await
                .unwrap()
                .is_none()
        );
        tx.commit().await.unwrap();

        let claimed = store
            .claim_action_runs("w1", at(3), LEASE, 10)
            .await
            .unwrap();
        let ids: Vec<i64> = claimed.iter().map(|run| run.id).collect();
        assert_eq!(ids, vec![approved], "{}", db.name);
    }
}

#[tokio::test]
async fn a_queued_run_is_claimed_by_one_worker_and_finished_once() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0))]).await;
        let id = request(&store, RunStatus::Queued).await;

        let first = store
            .claim_action_runs("w1", at(1), LEASE, 10)
            .await
            .unwrap();
        let second = store
            .claim_action_runs("w2", at(1), LEASE, 10)
            .await
            .unwrap();
        assert_eq!(first.len(), 1, "{}", db.name);
        assert!(second.is_empty(), "{}: one worker wins", db.name);
        assert_eq!(first[0].status, RunStatus::Running);
        assert_eq!(first[0].attempts, 1);

        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.cancel_action_run(id, &UserId::new("alice"), at(2))
                .await
                .unwrap(),
            "a running run is not cancelled in the table"
        );
        let report = RunReport {
            status: RunStatus::Failed,
            result: "exit status: 3",
            output: "disk full",
            output_hash: "abc",
        };
        assert!(
            !tx.finish_action_run(id, "w2", &report, at(3))
                .await
                .unwrap()
        );
        assert!(
            tx.finish_action_run(id, "w1", &report, at(3))
                .await
                .unwrap()
        );
        assert!(
            !tx.finish_action_run(id, "w1", &report, at(3))
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();

        let runs = store.action_runs_of(&incident_id(1)).await.unwrap();
        let run = &runs[0];
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.result.as_deref(), Some("exit status: 3"));
        assert_eq!(run.output.as_deref(), Some("disk full"));
        assert_eq!(run.output_hash.as_deref(), Some("abc"));
        assert_eq!(run.started_at, Some(at(1)));
        assert_eq!(run.finished_at, Some(at(3)));
        assert!(
            store
                .claim_action_runs("w2", at(4), LEASE, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn a_run_abandoned_while_running_is_interrupted_and_reported_once() {
    for db in test_backends().await {
        let store = fresh_store(&db).await;
        insert_incidents(&store, &[incident(1, at(0))]).await;
        let id = request(&store, RunStatus::Queued).await;
        store
            .claim_action_runs("w1", at(1), LEASE, 10)
            .await
            .unwrap();

        let held = store.abandoned_action_runs(at(30)).await.unwrap();
        assert!(
            held.is_empty(),
            "{}: a live lease is not abandoned",
            db.name
        );
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.interrupt_action_run(id, at(30), false).await.unwrap(),
            None,
            "{}: nor can it be interrupted",
            db.name
        );
        tx.commit().await.unwrap();

        let after_lease = at(1) + chrono::Duration::seconds(61);
        let abandoned = store.abandoned_action_runs(after_lease).await.unwrap();
        assert_eq!(abandoned.len(), 1, "{}", db.name);
        assert_eq!(abandoned[0].id, id);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.interrupt_action_run(id, after_lease, false)
                .await
                .unwrap(),
            Some(RunStatus::Interrupted)
        );
        assert_eq!(
            tx.interrupt_action_run(id, after_lease, false)
                .await
                .unwrap(),
            None,
            "{}: interrupted once",
            db.name
        );
        tx.commit().await.unwrap();
        let again = store.abandoned_action_runs(after_lease).await.unwrap();
        assert!(again.is_empty(), "{}: reported once", db.name);

        let report = RunReport {
            status: RunStatus::Succeeded,
            result: "exit status: 0",
            output: "",
            output_hash: "",
        };
        let mut tx = store.begin().await.unwrap();
        assert!(
            !tx.finish_action_run(id, "w1", &report, after_lease)
                .await
                .unwrap(),
            "a late holder cannot overwrite the interruption"
        );
        tx.commit().await.unwrap();
        let runs = store.action_runs_of(&incident_id(1)).await.unwrap();
        assert_eq!(runs[0].status, RunStatus::Interrupted);
        assert!(
            store
                .claim_action_runs("w2", after_lease, LEASE, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
