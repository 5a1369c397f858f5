//! The action_runs table: every requested run of an action, kept for good as the
//! audit trail (who asked, who approved, the parameters, the result, a hash of
//! the output).
//!
//! Queued runs are claimed through the shared lease mechanism (`lease`); a
//! status only moves from the status the caller saw (compare-and-set), so a
//! double-clicked Approve or a cancel racing a worker changes a run once.
//!
//! Must not: decide who may run, approve or cancel what, or execute anything.

use super::lease::{self, Leased, LeasedWork};
use super::queries::{IncidentRows, fetch_all, moved_by, moved_one};
use super::rows::{get_flag, get_json, get_opt_time, get_opt_user, get_parsed, get_time};
use super::rows::{get_user, millis, narrow, to_json};
use super::{Store, StoreError, Tx};
use crate::domain::{ActionRun, IncidentId, RunStatus, StepRef, UserId};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use std::collections::BTreeMap;
use std::time::Duration;

const COLUMNS: &str = "SELECT id, incident_id, action, params, status, requested_by, approved_by, \
     created_at, started_at, finished_at, attempts, result, output, output_hash, \
     runbook_run_id, step_index, fallback FROM action_runs";

/// An incident's action runs, oldest first.
pub(super) const ACTION_RUNS: IncidentRows<ActionRun> = IncidentRows {
    select: COLUMNS,
    order: "id",
    decode: run,
};

const RUNS: Leased = Leased {
    table: LeasedWork::ActionRuns.table(),
    select: COLUMNS,
    candidates: "WHERE status = 'queued' AND (lease_until IS NULL OR lease_until < $1) \
                 ORDER BY id LIMIT $2",
    claimable: "status = 'queued'",
    start: Some(
        "UPDATE action_runs SET status = 'running', started_at = $3, attempts = attempts + 1 \
         WHERE id = $1 AND lease_owner = $2 AND status = 'queued'",
    ),
};

/// A run to record: of an action asked for by itself, or (with `step`) of a
/// runbook step or of its fallback.
pub struct NewRun<'a> {
    pub action: &'a str,
    pub params: &'a BTreeMap<String, String>,
    pub status: RunStatus,
    pub step: Option<StepRef>,
}

/// What a finished run produced.
pub struct RunReport<'a> {
    pub status: RunStatus,
    pub result: &'a str,
    pub output: &'a str,
    pub output_hash: &'a str,
}

impl Store {
    /// Leases up to `limit` queued action runs, oldest first, and marks them
    /// running. A lease expires after `lease`; the holder must finish before.
    pub async fn claim_action_runs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ActionRun>, StoreError> {
        let mut running = self
            .claim_leased(&RUNS, owner, now, lease, limit, run)
            .await?;
        for claimed in &mut running {
            claimed.status = RunStatus::Running;
            claimed.started_at = Some(now);
            claimed.attempts += 1;
        }
        Ok(running)
    }

    /// The running action runs whose holder stopped (their lease ran out by
    /// `now`); each is ended with [`Tx::interrupt_action_run`].
    pub async fn abandoned_action_runs(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<ActionRun>, StoreError> {
        self.runs_where(
            "status = 'running' AND (lease_until IS NULL OR lease_until < $1)",
            now,
        )
        .await
    }

    /// The action runs still waiting for an approval that were requested at or
    /// before `before`, oldest first.
    pub async fn action_runs_awaiting_approval(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<ActionRun>, StoreError> {
        self.runs_where("status = 'awaiting_approval' AND created_at <= $1", before)
            .await
    }

    /// The runs meeting `condition`, in which `$1` is `at`, oldest first.
    async fn runs_where(
        &self,
        condition: &'static str,
        at: DateTime<Utc>,
    ) -> Result<Vec<ActionRun>, StoreError> {
        let sql = format!("{COLUMNS} WHERE {condition} ORDER BY id");
        let query = sqlx::query(AssertSqlSafe(sql)).bind(millis(at));
        fetch_all(query, &self.pool, run).await
    }

    /// Whether someone asked to stop action run `id` while it ran.
    pub async fn action_run_stop_requested(&self, id: i64) -> Result<bool, StoreError> {
        let by: Option<Option<String>> =
            sqlx::query_scalar("SELECT stop_requested_by FROM action_runs WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(by.flatten().is_some())
    }

    /// Every action run of an incident, oldest first.
    pub async fn action_runs_of(
        &self,
        incident: &IncidentId,
    ) -> Result<Vec<ActionRun>, StoreError> {
        ACTION_RUNS
            .all(&mut *self.pool.acquire().await?, incident)
            .await
    }
}

impl Tx {
    /// Records a requested action run; returns its number.
    pub async fn request_action_run(
        &mut self,
        incident: &IncidentId,
        action: &str,
        params: &BTreeMap<String, String>,
        status: RunStatus,
        requested_by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let run = NewRun {
            action,
            params,
            status,
            step: None,
        };
        self.request_run(incident, &run, requested_by, now).await
    }

    /// Records a run; returns its number.
    pub async fn request_run(
        &mut self,
        incident: &IncidentId,
        run: &NewRun<'_>,
        requested_by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let NewRun {
            action,
            params,
            status,
            step,
        } = *run;
        let params = to_json("action_runs.params", params)?;
        let index = step
            .map(|step| {
                i64::try_from(step.index).map_err(|_| {
                    StoreError::Corrupt(format!("step index {} is too large", step.index))
                })
            })
            .transpose()?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO action_runs (incident_id, action, params, status, requested_by, created_at, \
             attempts, runbook_run_id, step_index, fallback) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) RETURNING id",
        )
        .bind(incident.as_str())
        .bind(action)
        .bind(params)
        .bind(status.as_str())
        .bind(requested_by.as_str())
        .bind(millis(now))
        .bind(step.map(|step| step.runbook_run))
        .bind(index)
        .bind(i64::from(step.is_some_and(|step| step.fallback)))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Run `id` of an incident, if there is one.
    pub async fn action_run(
        &mut self,
        incident: &IncidentId,
        id: i64,
    ) -> Result<Option<ActionRun>, StoreError> {
        ACTION_RUNS.by_id(&mut self.tx, incident, id).await
    }

    /// Approves a run awaiting approval (`awaiting_approval` → `queued`); false if
    /// it no longer was (approved, denied or cancelled already).
    pub async fn approve_action_run(&mut self, id: i64, by: &UserId) -> Result<bool, StoreError> {
        let update = "UPDATE action_runs SET status = 'queued', approved_by = $2 \
                      WHERE id = $1 AND status = 'awaiting_approval'";
        moved_by(&mut self.tx, update, id, by).await
    }

    /// Denies or cancels a run that has not started; false if it had (a running
    /// run is stopped by the worker holding it).
    pub async fn cancel_action_run(
        &mut self,
        id: i64,
        by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = format!("cancelled by {by}");
        self.cancel_run(id, &result, now, "'awaiting_approval', 'queued'")
            .await
    }

    /// Cancels a run whose approval did not come in time, with `result` saying
    /// why; false if it was no longer waiting for one (approved, denied or
    /// expired already), so only one caller reports it.
    pub async fn expire_action_run(
        &mut self,
        id: i64,
        result: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.cancel_run(id, result, now, "'awaiting_approval'")
            .await
    }

    /// Cancels a run in one of the statuses `from` with `result`; a queued run
    /// may be leased, and its lease ends with it.
    async fn cancel_run(
        &mut self,
        id: i64,
        result: &str,
        now: DateTime<Utc>,
        from: &'static str,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE action_runs SET status = 'cancelled', finished_at = $3, \
             result = $2, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND status IN ({from})"
        );
        let update = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(result)
            .bind(millis(now));
        moved_one(update, &mut self.tx).await
    }

    /// Asks the worker running run `id` to stop it; false if it is not running
    /// or a stop was asked for already.
    pub async fn request_stop_action_run(
        &mut self,
        id: i64,
        by: &UserId,
    ) -> Result<bool, StoreError> {
        let update = "UPDATE action_runs SET stop_requested_by = $2 \
                      WHERE id = $1 AND status = 'running' AND stop_requested_by IS NULL";
        moved_by(&mut self.tx, update, id, by).await
    }

    /// Ends an abandoned run (running, its lease run out by `now`): queued again
    /// when `rerun`, else interrupted. The new status, or `None` if it was no
    /// longer abandoned (so each abandoned run is reported once).
    pub async fn interrupt_action_run(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        rerun: bool,
    ) -> Result<Option<RunStatus>, StoreError> {
        let (status, finished_at) = if rerun {
            (RunStatus::Queued, None)
        } else {
            (RunStatus::Interrupted, Some(millis(now)))
        };
        let update = sqlx::query(
            "UPDATE action_runs SET status = $3, finished_at = $4, \
             result = 'interrupted by a restart', lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND status = 'running' AND (lease_until IS NULL OR lease_until < $2)",
        )
        .bind(id)
        .bind(millis(now))
        .bind(status.as_str())
        .bind(finished_at);
        Ok(moved_one(update, &mut self.tx).await?.then_some(status))
    }

    /// Ends a running run `owner` holds; false if its lease went elsewhere (the
    /// run was marked interrupted meanwhile).
    pub async fn finish_action_run(
        &mut self,
        id: i64,
        owner: &str,
        report: &RunReport<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = lease::finish_if(
            &RUNS,
            "status = $3, result = $4, output = $5, output_hash = $6, finished_at = $7",
            "status = 'running'",
        );
        let update = sqlx::query(sql)
            .bind(id)
            .bind(owner)
            .bind(report.status.as_str())
            .bind(report.result)
            .bind(report.output)
            .bind(report.output_hash)
            .bind(millis(now));
        moved_one(update, &mut self.tx).await
    }

    /// The runs of a runbook run's steps, in step order, each before its fallback.
    pub async fn step_runs(&mut self, runbook_run: i64) -> Result<Vec<ActionRun>, StoreError> {
        let sql = format!("{COLUMNS} WHERE runbook_run_id = $1 ORDER BY step_index, fallback, id");
        let query = sqlx::query(AssertSqlSafe(sql)).bind(runbook_run);
        fetch_all(query, &mut *self.tx, run).await
    }

    /// Queues a pending runbook step whose turn has come (`pending` → `queued`);
    /// false if it was no longer pending.
    pub async fn queue_pending_step(&mut self, id: i64) -> Result<bool, StoreError> {
        let update = sqlx::query(
            "UPDATE action_runs SET status = 'queued' WHERE id = $1 AND status = 'pending'",
        )
        .bind(id);
        moved_one(update, &mut self.tx).await
    }

    /// Marks a runbook run's pending steps skipped; returns how many.
    pub async fn skip_pending_steps(
        &mut self,
        runbook_run: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let skipped = sqlx::query(
            "UPDATE action_runs SET status = 'skipped', finished_at = $2 \
             WHERE runbook_run_id = $1 AND status = 'pending'",
        )
        .bind(runbook_run)
        .bind(millis(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(skipped.rows_affected())
    }
}

fn run(row: &AnyRow) -> Result<ActionRun, StoreError> {
    let attempts: i64 = row.try_get("attempts")?;
    let runbook_run: Option<i64> = row.try_get("runbook_run_id")?;
    let step_index: Option<i64> = row.try_get("step_index")?;
    let step = match (runbook_run, step_index) {
        (Some(runbook_run), Some(index)) => Some(StepRef {
            runbook_run,
            index: narrow("action_runs.step_index", index)?,
            fallback: get_flag(row, "fallback")?,
        }),
        _ => None,
    };
    Ok(ActionRun {
        id: row.try_get("id")?,
        incident: get_parsed(row, "incident_id")?,
        action: row.try_get("action")?,
        params: get_json(row, "params")?,
        status: get_parsed(row, "status")?,
        requested_by: get_user(row, "requested_by")?,
        approved_by: get_opt_user(row, "approved_by")?,
        created_at: get_time(row, "created_at")?,
        started_at: get_opt_time(row, "started_at")?,
        finished_at: get_opt_time(row, "finished_at")?,
        attempts: narrow("action_runs.attempts", attempts)?,
        result: row.try_get("result")?,
        output: row.try_get("output")?,
        output_hash: row.try_get("output_hash")?,
        step,
    })
}
