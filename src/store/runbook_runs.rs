//! The runbook_runs table: every requested run of a runbook, kept for good with
//! the action runs of its steps (linked through `action_runs.runbook_run_id`).
//!
//! A status only moves from the status the caller saw (compare-and-set), so a
//! double-clicked Approve or two reports racing end a runbook run once.
//!
//! Must not: decide which step comes next (the engine does) or execute anything.

use super::StoreError;
use super::rows::{get_json, get_opt_time, get_parsed, get_time, millis, to_json};
use crate::domain::{IncidentId, RunbookRun, RunbookStatus, UserId};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::collections::BTreeMap;

const COLUMNS: &str = "SELECT id, incident_id, runbook, params, status, requested_by, approved_by, \
     cancel_requested_by, created_at, started_at, finished_at FROM runbook_runs";

/// Records a requested runbook run; returns its number. One that needs no
/// approval is running from now.
pub(super) async fn request(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    runbook: &str,
    params: &BTreeMap<String, String>,
    status: RunbookStatus,
    requested_by: &UserId,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let params = to_json("runbook_runs.params", params)?;
    let started_at = (status == RunbookStatus::Running).then(|| millis(now));
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO runbook_runs (incident_id, runbook, params, status, requested_by, created_at, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(incident.as_str())
    .bind(runbook)
    .bind(params)
    .bind(status.as_str())
    .bind(requested_by.as_str())
    .bind(millis(now))
    .bind(started_at)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub(super) async fn get(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    id: i64,
) -> Result<Option<RunbookRun>, StoreError> {
    let sql = format!("{COLUMNS} WHERE incident_id = $1 AND id = $2");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(incident.as_str())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(runbook_run).transpose()
}

pub(super) async fn of_incident(
    conn: &mut AnyConnection,
    incident: &IncidentId,
) -> Result<Vec<RunbookRun>, StoreError> {
    let sql = format!("{COLUMNS} WHERE incident_id = $1 ORDER BY id");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(incident.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(runbook_run).collect()
}

/// An approval: `awaiting_approval` → `running`. False if it was no longer waiting.
pub(super) async fn start(
    conn: &mut AnyConnection,
    id: i64,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE runbook_runs SET status = 'running', approved_by = $2, started_at = $3 \
         WHERE id = $1 AND status = 'awaiting_approval'",
    )
    .bind(id)
    .bind(by.as_str())
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Records that someone cancelled the runbook run while a step runs; false if
/// it is over or a cancel was asked for already.
pub(super) async fn request_cancel(
    conn: &mut AnyConnection,
    id: i64,
    by: &UserId,
) -> Result<bool, StoreError> {
    let asked = sqlx::query(
        "UPDATE runbook_runs SET cancel_requested_by = $2 \
         WHERE id = $1 AND status IN ('awaiting_approval', 'running') \
         AND cancel_requested_by IS NULL",
    )
    .bind(id)
    .bind(by.as_str())
    .execute(conn)
    .await?;
    Ok(asked.rows_affected() == 1)
}

/// Ends a runbook run that was not over yet; false if it already was.
pub(super) async fn finish(
    conn: &mut AnyConnection,
    id: i64,
    status: RunbookStatus,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let ended = sqlx::query(
        "UPDATE runbook_runs SET status = $2, finished_at = $3 \
         WHERE id = $1 AND status IN ('awaiting_approval', 'running')",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(ended.rows_affected() == 1)
}

fn runbook_run(row: &AnyRow) -> Result<RunbookRun, StoreError> {
    let requested_by: String = row.try_get("requested_by")?;
    let approved_by: Option<String> = row.try_get("approved_by")?;
    let cancel_requested_by: Option<String> = row.try_get("cancel_requested_by")?;
    Ok(RunbookRun {
        id: row.try_get("id")?,
        incident: get_parsed(row, "incident_id")?,
        runbook: row.try_get("runbook")?,
        params: get_json(row, "params")?,
        status: get_parsed(row, "status")?,
        requested_by: UserId::new(requested_by),
        approved_by: approved_by.map(UserId::new),
        cancel_requested_by: cancel_requested_by.map(UserId::new),
        created_at: get_time(row, "created_at")?,
        started_at: get_opt_time(row, "started_at")?,
        finished_at: get_opt_time(row, "finished_at")?,
    })
}
