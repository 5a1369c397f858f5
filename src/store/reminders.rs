//! The reminders table (status-update reminders, response-time checks, escalation
//! steps) and the pages table (what was paged and how far it got).
//!
//! Reminders are claimed through the shared lease mechanism (`lease`), and the
//! claim holder finishes a row with [`finish`] inside the engine's transaction, so
//! the effects of a reminder and the row's `done_at` commit together: a row fires
//! once even when two replicas raced for it or a lease ran out mid-way.
//!
//! Must not: decide when anything is due or what a reminder means; the engine
//! plans rows and the scheduler hands them over.

use super::StoreError;
use super::lease::{self, Leased};
use super::rows::{get_opt_time, get_parsed, get_time, millis};
use crate::domain::{IncidentId, Page, PageState};
use crate::schedule::{Reminder, ReminderKind, ReminderOutcome};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Row};
use std::time::Duration;

const REMINDERS: Leased = Leased {
    table: "reminders",
    claimable: "done_at IS NULL AND due_at <= $4",
};

const COLUMNS: &str =
    "SELECT id, incident_id, kind, due_at, target, created_at, done_at, outcome FROM reminders";

pub(super) async fn plan(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    kind: ReminderKind,
    due_at: DateTime<Utc>,
    target: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO reminders (incident_id, kind, due_at, target, created_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, 0)",
    )
    .bind(incident.as_str())
    .bind(kind.as_str())
    .bind(millis(due_at))
    .bind(target)
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends every pending row of these kinds, leased or not: a scheduler holding one
/// finds it done when it tries to finish it, and drops it.
pub(super) async fn cancel(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    kinds: &[ReminderKind],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut cancelled = 0;
    for kind in kinds {
        let done = sqlx::query(
            "UPDATE reminders SET done_at = $3, outcome = $4, lease_owner = NULL, lease_until = NULL \
             WHERE incident_id = $1 AND kind = $2 AND done_at IS NULL",
        )
        .bind(incident.as_str())
        .bind(kind.as_str())
        .bind(millis(now))
        .bind(ReminderOutcome::Cancelled.as_str())
        .execute(&mut *conn)
        .await?;
        cancelled += done.rows_affected();
    }
    Ok(cancelled)
}

/// Moves the pending rows of a kind to a new due time (a snooze); returns how many moved.
pub(super) async fn postpone(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    kind: ReminderKind,
    due_at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let moved = sqlx::query(
        "UPDATE reminders SET due_at = $3, lease_owner = NULL, lease_until = NULL \
         WHERE incident_id = $1 AND kind = $2 AND done_at IS NULL",
    )
    .bind(incident.as_str())
    .bind(kind.as_str())
    .bind(millis(due_at))
    .execute(conn)
    .await?;
    Ok(moved.rows_affected())
}

pub(super) async fn pending(
    conn: &mut AnyConnection,
    incident: &IncidentId,
) -> Result<Vec<Reminder>, StoreError> {
    let sql = format!("{COLUMNS} WHERE incident_id = $1 AND done_at IS NULL ORDER BY due_at, id");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(incident.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(reminder).collect()
}

pub(super) async fn of_incident(
    conn: &mut AnyConnection,
    incident: &IncidentId,
) -> Result<Vec<Reminder>, StoreError> {
    let sql = format!("{COLUMNS} WHERE incident_id = $1 ORDER BY id");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(incident.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(reminder).collect()
}

/// Whether a fired reminder already called in `level` for this incident.
pub(super) async fn level_reached(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    level: &str,
) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM reminders WHERE incident_id = $1 AND target = $2 AND outcome = $3 LIMIT 1",
    )
    .bind(incident.as_str())
    .bind(level)
    .bind(ReminderOutcome::Fired.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Whether a reminder of this kind already fired for the incident.
pub(super) async fn has_fired(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    kind: ReminderKind,
) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM reminders WHERE incident_id = $1 AND kind = $2 AND outcome = $3 LIMIT 1",
    )
    .bind(incident.as_str())
    .bind(kind.as_str())
    .bind(ReminderOutcome::Fired.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Ends a row the caller holds the lease on; false if the row is already done
/// (cancelled meanwhile) or the lease went to someone else.
pub(super) async fn finish(
    conn: &mut AnyConnection,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
    outcome: ReminderOutcome,
    target: Option<&str>,
) -> Result<bool, StoreError> {
    let sql = lease::finish_if(
        &REMINDERS,
        "done_at = $3, outcome = $4, target = COALESCE($5, target)",
        "done_at IS NULL",
    );
    let finished = sqlx::query(sql)
        .bind(id)
        .bind(owner)
        .bind(millis(now))
        .bind(outcome.as_str())
        .bind(target)
        .execute(conn)
        .await?;
    Ok(finished.rows_affected() == 1)
}

pub(super) async fn claim(
    pool: &AnyPool,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u32,
) -> Result<Vec<Reminder>, StoreError> {
    let mut conn = pool.acquire().await?;
    let sql = format!(
        "{COLUMNS} WHERE done_at IS NULL AND due_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY due_at, id LIMIT $2"
    );
    let candidates = sqlx::query(AssertSqlSafe(sql))
        .bind(millis(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
    lease::claim_each(
        &mut conn,
        &REMINDERS,
        &candidates,
        owner,
        now,
        lease,
        reminder,
    )
    .await
}

/// When the next pending row that nobody holds falls due. Walks the due-time
/// index in order and stops at the first free row; rows leased by another
/// scheduler are not waited for here (their holder fires them, or the lease runs
/// out and the poll interval finds them).
pub(super) async fn next_due(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let row = sqlx::query(
        "SELECT due_at FROM reminders WHERE done_at IS NULL AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY due_at, id LIMIT 1",
    )
    .bind(millis(now))
    .fetch_optional(conn)
    .await?;
    row.map(|row| get_time(&row, "due_at")).transpose()
}

fn reminder(row: &AnyRow) -> Result<Reminder, StoreError> {
    let outcome: Option<String> = row.try_get("outcome")?;
    Ok(Reminder {
        id: row.try_get("id")?,
        incident: get_parsed(row, "incident_id")?,
        kind: get_parsed(row, "kind")?,
        due_at: get_time(row, "due_at")?,
        target: row.try_get("target")?,
        created_at: get_time(row, "created_at")?,
        done_at: get_opt_time(row, "done_at")?,
        outcome: outcome
            .map(|raw| super::rows::parse("reminders.outcome", &raw))
            .transpose()?,
    })
}

/// Records a page, or moves an existing one (same dedup key) to `state`.
pub(super) async fn record_page(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    page: &Page,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pages (incident_id, dedup_key, target, state, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (incident_id, dedup_key) DO UPDATE SET state = excluded.state",
    )
    .bind(incident.as_str())
    .bind(&page.dedup_key)
    .bind(&page.target)
    .bind(page.state.as_str())
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// An incident's pages, oldest first.
pub(super) async fn pages(
    conn: &mut AnyConnection,
    incident: &IncidentId,
) -> Result<Vec<Page>, StoreError> {
    let rows = sqlx::query(
        "SELECT dedup_key, target, state FROM pages WHERE incident_id = $1 ORDER BY created_at, dedup_key",
    )
    .bind(incident.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Page {
                dedup_key: row.try_get("dedup_key")?,
                target: row.try_get("target")?,
                state: get_parsed::<PageState>(row, "state")?,
            })
        })
        .collect()
}
