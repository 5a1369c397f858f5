//! `page` and `status` actions, and approvals that expire, end to end on every
//! available backend: the engine queues the runs, the action worker hands them
//! back to the engine, pages go out through a fake PagerDuty Events API and
//! component states show on the status page.

use crate::common::harness::{
    API_TOKEN, FIXTURES, Harness, PEOPLE, SEV1, SEV1_ROLES_WITH_COMMS, api_incident, bot, serve,
    terse_phrases,
};
use crate::common::pagerduty::FakeEvents;
use crate::common::store_reads::StoreReads;
use crate::common::{Backend, test_backends};
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use std::time::Duration;
use warroom::command::ButtonAction;
use warroom::config::{ComponentState, PagerDutySettings, Secret};
use warroom::domain::{EventKind, IncidentId, RunId, RunStatus, UserId};
use warroom::engine::Reply;
use warroom::outbox::{Pager, PagerDuty};

const ROUTING_KEY: &str = "R0UTING-KEY-0123456789abcdef";

fn config() -> String {
    let dir = FIXTURES;
    let world = format!(
        r#"
[people.erin]
name = "Erin"
slack = "UERIN"
[people.frank]
slack = "UFRANK"

[levels]
level2 = ["erin", "frank"]

[status_page]
title = "Example Status"
components = ["checkout-api", "Database"]

[actions.page-level2]
kind = "page"
description = "Page the second level"
target = "level2"
params = {{ reason = {{ description = "why they are needed" }} }}
allowed_roles = ["commander"]

[actions.page-erin]
kind = "page"
description = "Page Erin"
target = "erin"
approval = "commander"

[actions.api-degraded]
kind = "status"
description = "Mark the API degraded"
component = "checkout-api"
state = "degraded"
approval = "commander"
allowed_roles = ["commander", "comms"]

[actions.failover]
kind = "program"
description = "Needs the commander's approval within half an hour"
program = "{dir}/ok.sh"
args = ["db"]
approval = "commander"
approval_expires_after = "30m"
"#
    );
    [
        &bot("UTC"),
        SEV1,
        PEOPLE,
        SEV1_ROLES_WITH_COMMS,
        &terse_phrases(),
        &world,
    ]
    .concat()
}

/// With `pager`, paging is on and pages go to it.
async fn harness(backend: &Backend, pager: Option<Arc<dyn Pager>>) -> Harness {
    Harness::builder(config())
        .quick_runner()
        .delivering()
        .pager(pager)
        .build(backend)
        .await
}

impl Harness {
    /// `user` clicks `button` on incident `id`'s message.
    async fn press(&self, user: &str, button: ButtonAction, id: &IncidentId) -> Reply {
        let request = format!("click-{user}-{button}");
        self.click(user, button, id, &request).await
    }

    /// Serves the status page and the JSON API of this database.
    async fn web(&self) -> String {
        serve(self.web_state(Some(API_TOKEN))).await.0
    }
}

async fn pagerduty() -> (Arc<FakeEvents>, Arc<dyn Pager>) {
    let fake = Arc::new(FakeEvents::default());
    let url = fake.serve().await;
    let pager = PagerDuty::from_settings(&PagerDutySettings {
        routing_key: Some(Secret::new(ROUTING_KEY)),
        events_url: url,
    })
    .expect("client builds")
    .expect("a routing key turns paging on");
    (fake, Arc::new(pager))
}

/// The status page's line for a component.
fn component(name: &str, state: ComponentState) -> String {
    format!(
        "<li><span class=\"name\">{name}</span> <span class=\"state state-{}\">{}</span></li>",
        state.as_str(),
        state.label()
    )
}

async fn status_page(base: &str) -> String {
    reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_page_action_pages_every_member_of_the_level_and_posts_who() {
    for db in test_backends().await {
        let (fake, pager) = pagerduty().await;
        let h = harness(&db, Some(pager)).await;
        let (id, room) = h.declare("sev1 checkout is down service=checkout").await;

        let reply = h.run("UBOB", &room, "run page-level2").await;
        assert!(
            reply.text().starts_with("Only the incident commander"),
            "{}: {}",
            db.name,
            reply.text()
        );
        let reply = h
            .run("UALICE", &room, "run page-level2 reason=db-failover-stuck")
            .await;
        assert_eq!(reply.text(), "Run #1 of `page-level2` is queued.");
        assert!(
            fake.received().is_empty(),
            "{}: nothing before the worker",
            db.name
        );

        assert_eq!(h.work().await, 1, "{}", db.name);
        assert_eq!(h.work().await, 0, "{}: carried out once", db.name);
        let received = fake.received();
        assert_eq!(received.len(), 2, "{}: {received:?}", db.name);
        for (event, person) in received.iter().zip(["erin", "frank"]) {
            assert_eq!(event["routing_key"], ROUTING_KEY);
            assert_eq!(event["event_action"], "trigger");
            assert_eq!(event["dedup_key"], format!("{id}/run-1/{person}"));
            assert_eq!(
                event["payload"]["summary"],
                format!("[SEV1] checkout is down ({id}): db-failover-stuck")
            );
            assert_eq!(event["payload"]["severity"], "critical");
            assert_eq!(event["payload"]["source"], "checkout");
            let details = &event["payload"]["custom_details"];
            assert_eq!(details["target"], person);
            assert_eq!(details["incident"], id.as_str());
            assert_eq!(details["room"], room.as_str());
        }
        let text = h.room_text(&room);
        assert!(
            text.contains("Run #1 (page-level2) succeeded: paged Erin, frank"),
            "{}: {text}",
            db.name
        );
        let members = h.platform.members(&room);
        for invited in ["UERIN", "UFRANK"] {
            assert!(
                members.contains(&UserId::new(invited)),
                "{}: {invited} is invited: {members:?}",
                db.name
            );
        }
        assert_eq!(h.statuses(&id).await, vec![RunStatus::Succeeded]);
        let runs = h.store.action_runs_of(&id).await.unwrap();
        assert_eq!(runs[0].result.as_deref(), Some("paged Erin, frank"));
        assert_eq!(
            h.timeline_texts(&id, EventKind::ActionFinished).await,
            vec!["run #1 (page-level2) succeeded: paged Erin, frank".to_string()]
        );

        // The pages belong to the incident: resolving it resolves them.
        h.run("UALICE", &room, "resolve fixed").await;
        let resolved: Vec<String> = fake
            .received()
            .iter()
            .filter(|event| event["event_action"] == "resolve")
            .map(|event| event["dedup_key"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            resolved,
            vec![format!("{id}/run-1/erin"), format!("{id}/run-1/frank")],
            "{}",
            db.name
        );
    }
}

#[tokio::test]
async fn a_page_action_waits_for_approval_and_a_denied_one_pages_nobody() {
    for db in test_backends().await {
        let (fake, pager) = pagerduty().await;
        let h = harness(&db, Some(pager)).await;
        let (id, room) = h.declare("sev1 checkout is down").await;

        let reply = h.run("UBOB", &room, "run page-erin").await;
        assert_eq!(
            reply.text(),
            "Run #1 of `page-erin` is waiting for approval."
        );
        assert_eq!(h.work().await, 0, "{}: nothing before approval", db.name);
        assert!(fake.received().is_empty());
        let reply = h
            .press("UALICE", ButtonAction::Approve(RunId::new(1)), &id)
            .await;
        assert_eq!(reply.text(), "Run #1 approved.");
        assert_eq!(h.work().await, 1, "{}", db.name);
        let received = fake.received();
        assert_eq!(received.len(), 1, "{}: {received:?}", db.name);
        assert_eq!(received[0]["dedup_key"], format!("{id}/run-1/erin"));

        h.run("UBOB", &room, "run page-erin").await;
        let reply = h
            .press("UALICE", ButtonAction::Deny(RunId::new(2)), &id)
            .await;
        assert_eq!(reply.text(), "Run #2 cancelled.");
        assert_eq!(h.work().await, 0, "{}", db.name);
        assert_eq!(
            fake.received().len(),
            1,
            "{}: a denied page is not sent",
            db.name
        );
        assert_eq!(
            h.statuses(&id).await,
            vec![RunStatus::Succeeded, RunStatus::Cancelled]
        );
        let text = h.room_text(&room);
        assert!(
            text.contains("Run #1 (page-erin) succeeded: paged Erin"),
            "{}: {text}",
            db.name
        );
    }
}

#[tokio::test]
async fn a_page_action_without_paging_fails_and_says_why() {
    for db in test_backends().await {
        let h = harness(&db, None).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        h.run("UALICE", &room, "run page-level2").await;
        assert_eq!(h.work().await, 1, "{}", db.name);
        let text = h.room_text(&room);
        assert!(
            text.contains(
                "Run #1 (page-level2) failed: nobody was paged: paging is off (PAGERDUTY_ROUTING_KEY is not set)"
            ),
            "{}: {text}",
            db.name
        );
        assert_eq!(h.statuses(&id).await, vec![RunStatus::Failed]);
        assert!(h.store.pages_of(&id).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_status_action_sets_the_component_once_approved_and_posts_it() {
    for db in test_backends().await {
        let h = harness(&db, None).await;
        let web = h.web().await;
        let (id, room) = h
            .declare("sev1 checkout is down service=checkout-api")
            .await;
        let page = status_page(&web).await;
        assert!(
            page.contains(&component("checkout-api", ComponentState::MajorOutage)),
            "{}: a sev1 on it is a major outage: {page}",
            db.name
        );

        let reply = h.run("UBOB", &room, "run api-degraded").await;
        assert!(
            reply
                .text()
                .starts_with("Only the incident commander or communications lead"),
            "{}: {}",
            db.name,
            reply.text()
        );
        let reply = h.run("UCAROL", &room, "run api-degraded").await;
        assert_eq!(
            reply.text(),
            "Run #1 of `api-degraded` is waiting for approval."
        );
        assert_eq!(h.work().await, 0, "{}", db.name);
        let page = status_page(&web).await;
        assert!(
            page.contains(&component("checkout-api", ComponentState::MajorOutage)),
            "{}: unchanged before approval: {page}",
            db.name
        );

        h.press("UALICE", ButtonAction::Approve(RunId::new(1)), &id)
            .await;
        assert_eq!(h.work().await, 1, "{}", db.name);
        let page = status_page(&web).await;
        assert!(
            page.contains(&component("checkout-api", ComponentState::Degraded)),
            "{}: {page}",
            db.name
        );
        assert!(page.contains(&component("Database", ComponentState::Operational)));
        let text = h.room_text(&room);
        assert!(
            text.contains("Run #1 (api-degraded) succeeded: checkout-api → degraded"),
            "{}: {text}",
            db.name
        );
        assert_eq!(
            h.timeline_texts(&id, EventKind::ActionFinished).await,
            vec!["run #1 (api-degraded) succeeded: checkout-api → degraded".to_string()]
        );

        let detail = api_incident(&web, &id).await;
        let run = &detail["action_runs"][0];
        assert_eq!(run["status"], "succeeded", "{}: {detail}", db.name);
        assert_eq!(run["result"], "checkout-api → degraded");
        assert_eq!(run["requested_by"], "UCAROL");
        assert_eq!(run["approved_by"], "UALICE");

        // The state was set for this incident: it holds while the incident is open.
        h.run("UALICE", &room, "resolve fixed").await;
        let page = status_page(&web).await;
        assert!(
            page.contains(&component("checkout-api", ComponentState::Operational)),
            "{}: {page}",
            db.name
        );
    }
}

#[tokio::test]
async fn a_drill_shows_what_page_and_status_actions_would_do_and_does_neither() {
    for db in test_backends().await {
        let (fake, pager) = pagerduty().await;
        let h = harness(&db, Some(pager)).await;
        let web = h.web().await;
        let (id, room) = h
            .declare("sev1 practice --drill service=checkout-api")
            .await;
        let reply = h.run("UALICE", &room, "run page-level2").await;
        assert!(
            reply.text().starts_with("Drill: `page-level2` was not run"),
            "{}",
            reply.text()
        );
        let reply = h.run("UCAROL", &room, "run api-degraded").await;
        assert!(
            reply
                .text()
                .starts_with("Drill: `api-degraded` was not run"),
            "{}",
            reply.text()
        );
        assert_eq!(h.work().await, 0, "{}", db.name);
        assert!(h.statuses(&id).await.is_empty(), "{}", db.name);
        assert!(fake.received().is_empty(), "{}: nobody paged", db.name);
        let text = h.room_text(&room);
        assert!(
            text.contains("It would execute: page Erin, frank"),
            "{}: {text}",
            db.name
        );
        assert!(
            text.contains("It would execute: set checkout-api → degraded on the status page"),
            "{}: {text}",
            db.name
        );
        let page = status_page(&web).await;
        assert!(
            page.contains(&component("checkout-api", ComponentState::Operational)),
            "{}: {page}",
            db.name
        );
    }
}

#[tokio::test]
async fn an_unapproved_run_expires_at_its_deadline_once_with_two_workers_racing() {
    for db in test_backends().await {
        let h = harness(&db, None).await;
        let second = h.second_worker();
        let (id, room) = h.declare("sev1 checkout is down").await;
        h.run("UBOB", &room, "run failover").await;

        h.clock.advance(Duration::from_secs(30 * 60 - 1));
        let (a, b) = tokio::join!(h.worker.run_due(), second.run_due());
        assert_eq!((a.unwrap(), b.unwrap()), (0, 0));
        h.deliver().await;
        assert_eq!(
            h.statuses(&id).await,
            vec![RunStatus::AwaitingApproval],
            "{}: a second early, nothing happens",
            db.name
        );
        assert!(!h.room_text(&room).contains("expired"), "{}", db.name);

        h.clock.advance(Duration::from_secs(1));
        for _ in 0..2 {
            let (a, b) = tokio::join!(h.worker.run_due(), second.run_due());
            assert_eq!(
                (a.unwrap(), b.unwrap()),
                (0, 0),
                "{}: nothing runs",
                db.name
            );
        }
        h.deliver().await;
        assert_eq!(h.statuses(&id).await, vec![RunStatus::Cancelled]);
        let runs = h.store.action_runs_of(&id).await.unwrap();
        assert_eq!(
            runs[0].result.as_deref(),
            Some("approval expired after 30m")
        );
        let text = h.room_text(&room);
        assert_eq!(
            text.matches("Run #1 (failover) cancelled: approval expired after 30m")
                .count(),
            1,
            "{}: {text}",
            db.name
        );
        assert_eq!(
            h.timeline_texts(&id, EventKind::ActionCancelled).await,
            vec!["run #1 (failover) cancelled: approval expired after 30m".to_string()],
            "{}",
            db.name
        );
    }
}

#[tokio::test]
async fn an_approve_after_the_deadline_is_refused_and_runs_nothing() {
    for db in test_backends().await {
        let h = harness(&db, None).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        h.run("UBOB", &room, "run failover").await;
        h.run("UBOB", &room, "run failover").await;
        h.clock.advance(Duration::from_secs(30 * 60));

        // Past the deadline, before any worker noticed: still refused.
        let reply = h
            .press("UALICE", ButtonAction::Approve(RunId::new(1)), &id)
            .await;
        assert_eq!(
            reply.text(),
            "Run #1 is not waiting for approval (it is cancelled: approval expired after 30m).",
            "{}",
            db.name
        );
        assert_eq!(h.work().await, 0, "{}", db.name);
        let reply = h.run("UALICE", &room, "approve 2").await;
        assert_eq!(
            reply.text(),
            "Run #2 is not waiting for approval (it is cancelled: approval expired after 30m).",
            "{}",
            db.name
        );
        assert_eq!(h.work().await, 0, "{}", db.name);
        assert_eq!(
            h.statuses(&id).await,
            vec![RunStatus::Cancelled, RunStatus::Cancelled]
        );
        let runs = h.store.action_runs_of(&id).await.unwrap();
        assert!(runs.iter().all(|run| run.approved_by.is_none()));
        assert!(!h.room_text(&room).contains("approved by"), "{}", db.name);
    }
}

#[tokio::test]
async fn a_page_run_abandoned_before_its_transaction_is_carried_out_once_after_a_restart() {
    for db in test_backends().await {
        let (fake, pager) = pagerduty().await;
        let h = harness(&db, Some(pager)).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        h.run("UALICE", &room, "run page-level2").await;
        // A worker claims the run and dies before carrying it out.
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
        let claimed = h
            .store
            .claim_action_runs("dead-worker", now, Duration::from_secs(60), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(h.work().await, 0, "{}: a live lease is left alone", db.name);
        h.clock.advance(Duration::from_secs(61));
        assert_eq!(h.work().await, 1, "{}: carried out after all", db.name);
        assert_eq!(h.work().await, 0, "{}", db.name);
        assert_eq!(fake.received().len(), 2, "{}: one page each", db.name);
        let text = h.room_text(&room);
        assert!(
            text.contains(
                "Run #1 (page-level2) interrupted: interrupted by a restart; running it again"
            ),
            "{}: {text}",
            db.name
        );
        assert_eq!(
            text.matches("Run #1 (page-level2) succeeded: paged Erin, frank")
                .count(),
            1,
            "{}: {text}",
            db.name
        );
        assert_eq!(h.statuses(&id).await, vec![RunStatus::Succeeded]);
    }
}
