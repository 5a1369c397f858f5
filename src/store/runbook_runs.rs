//! The runbook_runs table: every requested run of a runbook, kept for good with
//! the action runs of its steps (linked through `action_runs.runbook_run_id`).
//!
//! A status only moves from the status the caller saw (compare-and-set), so a
//! double-clicked Approve or two reports racing end a runbook run once.
//!
//! Must not: decide which step comes next (the engine does) or execute anything.

use super::queries::{IncidentRows, moved_by, moved_one};
use super::rows::{get_json, get_opt_time, get_opt_user, get_parsed, get_time, get_user};
use super::rows::{millis, to_json};
use super::{Store, StoreError, Tx};
use crate::domain::{IncidentId, RunbookRun, RunbookStatus, UserId};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

const COLUMNS: &str = "SELECT id, incident_id, runbook, params, status, requested_by, approved_by, \
     cancel_requested_by, created_at, started_at, finished_at FROM runbook_runs";

/// An incident's runbook runs, oldest first.
const RUNBOOK_RUNS: IncidentRows<RunbookRun> = IncidentRows {
    select: COLUMNS,
    order: "id",
    decode: runbook_run,
};

impl Store {
    /// Every runbook run of an incident, oldest first.
    pub async fn runbook_runs_of(
        &self,
        incident: &IncidentId,
    ) -> Result<Vec<RunbookRun>, StoreError> {
        RUNBOOK_RUNS
            .all(&mut *self.pool.acquire().await?, incident)
            .await
    }
}

impl Tx {
    /// Records a requested runbook run; returns its number. One that needs no
    /// approval is running from now.
    pub async fn request_runbook_run(
        &mut self,
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
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Runbook run `id` of an incident, if there is one.
    pub async fn runbook_run(
        &mut self,
        incident: &IncidentId,
        id: i64,
    ) -> Result<Option<RunbookRun>, StoreError> {
        RUNBOOK_RUNS.by_id(&mut self.tx, incident, id).await
    }

    /// Approves a runbook run awaiting approval (`awaiting_approval` → `running`);
    /// false if it no longer was.
    pub async fn start_runbook_run(
        &mut self,
        id: i64,
        by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = sqlx::query(
            "UPDATE runbook_runs SET status = 'running', approved_by = $2, started_at = $3 \
             WHERE id = $1 AND status = 'awaiting_approval'",
        )
        .bind(id)
        .bind(by.as_str())
        .bind(millis(now));
        moved_one(update, &mut self.tx).await
    }

    /// Records a cancel of a runbook run whose step is running; false if it is
    /// over or a cancel was asked for already.
    pub async fn request_cancel_runbook_run(
        &mut self,
        id: i64,
        by: &UserId,
    ) -> Result<bool, StoreError> {
        let update = "UPDATE runbook_runs SET cancel_requested_by = $2 \
                      WHERE id = $1 AND status IN ('awaiting_approval', 'running') \
                      AND cancel_requested_by IS NULL";
        moved_by(&mut self.tx, update, id, by).await
    }

    /// Ends a runbook run that was not over; false if it already was.
    pub async fn finish_runbook_run(
        &mut self,
        id: i64,
        status: RunbookStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = sqlx::query(
            "UPDATE runbook_runs SET status = $2, finished_at = $3 \
             WHERE id = $1 AND status IN ('awaiting_approval', 'running')",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(millis(now));
        moved_one(update, &mut self.tx).await
    }
}

fn runbook_run(row: &AnyRow) -> Result<RunbookRun, StoreError> {
    Ok(RunbookRun {
        id: row.try_get("id")?,
        incident: get_parsed(row, "incident_id")?,
        runbook: row.try_get("runbook")?,
        params: get_json(row, "params")?,
        status: get_parsed(row, "status")?,
        requested_by: get_user(row, "requested_by")?,
        approved_by: get_opt_user(row, "approved_by")?,
        cancel_requested_by: get_opt_user(row, "cancel_requested_by")?,
        created_at: get_time(row, "created_at")?,
        started_at: get_opt_time(row, "started_at")?,
        finished_at: get_opt_time(row, "finished_at")?,
    })
}
