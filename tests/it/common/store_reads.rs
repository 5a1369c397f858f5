//! Whole-table readers that only the tests need: every outbox row, reminder and
//! page of an incident, as the tests check what the engine queued and planned.
//! warroom itself never reads the outbox or the reminders whole, so those readers
//! live here, over the store's pool, instead of in the library; pages go through
//! the store's own `Tx::pages`, which the engine reads them with.
//!
//! Must not: write; the tests change rows only through the store's own methods.
//! Benches include this file by path, so it depends on nothing else in `common`.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::str::FromStr;
use warroom::domain::{IncidentId, Page};
use warroom::outbox::OutboxEntry;
use warroom::schedule::Reminder;
use warroom::store::{Store, StoreError};

/// Test-only reads of the store, named like the store's own methods.
pub trait StoreReads {
    /// Every outbox row of an incident in queue order (delivered or not).
    async fn outbox_of(&self, incident: &IncidentId) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Every reminder row of an incident (pending and done), in the order planned.
    async fn reminders_of(&self, incident: &IncidentId) -> Result<Vec<Reminder>, StoreError>;
    /// Every page of an incident, oldest first.
    async fn pages_of(&self, incident: &IncidentId) -> Result<Vec<Page>, StoreError>;
}

impl StoreReads for Store {
    async fn outbox_of(&self, incident: &IncidentId) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, incident_id, platform, operation, attempts, created_at, delivered_at, \
             failed_at, last_error, notice_of, maybe_delivered FROM outbox WHERE incident_id = $1 ORDER BY id",
        )
        .bind(incident.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let operation: String = row.try_get("operation")?;
                let attempts: i64 = row.try_get("attempts")?;
                Ok(OutboxEntry {
                    id: row.try_get("id")?,
                    incident: opt_parsed(row, "incident_id")?,
                    platform: parsed(row, "platform")?,
                    operation: serde_json::from_str(&operation)
                        .map_err(|e| StoreError::Corrupt(format!("outbox.operation: {e}")))?,
                    attempts: u32::try_from(attempts).map_err(|_| {
                        StoreError::Corrupt(format!("outbox.attempts = {attempts}"))
                    })?,
                    created_at: time(row, "created_at")?,
                    delivered_at: opt_time(row, "delivered_at")?,
                    failed_at: opt_time(row, "failed_at")?,
                    last_error: row.try_get("last_error")?,
                    notice_of: row.try_get("notice_of")?,
                    maybe_delivered: row.try_get::<i64, _>("maybe_delivered")? != 0,
                })
            })
            .collect()
    }

    async fn reminders_of(&self, incident: &IncidentId) -> Result<Vec<Reminder>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, incident_id, kind, due_at, target, created_at, done_at, outcome \
             FROM reminders WHERE incident_id = $1 ORDER BY id",
        )
        .bind(incident.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Reminder {
                    id: row.try_get("id")?,
                    incident: parsed(row, "incident_id")?,
                    kind: parsed(row, "kind")?,
                    due_at: time(row, "due_at")?,
                    target: row.try_get("target")?,
                    created_at: time(row, "created_at")?,
                    done_at: opt_time(row, "done_at")?,
                    outcome: opt_parsed(row, "outcome")?,
                })
            })
            .collect()
    }

    async fn pages_of(&self, incident: &IncidentId) -> Result<Vec<Page>, StoreError> {
        // The engine reads an incident's pages inside its transaction; so do we.
        let mut tx = self.begin().await?;
        let pages = tx.pages(incident).await?;
        tx.commit().await?;
        Ok(pages)
    }
}

fn parse<T: FromStr>(column: &str, raw: String) -> Result<T, StoreError> {
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} = `{raw}` is not valid")))
}

fn parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    parse(column, row.try_get(column)?)
}

fn opt_parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>, StoreError> {
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|raw| parse(column, raw)).transpose()
}

fn from_millis(column: &str, ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("{column} = {ms} is not a time")))
}

fn time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, StoreError> {
    from_millis(column, row.try_get(column)?)
}

fn opt_time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let ms: Option<i64> = row.try_get(column)?;
    ms.map(|ms| from_millis(column, ms)).transpose()
}
