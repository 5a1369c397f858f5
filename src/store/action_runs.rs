//! The action_runs table: every requested run of an action, kept for good as the
//! audit trail (who asked, who approved, the parameters, the result, a hash of
//! the output).
//!
//! Queued runs are claimed through the shared lease mechanism (`lease`); a
//! status only moves from the status the caller saw (compare-and-set), so a
//! double-clicked Approve or a cancel racing a worker changes a run once.
//!
//! Must not: decide who may run, approve or cancel what, or execute anything.

use super::StoreError;
use super::lease::{self, Leased};
use super::rows::{
    get_flag, get_json, get_opt_time, get_parsed, get_time, millis, narrow, to_json,
};
use crate::domain::{ActionRun, IncidentId, RunStatus, StepRef, UserId};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Row};
use std::collections::BTreeMap;
use std::time::Duration;

const RUNS: Leased = Leased {
    table: "action_runs",
    claimable: "status = 'queued'",
};

const COLUMNS: &str = "SELECT id, incident_id, action, params, status, requested_by, approved_by, \
     created_at, started_at, finished_at, attempts, result, output, output_hash, \
     runbook_run_id, step_index, fallback FROM action_runs";

/// Records a requested run; returns its number.
pub(super) async fn request(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    action: &str,
    params: &BTreeMap<String, String>,
    status: RunStatus,
    requested_by: &UserId,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let params = to_json("action_runs.params", params)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO action_runs (incident_id, action, params, status, requested_by, created_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, 0) RETURNING id",
    )
    .bind(incident.as_str())
    .bind(action)
    .bind(params)
    .bind(status.as_str())
    .bind(requested_by.as_str())
    .bind(millis(now))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// The run of a runbook step, or of its fallback, to record.
pub struct StepRun<'a> {
    pub action: &'a str,
    pub params: &'a BTreeMap<String, String>,
    pub status: RunStatus,
    pub step: StepRef,
}

/// Records the run of a runbook step (or of its fallback); returns its number.
pub(super) async fn request_step(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    run: &StepRun<'_>,
    requested_by: &UserId,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let StepRun {
        action,
        params,
        status,
        step,
    } = *run;
    let params = to_json("action_runs.params", params)?;
    let index = i64::try_from(step.index)
        .map_err(|_| StoreError::Corrupt(format!("step index {} is too large", step.index)))?;
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
    .bind(step.runbook_run)
    .bind(index)
    .bind(i64::from(step.fallback))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// The runs of a runbook run's steps, in step order, each step before its fallback.
pub(super) async fn of_runbook_run(
    conn: &mut AnyConnection,
    runbook_run: i64,
) -> Result<Vec<ActionRun>, StoreError> {
    let sql = format!("{COLUMNS} WHERE runbook_run_id = $1 ORDER BY step_index, fallback, id");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(runbook_run)
        .fetch_all(conn)
        .await?;
    rows.iter().map(run).collect()
}

/// A pending runbook step whose turn has come: `pending` → `queued`. False if
/// it was no longer pending.
pub(super) async fn queue_pending(conn: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE action_runs SET status = 'queued' WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Marks every still-pending step of a runbook run skipped; returns how many.
pub(super) async fn skip_pending(
    conn: &mut AnyConnection,
    runbook_run: i64,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let skipped = sqlx::query(
        "UPDATE action_runs SET status = 'skipped', finished_at = $2 \
         WHERE runbook_run_id = $1 AND status = 'pending'",
    )
    .bind(runbook_run)
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(skipped.rows_affected())
}

pub(super) async fn get(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    id: i64,
) -> Result<Option<ActionRun>, StoreError> {
    let sql = format!("{COLUMNS} WHERE incident_id = $1 AND id = $2");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(incident.as_str())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(run).transpose()
}

pub(super) async fn of_incident(
    conn: &mut AnyConnection,
    incident: &IncidentId,
) -> Result<Vec<ActionRun>, StoreError> {
    let sql = format!("{COLUMNS} WHERE incident_id = $1 ORDER BY id");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(incident.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(run).collect()
}

/// An approval: `awaiting_approval` → `queued`. False if the run was no longer
/// waiting (approved, denied or cancelled already).
pub(super) async fn approve(
    conn: &mut AnyConnection,
    id: i64,
    by: &UserId,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE action_runs SET status = 'queued', approved_by = $2 \
         WHERE id = $1 AND status = 'awaiting_approval'",
    )
    .bind(id)
    .bind(by.as_str())
    .execute(conn)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// A denial or a cancel of a run that has not started; false if it had
/// (a running run is stopped by the worker holding it).
pub(super) async fn cancel(
    conn: &mut AnyConnection,
    id: i64,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE action_runs SET status = 'cancelled', finished_at = $3, \
         result = $2, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND status IN ('awaiting_approval', 'queued')",
    )
    .bind(id)
    .bind(format!("cancelled by {by}"))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Cancels a run whose approval did not come in time: `awaiting_approval` →
/// `cancelled`, with `result` saying why. False if it was no longer waiting
/// (approved, denied or expired already), so only one caller reports it.
pub(super) async fn expire(
    conn: &mut AnyConnection,
    id: i64,
    result: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE action_runs SET status = 'cancelled', finished_at = $3, result = $2 \
         WHERE id = $1 AND status = 'awaiting_approval'",
    )
    .bind(id)
    .bind(result)
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// The runs waiting for an approval that were requested at or before `before`, oldest first.
pub(super) async fn awaiting_approval(
    conn: &mut AnyConnection,
    before: DateTime<Utc>,
) -> Result<Vec<ActionRun>, StoreError> {
    let sql =
        format!("{COLUMNS} WHERE status = 'awaiting_approval' AND created_at <= $1 ORDER BY id");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(millis(before))
        .fetch_all(conn)
        .await?;
    rows.iter().map(run).collect()
}

/// Asks the worker running run `id` to stop it; false if it is not running
/// or a stop was asked for already.
pub(super) async fn request_stop(
    conn: &mut AnyConnection,
    id: i64,
    by: &UserId,
) -> Result<bool, StoreError> {
    let asked = sqlx::query(
        "UPDATE action_runs SET stop_requested_by = $2 \
         WHERE id = $1 AND status = 'running' AND stop_requested_by IS NULL",
    )
    .bind(id)
    .bind(by.as_str())
    .execute(conn)
    .await?;
    Ok(asked.rows_affected() == 1)
}

/// Whether someone asked to stop run `id`.
pub(super) async fn stop_requested(conn: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
    let by: Option<Option<String>> =
        sqlx::query_scalar("SELECT stop_requested_by FROM action_runs WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(by.flatten().is_some())
}

/// Leases up to `limit` queued runs, oldest first, and marks the won ones running.
pub(super) async fn claim(
    pool: &AnyPool,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u32,
) -> Result<Vec<ActionRun>, StoreError> {
    let mut conn = pool.acquire().await?;
    let sql = format!(
        "{COLUMNS} WHERE status = 'queued' AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY id LIMIT $2"
    );
    let candidates = sqlx::query(AssertSqlSafe(sql))
        .bind(millis(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
    let won = lease::claim_each(&mut conn, &RUNS, &candidates, owner, now, lease, run).await?;
    let mut running = Vec::with_capacity(won.len());
    for mut claimed in won {
        let started = sqlx::query(
            "UPDATE action_runs SET status = 'running', started_at = $3, attempts = attempts + 1 \
             WHERE id = $1 AND lease_owner = $2 AND status = 'queued'",
        )
        .bind(claimed.id)
        .bind(owner)
        .bind(millis(now))
        .execute(&mut *conn)
        .await?;
        if started.rows_affected() == 1 {
            claimed.status = RunStatus::Running;
            claimed.started_at = Some(now);
            claimed.attempts += 1;
            running.push(claimed);
        }
    }
    Ok(running)
}

/// What a finished run produced.
pub struct RunReport<'a> {
    pub status: RunStatus,
    pub result: &'a str,
    pub output: &'a str,
    pub output_hash: &'a str,
}

/// Ends a running run `owner` holds; false if the lease went elsewhere (the
/// run was marked interrupted meanwhile).
pub(super) async fn finish(
    conn: &mut AnyConnection,
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
    let finished = sqlx::query(sql)
        .bind(id)
        .bind(owner)
        .bind(report.status.as_str())
        .bind(report.result)
        .bind(report.output)
        .bind(report.output_hash)
        .bind(millis(now))
        .execute(conn)
        .await?;
    Ok(finished.rows_affected() == 1)
}

/// The running runs whose lease has run out at `now`: their holder stopped.
pub(super) async fn abandoned(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
) -> Result<Vec<ActionRun>, StoreError> {
    let sql = format!(
        "{COLUMNS} WHERE status = 'running' AND (lease_until IS NULL OR lease_until < $1) ORDER BY id"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(millis(now))
        .fetch_all(conn)
        .await?;
    rows.iter().map(run).collect()
}

/// Ends a running run whose lease ran out by `now`: back to `queued` when
/// `rerun`, else `interrupted`. Returns the new status, or `None` if the run
/// was no longer abandoned (so each abandoned run is reported once).
pub(super) async fn interrupt(
    conn: &mut AnyConnection,
    id: i64,
    now: DateTime<Utc>,
    rerun: bool,
) -> Result<Option<RunStatus>, StoreError> {
    let (status, finished_at) = if rerun {
        (RunStatus::Queued, None)
    } else {
        (RunStatus::Interrupted, Some(millis(now)))
    };
    let moved = sqlx::query(
        "UPDATE action_runs SET status = $3, finished_at = $4, \
         result = 'interrupted by a restart', lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND status = 'running' AND (lease_until IS NULL OR lease_until < $2)",
    )
    .bind(id)
    .bind(millis(now))
    .bind(status.as_str())
    .bind(finished_at)
    .execute(conn)
    .await?;
    Ok((moved.rows_affected() == 1).then_some(status))
}

fn run(row: &AnyRow) -> Result<ActionRun, StoreError> {
    let approved_by: Option<String> = row.try_get("approved_by")?;
    let attempts: i64 = row.try_get("attempts")?;
    let requested_by: String = row.try_get("requested_by")?;
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
        requested_by: UserId::new(requested_by),
        approved_by: approved_by.map(UserId::new),
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
