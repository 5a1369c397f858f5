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

use super::{Outcome, RunResult, Runner};
use crate::clock::SharedClock;
use crate::domain::ActionRun;
use crate::engine::{Engine, EngineError, performed_by_engine};
use futures_util::future::join_all;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Extra lease time beyond a run's timeouts, for its backoff and reporting.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// How often a running run's row is checked for a stop request.
const STOP_POLL: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct ActionWorker {
    engine: Engine,
    runner: Runner,
    clock: SharedClock,
    owner: Arc<str>,
    wakeup: Arc<Notify>,
    /// How many queued runs one pass claims.
    batch: u32,
    /// The longest the loop sleeps without looking (runs queued by other replicas
    /// do not poke this process).
    poll_interval: Duration,
}

impl ActionWorker {
    pub fn new(engine: Engine, runner: Runner, clock: SharedClock) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_nanos())
            .unwrap_or_default();
        Self {
            wakeup: engine.actions_notifier(),
            engine,
            runner,
            clock,
            owner: format!("actions-{}-{started}", std::process::id()).into(),
            batch: 16,
            poll_interval: Duration::from_secs(5),
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

    /// One pass: cancels runs whose approval is overdue, reports runs abandoned
    /// by a stopped process, then claims the queued runs and runs them
    /// (concurrently) to the end. Returns how many ran.
    pub async fn run_due(&self) -> Result<usize, EngineError> {
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
        let results = join_all(claimed.iter().map(|run| self.execute(run))).await;
        results.into_iter().collect::<Result<Vec<_>, _>>()?;
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
        tokio::pin!(shutdown);
        tracing::info!(owner = %self.owner, "action worker started");
        loop {
            let pass = self.clone();
            let task = tokio::spawn(async move {
                if let Err(error) = pass.run_due().await {
                    tracing::warn!(%error, "action worker pass failed; its runs return when their leases end");
                }
            });
            tokio::select! {
                biased;
                () = &mut shutdown => {
                    task.abort();
                    break;
                }
                () = self.wakeup.notified() => {}
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        tracing::info!(owner = %self.owner, "action worker stopped");
    }
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
