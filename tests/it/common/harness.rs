//! One warroom process for engine-level tests: engine, dispatcher, scheduler,
//! action worker and pruner on one fresh database, built by startup's builder (see
//! [`super::app::builder`]), posting to the in-process testing platform standing
//! in for Slack, on a clock the test chooses (a [`ManualClock`] unless told
//! otherwise). The loops do not run by themselves: the test runs their passes.
//!
//! A test file adds its own `impl Harness` block for what only it needs.

use super::{Backend, app};
use chrono::{DateTime, TimeZone, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom::actions::{EnvLookup, Runner};
use warroom::clock::{Clock, ManualClock, SharedClock};
use warroom::command::{self, ButtonAction, Command};
use warroom::config::{Config, Secret};
use warroom::domain::{ActionRun, EventKind, IncidentId, Platform, RunStatus, UserId};
use warroom::engine::{Actor, Context, Engine, Reply};
use warroom::outbox::Pager;
use warroom::outbox::testing::TestingPlatform;
use warroom::startup::StartupError;
use warroom::store::{Store, StoreError};
use warroom::web::WebState;
use warroom::workers::{ActionWorker, ActionWorkerSettings, Dispatcher, Pruner, Scheduler};

/// The programs the `program` actions of the test configs run.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/actions");

/// `[bot]` in `timezone`.
pub fn bot(timezone: &str) -> String {
    format!(
        r#"
[bot]
public_url = "https://warroom.test"
timezone = "{timezone}"
"#
    )
}

/// A sev1 with a 15 minute response target; keys that follow it belong to it.
pub const SEV1: &str = r#"
[[severity]]
name = "sev1"
label = "Critical"
respond_within = "15m"
"#;

/// Alice, Bob and Carol on Slack.
pub const PEOPLE: &str = r#"
[people.alice]
slack = "UALICE"
[people.bob]
slack = "UBOB"
[people.carol]
slack = "UCAROL"
"#;

/// Dave on Slack, for tests that need a fourth person.
pub const DAVE: &str = r#"
[people.dave]
slack = "UDAVE"
"#;

/// `[people.<name>]` for each `(name, id)`, with the id on `platform`
/// (`slack` or `discord`).
pub fn people(platform: &str, ids: &[(&str, &str)]) -> String {
    ids.iter()
        .map(|(name, id)| format!("\n[people.{name}]\n{platform} = \"{id}\"\n"))
        .collect()
}

/// Alice commands a sev1 and Bob is its technical lead.
pub const SEV1_ROLES: &str = r#"
[assign.sev1]
commander = "alice"
technical = "bob"
"#;

/// Alice commands a sev1, Bob is its technical lead and Carol its comms lead.
pub const SEV1_ROLES_WITH_COMMS: &str = r#"
[assign.sev1]
commander = "alice"
technical = "bob"
comms = "carol"
"#;

/// `[phrases]`: what public updates say at each status.
pub fn phrases(investigating: &str, identified: &str, monitoring: &str, resolved: &str) -> String {
    format!(
        r#"
[phrases]
investigating = "{investigating}"
identified = "{identified}"
monitoring = "{monitoring}"
resolved = "{resolved}"
"#
    )
}

/// One-word public phrases.
pub fn terse_phrases() -> String {
    phrases("Investigating.", "Identified.", "Monitoring.", "Resolved.")
}

/// Public phrases that name neither service nor cause.
pub fn plain_phrases() -> String {
    phrases(
        "We are investigating.",
        "We have found the cause.",
        "A fix is in place.",
        "Resolved.",
    )
}

/// Public phrases that name the service and the cause.
pub fn service_phrases() -> String {
    phrases(
        "We are investigating reports of issues with {service}.",
        "We have identified the issue affecting {service}: {cause}.",
        "A fix for {service} is in place; we are monitoring.",
        "The issue affecting {service} has been resolved.",
    )
}

/// What the action tests start from: `[bot]` in UTC, [`SEV1`] with an update
/// every 15 minutes, Alice, Bob and Carol in [`SEV1_ROLES`], and terse phrases.
pub fn sev1_team() -> String {
    let updates = "update_every = \"15m\"\n";
    [
        &bot("UTC"),
        SEV1,
        updates,
        PEOPLE,
        SEV1_ROLES,
        &terse_phrases(),
    ]
    .concat()
}

/// When a test's clock starts unless it says otherwise: 2026-11-23 14:00 UTC.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0)
        .single()
        .expect("valid time")
}

/// What a [`Harness`] is built from; kept by the harness so that a restart
/// builds the same process again.
pub struct HarnessBuilder<C = ManualClock> {
    config: String,
    clock: C,
    platform: Option<Arc<TestingPlatform>>,
    pager: Option<Arc<dyn Pager>>,
    env: EnvLookup,
    quick_runner: bool,
    delivering: bool,
    /// How often the action worker's loop looks without a wake-up, if not its default.
    action_worker_poll: Option<Duration>,
}

impl HarnessBuilder<ManualClock> {
    /// Runs on a [`ManualClock`] at [`start`] until told otherwise.
    pub fn new(config: impl Into<String>) -> Self {
        Self {
            config: config.into(),
            clock: ManualClock::starting_at(start()),
            platform: None,
            pager: None,
            env: Arc::new(|_: &str| None),
            quick_runner: false,
            delivering: false,
            action_worker_poll: None,
        }
    }

    /// A manual clock starting at `at`.
    pub fn starting_at(self, at: DateTime<Utc>) -> Self {
        self.clock(ManualClock::starting_at(at))
    }
}

impl<C: Clock + Clone> HarnessBuilder<C> {
    /// Everything reads `clock`; the test keeps its own clone to move it.
    pub fn clock<D: Clock + Clone>(self, clock: D) -> HarnessBuilder<D> {
        HarnessBuilder {
            config: self.config,
            clock,
            platform: self.platform,
            pager: self.pager,
            env: self.env,
            quick_runner: self.quick_runner,
            delivering: self.delivering,
            action_worker_poll: self.action_worker_poll,
        }
    }

    /// Posts to `platform` (one that outlived a previous process) instead of a new one.
    pub fn platform(mut self, platform: Arc<TestingPlatform>) -> Self {
        self.platform = Some(platform);
        self
    }

    /// With a pager, paging is on and pages go to it.
    pub fn pager(mut self, pager: Option<Arc<dyn Pager>>) -> Self {
        self.pager = pager;
        self
    }

    /// The environment the action runner reads (nothing by default).
    pub fn env(mut self, env: EnvLookup) -> Self {
        self.env = env;
        self
    }

    /// The action worker's loop looks for queued runs only this often unless
    /// woken, so a test can tell a wake-up from a poll.
    pub fn action_worker_polling_every(mut self, poll: Duration) -> Self {
        self.action_worker_poll = Some(poll);
        self
    }

    /// A 200 ms SIGTERM grace and no retry backoff, so stopping and retrying
    /// actions takes no noticeable time.
    pub fn quick_runner(mut self) -> Self {
        self.quick_runner = true;
        self
    }

    /// Every command's messages are delivered before its reply is returned.
    pub fn delivering(mut self) -> Self {
        self.delivering = true;
        self
    }

    /// Builds the process on `backend`'s database (connected and migrated)
    /// through startup's builder; its loops do not run: the test runs passes.
    pub async fn build(self, backend: &Backend) -> Harness<C> {
        let shared: SharedClock = Arc::new(self.clock.clone());
        let platform = self.platform.clone().unwrap_or_else(|| {
            Arc::new(TestingPlatform::standing_in_for(
                Platform::Slack,
                shared.clone(),
            ))
        });
        let config = Config::from_toml_str(&self.config).expect("test config is valid");
        let patience = Instant::now() + Duration::from_secs(5);
        let app = loop {
            let mut builder = app::builder(backend, &[], config.clone())
                .clock(shared.clone())
                .platform(platform.clone())
                .runner(self.runner(&config));
            if let Some(pager) = &self.pager {
                builder = builder.pager(pager.clone());
            }
            if let Some(poll_interval) = self.action_worker_poll {
                builder = builder.action_worker(ActionWorkerSettings {
                    poll_interval,
                    ..ActionWorkerSettings::default()
                });
            }
            match builder.build().await {
                Ok(app) => break app,
                // A restart: a program another test forks inherits every open
                // file, the previous process's SQLite lock file too, until it
                // execs; on a busy machine that takes a moment.
                Err(StartupError::Store(StoreError::Locked(_))) if Instant::now() < patience => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("[{}] warroom builds: {e}", backend.name),
            }
        };
        let engine = app.engine();
        Harness {
            store: engine.store().clone(),
            engine,
            platform,
            dispatcher: app.dispatcher(),
            scheduler: app.scheduler(),
            worker: app.action_worker(),
            pruner: app.pruner(),
            clock: self.clock.clone(),
            config: Arc::new(config),
            setup: self,
        }
    }

    fn runner(&self, config: &Config) -> Runner {
        let runner = Runner::new(self.env.clone(), config.actions().values());
        if self.quick_runner {
            runner.with_timings(Duration::from_millis(200), Duration::ZERO)
        } else {
            runner
        }
    }
}

/// One warroom process on one database.
pub struct Harness<C = ManualClock> {
    pub engine: Engine,
    pub store: Store,
    pub platform: Arc<TestingPlatform>,
    pub dispatcher: Dispatcher,
    pub scheduler: Scheduler,
    pub worker: ActionWorker,
    pub pruner: Pruner,
    pub clock: C,
    pub config: Arc<Config>,
    setup: HarnessBuilder<C>,
}

impl Harness<ManualClock> {
    pub fn builder(config: impl Into<String>) -> HarnessBuilder<ManualClock> {
        HarnessBuilder::new(config)
    }

    /// Moves the manual clock on by `minutes`.
    pub fn minutes(&self, minutes: u64) {
        self.clock.advance(Duration::from_secs(minutes * 60));
    }
}

impl<C: Clock + Clone> Harness<C> {
    /// Stops the process (every database connection closed) and returns how it
    /// was built, with the same platform and clock, to build it again.
    pub async fn shut_down(self) -> HarnessBuilder<C> {
        let Harness {
            engine,
            store,
            platform,
            dispatcher,
            scheduler,
            worker,
            pruner,
            setup,
            ..
        } = self;
        drop((engine, dispatcher, scheduler, worker, pruner));
        store.close().await;
        setup.platform(platform)
    }

    /// The same process started again on the same database: what a restart
    /// after `kill -9` sees.
    pub async fn restart(self, backend: &Backend) -> Self {
        self.shut_down().await.build(backend).await
    }

    /// A second action worker on the same database, as another replica would run.
    pub fn second_worker(&self) -> ActionWorker {
        ActionWorker::new(
            self.engine.clone(),
            self.setup.runner(&self.config),
            self.shared_clock(),
            ActionWorkerSettings::default(),
            Arc::default(),
        )
    }

    pub fn shared_clock(&self) -> SharedClock {
        Arc::new(self.clock.clone())
    }

    /// Parses and handles `/incident <text>` typed by `user` in `channel`.
    pub async fn run(&self, user: &str, channel: &str, text: &str) -> Reply {
        let command = command::parse(text, &*self.config)
            .unwrap_or_else(|e| panic!("`{text}` should parse: {e}"));
        self.handle(user, channel, command, None).await
    }

    pub async fn handle(
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
            room_name: None,
        };
        let reply = self
            .engine
            .handle(&actor, &context, command)
            .await
            .expect("database answers");
        if self.setup.delivering {
            self.deliver().await;
        }
        reply
    }

    /// `user` clicks `button` on incident `id`'s message, as interaction `request`.
    pub async fn click(
        &self,
        user: &str,
        button: ButtonAction,
        id: &IncidentId,
        request: &str,
    ) -> Reply {
        let command = button
            .command(id.as_str(), &UserId::new(user))
            .expect("the button's command");
        self.handle(user, "", command, Some(request)).await
    }

    /// Delivers everything queued, as the dispatcher loop would.
    pub async fn deliver(&self) {
        while self.dispatcher.deliver_due().await.expect("delivery pass") > 0 {}
    }

    /// Alice declares an incident in `#general`; its id and war room.
    pub async fn declare(&self, text: &str) -> (IncidentId, String) {
        self.declare_by("UALICE", text).await
    }

    /// `user` declares an incident in `#general`; its id and war room.
    pub async fn declare_by(&self, user: &str, text: &str) -> (IncidentId, String) {
        let reply = self.run(user, "CGENERAL", text).await;
        let id = id_in(&reply.text());
        self.deliver().await;
        let room = self
            .store
            .incident(&id)
            .await
            .expect("read")
            .and_then(|i| i.room)
            .expect("the war room was created");
        (id, room)
    }

    /// One action worker pass, then delivery; how many runs it ran.
    pub async fn work(&self) -> usize {
        let ran = self.worker.run_due().await.expect("worker pass");
        self.deliver().await;
        ran
    }

    /// Worker passes until no run is left to run; how many runs ran.
    pub async fn work_until_idle(&self) -> usize {
        let mut ran = 0;
        loop {
            let pass = self.work().await;
            if pass == 0 {
                return ran;
            }
            ran += pass;
        }
    }

    /// Everything posted in `room`, one message a line.
    pub fn room_text(&self, room: &str) -> String {
        self.platform.texts_in(room).join("\n")
    }

    pub async fn runs(&self, id: &IncidentId) -> Vec<ActionRun> {
        self.store.action_runs_of(id).await.expect("read")
    }

    pub async fn statuses(&self, id: &IncidentId) -> Vec<RunStatus> {
        self.runs(id).await.iter().map(|run| run.status).collect()
    }

    /// Each run's action with its status.
    pub async fn named_statuses(&self, id: &IncidentId) -> Vec<(String, RunStatus)> {
        self.runs(id)
            .await
            .into_iter()
            .map(|run| (run.action, run.status))
            .collect()
    }

    pub async fn timeline(&self, id: &IncidentId) -> Vec<(EventKind, String)> {
        self.store
            .timeline(id)
            .await
            .expect("read")
            .into_iter()
            .map(|event| (event.kind, event.text))
            .collect()
    }

    /// The texts of the timeline's events of `kind`.
    pub async fn timeline_texts(&self, id: &IncidentId, kind: EventKind) -> Vec<String> {
        self.timeline(id)
            .await
            .into_iter()
            .filter(|(event, _)| *event == kind)
            .map(|(_, text)| text)
            .collect()
    }

    /// What the web server over this database and clock is given.
    pub fn web_state(&self, api_token: Option<&str>) -> WebState {
        WebState {
            store: self.store.clone(),
            clock: self.shared_clock(),
            config: self.config.clone(),
            api_token: api_token.map(Secret::new),
            api_private_token: None,
            metrics: None,
            engine: Some(self.engine.clone()),
        }
    }
}

/// Serves warroom's HTTP endpoints on a free local port; their base URL, and
/// the task serving them.
pub async fn serve(state: WebState) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("bound");
    let served =
        tokio::spawn(async move { axum::serve(listener, warroom::web::router(state)).await });
    (format!("http://{address}"), served)
}

/// The token [`Harness::web_state`] is given by tests that call the JSON API.
pub const API_TOKEN: &str = "t0ken";

/// `GET /api/incidents/{id}` from the server at `base`, with [`API_TOKEN`].
pub async fn api_incident(base: &str, id: &IncidentId) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{base}/api/incidents/{id}"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .expect("the API answers")
        .json()
        .await
        .expect("a JSON body")
}

/// The first incident id in `text`.
pub fn id_in(text: &str) -> IncidentId {
    let start = text
        .find("INC-")
        .unwrap_or_else(|| panic!("no incident id in `{text}`"));
    text[start..start + 16].parse().expect("a well-formed id")
}
