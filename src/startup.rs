//! Wiring: from settings and config to a running warroom.
//!
//! Owns: the order things start in (database, migrations, engine, delivery loop,
//! scheduler, HTTP server) and the startup log that says which platforms run and why the
//! others do not. Must not: hold incident logic.

use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, FeatureStatus, Settings};
use crate::engine::{Engine, EngineSettings};
use crate::outbox::{
    ChatPlatform, Dispatcher, DispatcherSettings, Pager, PagerDuty, PagerSetupError,
};
use crate::schedule::{Scheduler, SchedulerSettings};
use crate::store::{Store, StoreError};
use crate::web::{self, WebState};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
    #[error("paging: {0}")]
    Pager(#[from] PagerSetupError),
}

/// A built, not yet running, warroom.
pub struct Application {
    listener: TcpListener,
    engine: Engine,
    dispatcher: Dispatcher,
    scheduler: Scheduler,
    web: WebState,
}

impl Application {
    /// Connects and migrates the database, builds the engine and the delivery loop,
    /// and binds the HTTP listener (port 0 picks a free port, for tests).
    pub async fn build(settings: Settings, config: Config) -> Result<Self, StartupError> {
        let clock: SharedClock = Arc::new(SystemClock);
        let store = Store::connect(settings.database_url.expose()).await?;
        store.migrate().await?;
        tracing::info!(backend = ?store.backend(), "database ready");

        // Each optional part says whether it runs and why not; parts whose
        // credentials are present but which this version does not ship yet say so,
        // rather than letting a team believe they are live.
        for status in [
            settings.slack_status(&config),
            settings.discord_status(&config),
            settings.api_status(),
        ] {
            log_feature(&status);
        }
        // Paging ships with this version: its status is plain news, not a warning.
        tracing::info!("{}", settings.pagerduty_status());
        let pager = PagerDuty::from_settings(&settings.pagerduty)?
            .map(|pagerduty| Arc::new(pagerduty) as Arc<dyn Pager>);

        let platforms: Vec<Arc<dyn ChatPlatform>> = Vec::new();
        let wakeup = Arc::new(Notify::new());
        let mut engine_settings = EngineSettings::from_config(&config);
        engine_settings.paging = pager.is_some();
        let engine = Engine::new(
            store.clone(),
            Arc::new(config),
            clock.clone(),
            engine_settings,
            wakeup.clone(),
        );
        let dispatcher = Dispatcher::with_pager(
            store.clone(),
            platforms,
            pager,
            clock.clone(),
            DispatcherSettings::default(),
            wakeup,
        );
        let scheduler = Scheduler::new(engine.clone(), clock.clone(), SchedulerSettings::default());

        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartupError::Listen {
                    address: settings.listen,
                    source,
                })?;
        Ok(Self {
            listener,
            engine,
            dispatcher,
            scheduler,
            web: WebState { store, clock },
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into())
    }

    pub fn engine(&self) -> Engine {
        self.engine.clone()
    }

    /// Serves until `shutdown` completes, then stops the delivery loop and the scheduler too.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let stop = Arc::new(Notify::new());
        let stop_delivery = stop.clone();
        let delivery = tokio::spawn(
            self.dispatcher
                .run(async move { stop_delivery.notified().await }),
        );
        let stop_schedule = Arc::new(Notify::new());
        let stop_scheduler = stop_schedule.clone();
        let schedule = tokio::spawn(
            self.scheduler
                .run(async move { stop_scheduler.notified().await }),
        );
        let router = web::router(self.web);
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(StartupError::Serve);
        stop.notify_one();
        stop_schedule.notify_one();
        if let Err(error) = delivery.await {
            tracing::error!(%error, "delivery loop ended abnormally");
        }
        if let Err(error) = schedule.await {
            tracing::error!(%error, "scheduler ended abnormally");
        }
        served
    }
}

fn log_feature(status: &FeatureStatus) {
    if status.is_enabled() {
        tracing::warn!("{status}, but this version of warroom does not include it yet");
    } else {
        tracing::info!("{status}");
    }
}
