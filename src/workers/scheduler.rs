//! The scheduler loop: lease due reminder rows and hand each to the engine.

use super::{Heartbeat, SHORT_LEASE, run_loop, unique_owner};
use crate::clock::SharedClock;
use crate::engine::{Engine, EngineError, Fired};
use crate::schedule::Reminder;
use crate::store::LeasedWork;
use crate::telemetry;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Tuning of the scheduler loop.
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// Names this scheduler in leases; unique per process.
    pub owner: String,
    /// How long a claimed row stays ours unless renewed; a crashed process's rows
    /// fire elsewhere after it.
    pub lease: Duration,
    /// How many due rows one pass claims.
    pub batch: u32,
    /// The longest the loop sleeps without looking: rows planned by other
    /// replicas do not poke this process.
    pub poll_interval: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            owner: unique_owner("scheduler"),
            lease: SHORT_LEASE,
            batch: 64,
            poll_interval: Duration::from_secs(5),
        }
    }
}

/// Fires due reminders through the engine.
#[derive(Clone)]
pub struct Scheduler {
    engine: Engine,
    clock: SharedClock,
    settings: SchedulerSettings,
    wakeup: Arc<Notify>,
}

impl Scheduler {
    /// `wakeup` is the notifier the engine pokes after planning or moving reminders,
    /// so an earlier one is not missed while the loop sleeps.
    pub fn new(
        engine: Engine,
        clock: SharedClock,
        settings: SchedulerSettings,
        wakeup: Arc<Notify>,
    ) -> Self {
        Self {
            engine,
            clock,
            settings,
            wakeup,
        }
    }

    /// One pass: claims what is due (earliest first) and fires it. Returns how
    /// many rows were claimed.
    pub async fn run_due(&self) -> Result<usize, EngineError> {
        let settings = &self.settings;
        let claimed: Vec<Reminder> = self
            .engine
            .store()
            .claim_reminders(
                &settings.owner,
                self.clock.now(),
                settings.lease,
                settings.batch,
            )
            .await?;
        for reminder in &claimed {
            match self.engine.fire(reminder, &settings.owner).await? {
                Fired::Done(outcome) => {
                    let lateness = (self.clock.now() - reminder.due_at)
                        .to_std()
                        .unwrap_or_default();
                    telemetry::reminder(reminder.kind.as_str(), outcome.as_str(), lateness);
                    tracing::debug!(id = reminder.id, incident = %reminder.incident, kind = reminder.kind.as_str(), outcome = outcome.as_str(), "reminder done");
                }
                Fired::Dropped => {
                    tracing::debug!(id = reminder.id, incident = %reminder.incident, kind = reminder.kind.as_str(), "reminder cancelled meanwhile or taken over");
                }
            }
        }
        Ok(claimed.len())
    }

    /// Fires reminders until `shutdown` completes, sleeping until the next one is
    /// due (or the engine plans an earlier one). Rows left unfired stay in the
    /// database for the next process.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let settings = &self.settings;
        let this = &self;
        let pass = move || async move {
            let claimed = this.run_due().await?;
            Ok::<_, EngineError>(if claimed >= settings.batch as usize {
                Duration::ZERO
            } else {
                this.until_next_due().await
            })
        };
        let heartbeat = Heartbeat::start(
            self.engine.store().clone(),
            LeasedWork::Reminders,
            settings.owner.clone(),
            settings.lease,
            self.clock.clone(),
        );
        run_loop(
            "scheduler",
            &settings.owner,
            self.wakeup.clone(),
            settings.poll_interval,
            shutdown,
            pass,
        )
        .await;
        heartbeat.stop().await;
    }

    /// How long to sleep: until the next row is due, at most the poll interval.
    async fn until_next_due(&self) -> Duration {
        let poll = self.settings.poll_interval;
        let now = self.clock.now();
        match self.engine.store().next_reminder_due(now).await {
            Ok(Some(next)) => (next - now).to_std().unwrap_or_default().min(poll),
            Ok(None) => poll,
            Err(error) => {
                tracing::warn!(%error, "cannot read when the next reminder is due");
                poll
            }
        }
    }
}
