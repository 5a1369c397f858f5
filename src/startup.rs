//! Wiring: from settings and config to a running warroom.
//!
//! Owns: the order things start in (database, migrations, engine, platforms,
//! delivery loop, scheduler, action worker, pruner, HTTP server), the background tasks and how they stop,
//! and the startup log that says which platforms run and why the others do not.
//! It is the one way warroom is put together: `warroom serve`, `warroom console`,
//! `warroom simulate` and the tests all build through [`ApplicationBuilder`]; the
//! console, the simulation and the tests give their own clock, chat platform,
//! pager and action runner.
//! Must not: hold incident logic.

use crate::actions::{EnvLookup, Runner};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, Settings};
use crate::discord::{Discord, DiscordError};
use crate::domain::Platform;
use crate::engine::{Engine, EngineSettings, Wakeups};
use crate::outbox::{ChatPlatform, Pager, PagerDuty, PagerSetupError};
use crate::slack::{Slack, SlackError, SlackService};
use crate::store::{Backend, Store, StoreError};
use crate::telemetry;
use crate::trackers::{self, TrackerSetupError};
use crate::web::{self, WebState};
use crate::workers::{
    ActionWorker, ActionWorkerSettings, Dispatcher, DispatcherSettings, Inbox, InboxWorker, Pruner,
    PrunerSettings, Replay, Scheduler, SchedulerSettings,
};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("Slack: {0}")]
    Slack(#[from] SlackError),
    #[error("Discord: {0}")]
    Discord(#[from] DiscordError),
    #[error("paging: {0}")]
    Pager(#[from] PagerSetupError),
    #[error("trackers: {0}")]
    Tracker(#[from] TrackerSetupError),
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// A built, not yet running, warroom.
pub struct Application {
    listener: TcpListener,
    engine: Engine,
    dispatcher: Dispatcher,
    scheduler: Scheduler,
    actions: ActionWorker,
    inbox: InboxWorker,
    pruner: Pruner,
    web: WebState,
    slack: Option<SlackService>,
    discord: Option<Discord>,
    /// `WARROOM_ALERTS_TOKEN` and `PAGERDUTY_WEBHOOK_SECRET`, for the webhooks.
    hook_secrets: web::hooks::HookSecrets,
    /// Endpoints of the enabled platforms, merged into the server.
    platform_routes: Vec<axum::Router>,
}

/// What a warroom is built from: its settings and config, and any part given
/// instead of the one they would make. `warroom serve` gives none; the tests
/// give a clock they move, an in-process chat platform, a fake pager and a
/// runner with short timings, and reach fake Slack and Discord servers through
/// the settings' API URLs.
pub struct ApplicationBuilder {
    settings: Settings,
    config: Config,
    clock: SharedClock,
    platforms: Vec<Arc<dyn ChatPlatform>>,
    pager: Option<Arc<dyn Pager>>,
    runner: Option<Runner>,
    action_worker: ActionWorkerSettings,
    scheduler: SchedulerSettings,
    announce_channels: Vec<(Platform, String)>,
}

impl ApplicationBuilder {
    /// Everything reads the time from `clock` instead of the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Delivers through `platform` too; it takes over its platform's messages
    /// from a client the settings enable for the same platform.
    pub fn platform(mut self, platform: Arc<dyn ChatPlatform>) -> Self {
        self.platforms.push(platform);
        self
    }

    /// Pages through `pager` (and so turns paging on) instead of the PagerDuty
    /// client the settings configure.
    pub fn pager(mut self, pager: Arc<dyn Pager>) -> Self {
        self.pager = Some(pager);
        self
    }

    /// Runs actions with `runner` instead of one reading the process environment.
    pub fn runner(mut self, runner: Runner) -> Self {
        self.runner = Some(runner);
        self
    }

    /// Tunes the action worker's loop (how often it looks without a wake-up).
    pub fn action_worker(mut self, settings: ActionWorkerSettings) -> Self {
        self.action_worker = settings;
        self
    }

    /// Tunes the scheduler's loop (how long it sleeps at most between looks).
    pub fn scheduler(mut self, settings: SchedulerSettings) -> Self {
        self.scheduler = settings;
        self
    }

    /// Announces declarations on `platform` in `channel`, for a platform the
    /// config has no section for (the console).
    pub fn announce_channel(mut self, platform: Platform, channel: impl Into<String>) -> Self {
        self.announce_channels.push((platform, channel.into()));
        self
    }

    /// Connects and migrates the database, builds the engine, the enabled platforms
    /// and the delivery loop, and binds the HTTP listener (port 0 picks a free port).
    pub async fn build(self) -> Result<Application, StartupError> {
        let Self {
            settings,
            config,
            clock,
            platforms: given_platforms,
            pager,
            runner,
            action_worker,
            scheduler,
            announce_channels,
        } = self;
        let store = Store::connect(settings.database_url.expose()).await?;
        store.migrate().await?;
        if store.backend() == Backend::Sqlite {
            // This process holds the file lock, so whoever leased rows before is dead.
            let ended = store.take_over_leases().await?;
            if ended > 0 {
                tracing::info!(ended, "took over the leases of the previous process");
            }
        }
        tracing::info!(backend = ?store.backend(), "database ready");

        // Each optional part says whether it runs and, if not, why not.
        let slack_status = settings.slack_status(&config);
        let discord_status = settings.discord_status(&config);
        for status in [
            &slack_status,
            &discord_status,
            &settings.pagerduty_status(),
            &settings.tracker_status(&config),
            &settings.api_status(),
            &settings.alerts_status(),
        ] {
            tracing::info!("{status}");
        }
        let pager = match pager {
            Some(pager) => Some(pager),
            None => PagerDuty::from_settings(&settings.pagerduty)?
                .map(|pagerduty| Arc::new(pagerduty) as Arc<dyn Pager>),
        };

        // Before anything can record: metrics recorded earlier would be lost.
        let metrics = telemetry::install();
        let mut platforms: Vec<Arc<dyn ChatPlatform>> = Vec::new();
        let mut platform_routes = Vec::new();
        let slack = match config.slack() {
            Some(slack_config) if slack_status.is_enabled() => {
                let slack = Slack::new(&settings.slack, slack_config)?;
                platforms.push(slack.platform());
                Some(slack)
            }
            _ => None,
        };
        let trackers = trackers::follow_up_trackers(&settings.trackers, &config)?;
        let wakeups = Wakeups::default();
        let mut engine_settings = EngineSettings::from_config(&config);
        engine_settings.paging = pager.is_some();
        engine_settings.filing = trackers.first().map(|tracker| tracker.tracker());
        engine_settings.announce_channels.extend(announce_channels);
        let config = Arc::new(config);
        let engine = Engine::new(
            store.clone(),
            config.clone(),
            clock.clone(),
            engine_settings,
            wakeups.clone(),
        );
        let inbox = Inbox::new(store.clone(), clock.clone());
        let discord = if discord_status.is_enabled() {
            let mut discord = Discord::new(
                &settings.discord,
                config.clone(),
                engine.clone(),
                inbox.clone(),
            )?;
            platforms.push(discord.platform());
            platform_routes.extend(discord.take_routes(clock.clone()));
            Some(discord)
        } else {
            None
        };
        if let (Some(github), Some(secret)) = (
            &config.trackers().github,
            &settings.trackers.github_webhook_secret,
        ) {
            platform_routes.push(web::github_hook::router(
                engine.clone(),
                secret.clone(),
                github.repository.clone(),
            ));
        }
        // Given platforms last: the dispatcher keeps the last one per platform.
        platforms.extend(given_platforms);
        let dispatcher = Dispatcher::with_services(
            store.clone(),
            platforms,
            pager,
            trackers,
            clock.clone(),
            DispatcherSettings::default(),
            wakeups.outbox.clone(),
        );
        let slack = slack.map(|slack| slack.attach(engine.clone(), inbox.clone(), clock.clone()));
        let replays: Vec<Arc<dyn Replay>> = slack
            .iter()
            .map(SlackService::replay)
            .chain(discord.iter().map(Discord::replay))
            .collect();
        let inbox = InboxWorker::new(inbox, replays);
        let scheduler = Scheduler::new(
            engine.clone(),
            clock.clone(),
            scheduler,
            wakeups.schedule.clone(),
        );
        let runner = runner.unwrap_or_else(|| {
            let env: EnvLookup = Arc::new(|name: &str| std::env::var(name).ok());
            Runner::new(env, config.actions().values())
        });
        let actions = ActionWorker::new(
            engine.clone(),
            runner,
            clock.clone(),
            action_worker,
            wakeups.actions,
        );
        let pruner = Pruner::new(
            store.clone(),
            clock.clone(),
            config.retention(),
            PrunerSettings::default(),
        );

        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartupError::Listen {
                    address: settings.listen,
                    source,
                })?;
        Ok(Application {
            listener,
            dispatcher,
            scheduler,
            actions,
            inbox,
            pruner,
            web: WebState {
                store,
                clock,
                config,
                api_token: settings.api_token,
                api_private_token: settings.api_private_token,
                metrics,
                engine: Some(engine.clone()),
            },
            engine,
            slack,
            discord,
            hook_secrets: web::hooks::HookSecrets {
                alerts_token: settings.alerts_token,
                pagerduty: settings.pagerduty_webhook_secret,
            },
            platform_routes,
        })
    }
}

impl Application {
    /// What `warroom serve` runs: everything built from `settings` and `config`.
    pub async fn build(settings: Settings, config: Config) -> Result<Self, StartupError> {
        Self::builder(settings, config).build().await
    }

    /// A warroom built from `settings` and `config`, with parts to give instead.
    pub fn builder(settings: Settings, config: Config) -> ApplicationBuilder {
        ApplicationBuilder {
            settings,
            config,
            clock: Arc::new(SystemClock),
            platforms: Vec::new(),
            pager: None,
            runner: None,
            action_worker: ActionWorkerSettings::default(),
            scheduler: SchedulerSettings::default(),
            announce_channels: Vec::new(),
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into())
    }

    pub fn engine(&self) -> Engine {
        self.engine.clone()
    }

    /// The delivery loop, whose passes can also be run one at a time.
    pub fn dispatcher(&self) -> Dispatcher {
        self.dispatcher.clone()
    }

    /// The scheduler, whose passes can also be run one at a time.
    pub fn scheduler(&self) -> Scheduler {
        self.scheduler.clone()
    }

    /// The action worker, whose passes can also be run one at a time.
    pub fn action_worker(&self) -> ActionWorker {
        self.actions.clone()
    }

    /// The pruner, whose passes can also be run one at a time.
    pub fn pruner(&self) -> Pruner {
        self.pruner.clone()
    }

    /// Serves until `shutdown` completes, then stops the delivery loop, the
    /// scheduler, the action worker, the pruner and the platform connections,
    /// and waits for them.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let (stop, stopped) = watch::channel(());
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                // Either a stop was sent or the sender is gone: both mean stop.
                let _ = stopped.changed().await;
            }
        };
        let mut tasks: Vec<(&str, JoinHandle<()>)> = vec![
            (
                "delivery loop",
                tokio::spawn(self.dispatcher.run(until_stopped())),
            ),
            (
                "scheduler",
                tokio::spawn(self.scheduler.run(until_stopped())),
            ),
            (
                "action worker",
                tokio::spawn(self.actions.run(until_stopped())),
            ),
            (
                "inbox worker",
                tokio::spawn(self.inbox.run(until_stopped())),
            ),
            ("pruner", tokio::spawn(self.pruner.run(until_stopped()))),
        ];
        let mut router = self
            .platform_routes
            .into_iter()
            .fold(web::router(self.web), axum::Router::merge)
            .merge(web::hooks::router(self.engine, self.hook_secrets));
        if let Some(slack) = self.slack {
            if let Some(routes) = slack.routes() {
                router = router.merge(routes);
            }
            tasks.push(("Slack connection", tokio::spawn(slack.run(until_stopped()))));
        }
        if let Some(discord) = self.discord {
            tasks.push((
                "Discord adapter",
                tokio::spawn(discord.run(until_stopped())),
            ));
        }
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(StartupError::Serve);
        let _ = stop.send(());
        for (name, task) in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "{name} ended abnormally");
            }
        }
        served
    }
}
