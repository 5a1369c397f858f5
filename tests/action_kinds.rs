//! `page` and `status` actions, and approvals that expire, end to end on every
//! available backend: the engine queues the runs, the action worker hands them
//! back to the engine, pages go out through a fake PagerDuty Events API and
//! component states show on the status page.

mod common;

use chrono::{TimeZone, Utc};
use common::pagerduty::FakeEvents;
use common::{Backend, fresh_store, test_backends};
use std::sync::Arc;
use std::time::Duration;
use warroom::actions::worker::ActionWorker;
use warroom::actions::{EnvLookup, Runner};
use warroom::clock::{ManualClock, SharedClock};
use warroom::command::{self, ButtonAction, Command};
use warroom::config::{ComponentState, Config, PagerDutySettings, Secret};
use warroom::domain::{EventKind, IncidentId, Platform, RunStatus, UserId};
use warroom::engine::{Actor, Context, Engine, EngineSettings, Reply};
use warroom::outbox::testing::TestingPlatform;
use warroom::outbox::{Dispatcher, DispatcherSettings, Pager, PagerDuty};
use warroom::store::Store;

const ROUTING_KEY: &str = "R0UTING-KEY-0123456789abcdef";

fn config() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/actions");
    format!(
        r#"
[bot]
public_url = "https://warroom.test"
timezone = "UTC"

[[severity]]
name = "sev1"
label = "Critical"
respond_within = "15m"

[people.alice]
slack = "UALICE"
[people.bob]
slack = "UBOB"
[people.carol]
slack = "UCAROL"
[people.erin]
name = "Erin"
slack = "UERIN"
[people.frank]
slack = "UFRANK"

[assign.sev1]
commander = "alice"
technical = "bob"
comms = "carol"

[levels]
level2 = ["erin", "frank"]

[phrases]
investigating = "Investigating."
identified = "Identified."
monitoring = "Monitoring."
resolved = "Resolved."

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
    )
}

struct Harness {
    engine: Engine,
    store: Store,
    platform: Arc<TestingPlatform>,
    dispatcher: Dispatcher,
    worker: ActionWorker,
    clock: ManualClock,
    config: Arc<Config>,
}

impl Harness {
    /// With `pager`, paging is on and pages go to it.
    async fn new(backend: &Backend, pager: Option<Arc<dyn Pager>>) -> Self {
        let clock = ManualClock::starting_at(Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap());
        let shared: SharedClock = Arc::new(clock.clone());
        let platform = Arc::new(TestingPlatform::standing_in_for(
            Platform::Slack,
            shared.clone(),
        ));
        let store = fresh_store(backend).await;
        let config = Arc::new(Config::from_toml_str(&config()).expect("test config is valid"));
        let wakeup = Arc::new(tokio::sync::Notify::new());
        let mut settings = EngineSettings::from_config(&config);
        settings.paging = pager.is_some();
        let engine = Engine::new(
            store.clone(),
            config.clone(),
            shared.clone(),
            settings,
            wakeup.clone(),
        );
        let dispatcher = Dispatcher::with_pager(
            store.clone(),
            vec![platform.clone()],
            pager,
            shared.clone(),
            DispatcherSettings::default(),
            wakeup,
        );
        let worker = ActionWorker::new(engine.clone(), runner(&config), shared);
        Self {
            engine,
            store,
            platform,
            dispatcher,
            worker,
            clock,
            config,
        }
    }

    /// A second worker on the same database, as another replica would run.
    fn second_worker(&self) -> ActionWorker {
        ActionWorker::new(
            self.engine.clone(),
            runner(&self.config),
            Arc::new(self.clock.clone()),
        )
    }

    async fn run(&self, user: &str, channel: &str, text: &str) -> Reply {
        let command = command::parse(text, &*self.config)
            .unwrap_or_else(|e| panic!("`{text}` should parse: {e}"));
        self.handle(user, channel, command, None).await
    }

    async fn handle(
        &self,
        user: &str,
        channel: &str,
        command: Command,
        request: Option<&str>,
    ) -> Reply {
        let actor = Actor {
            platform: Platform::Slack,
            user: UserId::new(user),
        };
        let context = Context {
            channel: channel.to_string(),
            request_id: request.map(str::to_string),
        };
        let reply = self
            .engine
            .handle(&actor, &context, command)
            .await
            .expect("database answers");
        self.deliver().await;
        reply
    }

    async fn click(&self, user: &str, button: ButtonAction, id: &IncidentId) -> Reply {
        let command = button.command(id.as_str(), &UserId::new(user)).unwrap();
        let request = format!("click-{user}-{button}");
        self.handle(user, "", command, Some(&request)).await
    }

    async fn deliver(&self) {
        while self.dispatcher.deliver_due().await.expect("delivery pass") > 0 {}
    }

    async fn declare(&self, text: &str) -> (IncidentId, String) {
        let reply = self.run("UALICE", "CGENERAL", text).await;
        let text = reply.text();
        let start = text.find("INC-").expect("an incident id");
        let id: IncidentId = text[start..start + 16].parse().unwrap();
        let room = self
            .store
            .incident(&id)
            .await
            .unwrap()
            .and_then(|i| i.room)
            .unwrap();
        (id, room)
    }

    async fn work(&self) -> usize {
        let ran = self.worker.run_due().await.expect("worker pass");
        self.deliver().await;
        ran
    }

    fn room_text(&self, room: &str) -> String {
        self.platform.texts_in(room).join("\n")
    }

    async fn statuses(&self, id: &IncidentId) -> Vec<RunStatus> {
        self.store
            .action_runs_of(id)
            .await
            .unwrap()
            .iter()
            .map(|run| run.status)
            .collect()
    }

    async fn timeline_texts(&self, id: &IncidentId, kind: EventKind) -> Vec<String> {
        self.store
            .timeline(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|event| event.kind == kind)
            .map(|event| event.text)
            .collect()
    }

    /// Serves the status page and the JSON API of this database.
    async fn web(&self) -> String {
        let state = warroom::web::WebState {
            store: self.store.clone(),
            clock: Arc::new(self.clock.clone()),
            config: self.config.clone(),
            api_token: Some(Secret::new("t0ken")),
            metrics: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, warroom::web::router(state)).await });
        format!("http://{addr}")
    }
}

fn runner(config: &Config) -> Runner {
    let env: EnvLookup = Arc::new(|_: &str| None);
    Runner::new(env, config.actions().values())
        .with_timings(Duration::from_millis(200), Duration::ZERO)
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
        let h = Harness::new(&db, Some(pager)).await;
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
        let h = Harness::new(&db, Some(pager)).await;
        let (id, room) = h.declare("sev1 checkout is down").await;

        let reply = h.run("UBOB", &room, "run page-erin").await;
        assert_eq!(
            reply.text(),
            "Run #1 of `page-erin` is waiting for approval."
        );
        assert_eq!(h.work().await, 0, "{}: nothing before approval", db.name);
        assert!(fake.received().is_empty());
        let reply = h.click("UALICE", ButtonAction::Approve(1), &id).await;
        assert_eq!(reply.text(), "Run #1 approved.");
        assert_eq!(h.work().await, 1, "{}", db.name);
        let received = fake.received();
        assert_eq!(received.len(), 1, "{}: {received:?}", db.name);
        assert_eq!(received[0]["dedup_key"], format!("{id}/run-1/erin"));

        h.run("UBOB", &room, "run page-erin").await;
        let reply = h.click("UALICE", ButtonAction::Deny(2), &id).await;
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
        let h = Harness::new(&db, None).await;
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
        let h = Harness::new(&db, None).await;
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

        h.click("UALICE", ButtonAction::Approve(1), &id).await;
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

        let detail: serde_json::Value = reqwest::Client::new()
            .get(format!("{web}/api/incidents/{id}"))
            .bearer_auth("t0ken")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
        let h = Harness::new(&db, Some(pager)).await;
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
        let h = Harness::new(&db, None).await;
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
        let h = Harness::new(&db, None).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        h.run("UBOB", &room, "run failover").await;
        h.run("UBOB", &room, "run failover").await;
        h.clock.advance(Duration::from_secs(30 * 60));

        // Past the deadline, before any worker noticed: still refused.
        let reply = h.click("UALICE", ButtonAction::Approve(1), &id).await;
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
        let h = Harness::new(&db, Some(pager)).await;
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
