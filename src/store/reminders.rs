//! The reminders table (status-update reminders, response-time checks, escalation
//! steps) and the pages table (what was paged and how far it got).
//!
//! Reminders are claimed through the shared lease mechanism (`lease`), and the
//! claim holder finishes a row with [`Tx::finish_reminder`] inside the engine's
//! transaction, so the effects of a reminder and the row's `done_at` commit
//! together: a row fires once even when two replicas raced for it or a lease ran
//! out mid-way.
//!
//! Must not: decide when anything is due or what a reminder means; the engine
//! plans rows and the scheduler hands them over.

use super::lease::{self, Leased, LeasedWork};
use super::queries::{IncidentRows, fetch_all, moved_one};
use super::rows::{get_opt_time, get_parsed, get_time, millis};
use super::{Store, StoreError, Tx};
use crate::domain::{IncidentId, Page, PageState};
use crate::schedule::{Reminder, ReminderKind, ReminderOutcome};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use std::time::Duration;

const COLUMNS: &str =
    "SELECT id, incident_id, kind, due_at, target, created_at, done_at, outcome FROM reminders";

/// An incident's pages, oldest first.
const PAGES: IncidentRows<Page> = IncidentRows {
    select: "SELECT dedup_key, target, state FROM pages",
    order: "created_at, dedup_key",
    decode: page,
};

const REMINDERS: Leased = Leased {
    table: LeasedWork::Reminders.table(),
    select: COLUMNS,
    candidates: "WHERE done_at IS NULL AND due_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
                 ORDER BY due_at, id LIMIT $2",
    claimable: "done_at IS NULL AND due_at <= $4",
    start: None,
};

impl Store {
    /// Leases up to `limit` reminder rows that are due, earliest first. A lease
    /// expires after `lease`, so rows held by a crashed process fire elsewhere.
    pub async fn claim_reminders(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Reminder>, StoreError> {
        self.claim_leased(&REMINDERS, owner, now, lease, limit, reminder)
            .await
    }

    /// When the next pending reminder that no scheduler holds at `now` falls due.
    /// Walks the due-time index in order and stops at the first free row; rows
    /// leased by another scheduler are not waited for here (their holder fires
    /// them, or the lease runs out and the poll interval finds them).
    pub async fn next_reminder_due(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "SELECT due_at FROM reminders WHERE done_at IS NULL AND (lease_until IS NULL OR lease_until < $1) \
             ORDER BY due_at, id LIMIT 1",
        )
        .bind(millis(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| get_time(&row, "due_at")).transpose()
    }

    /// When the incident's next status update is due, if a reminder is planned.
    pub async fn next_update_due(
        &self,
        incident: &IncidentId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "SELECT due_at FROM reminders WHERE incident_id = $1 AND kind = $2 AND done_at IS NULL \
             ORDER BY due_at, id LIMIT 1",
        )
        .bind(incident.as_str())
        .bind(ReminderKind::Update.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| get_time(&row, "due_at")).transpose()
    }
}

impl Tx {
    /// Plans a reminder row due at `due_at`.
    pub async fn plan_reminder(
        &mut self,
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
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Cancels the incident's pending reminders of these kinds; returns how many.
    /// Leased rows are ended too: a scheduler holding one finds it done when it
    /// tries to finish it, and drops it.
    pub async fn cancel_reminders(
        &mut self,
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
            .execute(&mut *self.tx)
            .await?;
            cancelled += done.rows_affected();
        }
        Ok(cancelled)
    }

    /// Moves the incident's pending reminders of a kind to `due_at` (a snooze);
    /// returns how many.
    pub async fn postpone_reminders(
        &mut self,
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
        .execute(&mut *self.tx)
        .await?;
        Ok(moved.rows_affected())
    }

    /// The incident's pending reminders, earliest first.
    pub async fn pending_reminders(
        &mut self,
        incident: &IncidentId,
    ) -> Result<Vec<Reminder>, StoreError> {
        let sql =
            format!("{COLUMNS} WHERE incident_id = $1 AND done_at IS NULL ORDER BY due_at, id");
        let query = sqlx::query(AssertSqlSafe(sql)).bind(incident.as_str());
        fetch_all(query, &mut *self.tx, reminder).await
    }

    /// Whether a fired reminder already called in `level` for the incident.
    pub async fn level_reached(
        &mut self,
        incident: &IncidentId,
        level: &str,
    ) -> Result<bool, StoreError> {
        self.fired_where(incident, "target", level).await
    }

    /// Whether a reminder of this kind already fired for the incident.
    pub async fn has_fired(
        &mut self,
        incident: &IncidentId,
        kind: ReminderKind,
    ) -> Result<bool, StoreError> {
        self.fired_where(incident, "kind", kind.as_str()).await
    }

    /// Whether a reminder of the incident whose `column` is `value` fired.
    async fn fired_where(
        &mut self,
        incident: &IncidentId,
        column: &'static str,
        value: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT id FROM reminders WHERE incident_id = $1 AND {column} = $2 AND outcome = $3 LIMIT 1"
        );
        let found: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(incident.as_str())
            .bind(value)
            .bind(ReminderOutcome::Fired.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(found.is_some())
    }

    /// Ends a reminder `owner` leased, with its outcome (and, for a response
    /// check, the level it called in). False if it was cancelled meanwhile or the
    /// lease went elsewhere: then the caller must roll back what it did for it.
    pub async fn finish_reminder(
        &mut self,
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
        let update = sqlx::query(sql)
            .bind(id)
            .bind(owner)
            .bind(millis(now))
            .bind(outcome.as_str())
            .bind(target);
        moved_one(update, &mut self.tx).await
    }

    /// Records a page, or moves the one with the same dedup key to a new state.
    pub async fn record_page(
        &mut self,
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
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The incident's pages, oldest first.
    pub async fn pages(&mut self, incident: &IncidentId) -> Result<Vec<Page>, StoreError> {
        PAGES.all(&mut self.tx, incident).await
    }
}

fn page(row: &AnyRow) -> Result<Page, StoreError> {
    Ok(Page {
        dedup_key: row.try_get("dedup_key")?,
        target: row.try_get("target")?,
        state: get_parsed::<PageState>(row, "state")?,
    })
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
