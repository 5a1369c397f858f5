//! The action worker: leases queued runs (the same lease mechanism as the
//! outbox and the reminders), runs them with the [`Runner`], and hands each
//! result to the engine, which records it and posts it in the war room. Page
//! and status runs are carried out by the engine itself, in the transaction
//! that finishes them.
//! Runs whose holder stopped mid-way are reported once, and run again only
//! when their action says `rerun_on_restart` (or is a page or status action,
//! which cannot have done anything half-way).
//!
//! Each pass also cancels the runs whose approval did not come in time. That
//! sweep is here rather than in the scheduler because this loop already looks
//! at the action runs every few seconds and whenever a run changes; the
//! scheduler sleeps until its next reminder row, which an approval is not.
//!
//! Must not: write SQL or post anything itself (the store and the engine do).

use super::{run_loop, unique_owner};
use crate::actions::{Outcome, RunResult, Runner};
use crate::clock::SharedClock;
use crate::domain::ActionRun;
use crate::engine::{Engine, EngineError, performed_by_engine};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify, watch};
use tokio::task::{JoinError, JoinSet};

/// Extra lease time beyond a run's timeouts, for its backoff and reporting.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// How often a running run's row is checked for a stop request.
const STOP_POLL: Duration = Duration::from_millis(500);

/// Tuning of the action worker's loop.
#[derive(Debug, Clone)]
pub struct ActionWorkerSettings {
    /// Names this worker in leases; unique per process.
    pub owner: String,
    /// How many queued runs one pass claims.
    pub batch: u32,
    /// The longest the loop sleeps without looking (runs queued by other replicas
    /// do not poke this process).
    pub poll_interval: Duration,
}

impl Default for ActionWorkerSettings {
    fn default() -> Self {
        Self {
            owner: unique_owner("actions"),
            batch: 16,
            poll_interval: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
pub struct ActionWorker {
    engine: Engine,
    runner: Runner,
    clock: SharedClock,
    owner: Arc<str>,
    wakeup: Arc<Notify>,
    batch: u32,
    poll_interval: Duration,
}

impl ActionWorker {
    /// `wakeup` is the notifier the engine pokes after committing a runnable run.
    pub fn new(
        engine: Engine,
        runner: Runner,
        clock: SharedClock,
        settings: ActionWorkerSettings,
        wakeup: Arc<Notify>,
    ) -> Self {
        Self {
            engine,
            runner,
            clock,
            owner: settings.owner.into(),
            wakeup,
            batch: settings.batch,
            poll_interval: settings.poll_interval,
        }
    }

    /// How long a claimed run is held: enough for every attempt of the slowest
    /// configured action, so a live run is never taken for an abandoned one.
    fn lease(&self) -> Duration {
        let longest = self
            .engine
            .config()
            .actions()
            .values()
            .map(|action| {
                let attempts = action.retries.saturating_add(1);
                action
                    .timeout
                    .saturating_add(LEASE_MARGIN)
                    .saturating_mul(attempts)
            })
            .max()
            .unwrap_or_default();
        longest.saturating_add(LEASE_MARGIN)
    }

    /// One pass run to its end: [`ActionWorker::start_due`], then waits for
    /// every run it started. Returns how many ran.
    pub async fn run_due(&self) -> Result<usize, EngineError> {
        let mut running = JoinSet::new();
        let count = self.start_due(&mut running).await?;
        while let Some(ended) = running.join_next().await {
            ended.unwrap_or_else(task_died)?;
        }
        Ok(count)
    }

    /// Cancels runs whose approval is overdue, reports runs abandoned by a
    /// stopped process, then claims the queued runs and starts each in
    /// `running`, where it goes on beside the next passes: a long run must not
    /// keep a run queued after it waiting. Returns how many it started.
    async fn start_due(
        &self,
        running: &mut JoinSet<Result<(), EngineError>>,
    ) -> Result<usize, EngineError> {
        self.expire_approvals().await?;
        let store = self.engine.store();
        for abandoned in store.abandoned_action_runs(self.clock.now()).await? {
            let rerun = self
                .engine
                .config()
                .action(&abandoned.action)
                .is_some_and(|action| action.rerun_on_restart || performed_by_engine(action));
            self.engine.action_interrupted(&abandoned, rerun).await?;
        }
        let claimed = store
            .claim_action_runs(&self.owner, self.clock.now(), self.lease(), self.batch)
            .await?;
        let count = claimed.len();
        for run in claimed {
            let worker = self.clone();
            running.spawn(async move { worker.execute(&run).await });
        }
        Ok(count)
    }

    /// Hands the runs that have waited for approval at least as long as the
    /// shortest expiry to the engine, which cancels those past their own
    /// action's deadline. Every action counts, not only those with `approval`:
    /// a runbook's first step waits for the runbook's approval under its own
    /// action's expiry.
    async fn expire_approvals(&self) -> Result<(), EngineError> {
        let shortest = self
            .engine
            .config()
            .actions()
            .values()
            .map(|action| action.approval_expires_after)
            .min()
            .unwrap_or_default();
        let before = self.clock.now() - chrono::TimeDelta::from_std(shortest).unwrap_or_default();
        let waiting = self
            .engine
            .store()
            .action_runs_awaiting_approval(before)
            .await?;
        for run in &waiting {
            if self.engine.approval_expired(run).await? {
                tracing::info!(run = run.id, action = %run.action, "approval expired");
            }
        }
        Ok(())
    }

    async fn execute(&self, run: &ActionRun) -> Result<(), EngineError> {
        let outcome = match self.engine.config().action(&run.action) {
            None => failure(format!("action `{}` is no longer configured", run.action)),
            Some(action) if performed_by_engine(action) => {
                return self.perform(run).await;
            }
            Some(action) => {
                let (stop, cancel) = watch::channel(false);
                let running = self.runner.run(action, &run.params, cancel);
                let watching = self.watch_for_stop(run.id, stop);
                tokio::pin!(running);
                // The watcher never ends by itself; the run does.
                let ran = tokio::select! {
                    ran = &mut running => ran,
                    () = watching => running.await,
                };
                match ran {
                    Ok(outcome) => outcome,
                    Err(error) => failure(error.to_string()),
                }
            }
        };
        tracing::info!(run = run.id, action = %run.action, result = outcome.result.as_str(), "action run ended");
        if !self
            .engine
            .action_finished(run, &self.owner, &outcome)
            .await?
        {
            tracing::warn!(
                run = run.id,
                "action run was no longer held; its result was not recorded"
            );
        }
        Ok(())
    }

    /// A page or status run: the engine writes its effect and finishes it at once.
    async fn perform(&self, run: &ActionRun) -> Result<(), EngineError> {
        if self.engine.perform_action(run, &self.owner).await? {
            tracing::info!(run = run.id, action = %run.action, "action run carried out");
        } else {
            tracing::warn!(
                run = run.id,
                "action run was no longer held; it was not carried out"
            );
        }
        Ok(())
    }

    /// Polls the run's row for a stop request (`/incident cancel` on a running
    /// run, possibly on another replica) and passes it to the runner.
    async fn watch_for_stop(&self, id: i64, stop: watch::Sender<bool>) {
        loop {
            tokio::time::sleep(STOP_POLL).await;
            match self.engine.store().action_run_stop_requested(id).await {
                Ok(true) => {
                    let _ = stop.send(true);
                    std::future::pending::<()>().await;
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, run = id, "could not check for a stop request")
                }
            }
        }
    }

    /// Runs queued runs until `shutdown` completes. A run still going at
    /// shutdown is dropped with its program; on the next start it is reported
    /// as interrupted once its lease has run out.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        // Passes never overlap; the lock only lends the set to each in turn.
        let running = Mutex::new(JoinSet::new());
        let (this, running_ref) = (&self, &running);
        let pass = move || async move {
            let mut running = running_ref.lock().await;
            // Report the runs that ended since the last pass, so the set holds
            // only those under way.
            while let Some(ended) = running.try_join_next() {
                if let Err(error) = ended.unwrap_or_else(task_died) {
                    tracing::warn!(%error, "recording an action run's end failed; the run returns when its lease ends");
                }
            }
            this.start_due(&mut running).await?;
            Ok::<_, EngineError>(this.poll_interval)
        };
        run_loop(
            "action worker",
            &self.owner,
            self.wakeup.clone(),
            self.poll_interval,
            shutdown,
            pass,
        )
        .await;
        running.into_inner().shutdown().await;
    }
}

/// A run whose task panicked: its row stays leased, and the run is reported
/// as interrupted once the lease ends, like a run of a stopped process.
fn task_died(died: JoinError) -> Result<(), EngineError> {
    tracing::error!(error = %died, "an action run's task died; the run is reported when its lease ends");
    Ok(())
}

fn failure(detail: String) -> Outcome {
    Outcome {
        result: RunResult::Failed,
        detail,
        output: String::new(),
        output_hash: String::new(),
        attempts: 0,
    }
}
