//! `alert_groups`: one row per alert group a monitoring system sent.
//!
//! Must not: decide what a group means; the engine reads the row it claimed,
//! decides, and writes it back in the same transaction.

use super::rows::{get_flag, get_json, get_parsed, get_time, millis, parse, to_json};
use super::{Backend, Store, StoreError, Tx};
use crate::domain::{AlertGroupRecord, AlertGroupState, IncidentId, Platform};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

const COLUMNS: &str = "id, source, group_key, state, route, platform, incident_id, title, \
                       started_at, received_at, alerts, resolved";

/// What is known of a group when it first arrives.
#[derive(Debug, Clone)]
pub struct NewAlertGroup<'a> {
    pub source: &'a str,
    pub key: &'a str,
    pub title: &'a str,
    pub started_at: DateTime<Utc>,
}

impl Tx {
    /// The row of an alert group, inserted as [`AlertGroupState::New`] if this is
    /// its first delivery, and locked until commit. On Postgres a concurrent
    /// delivery of the same group waits at the insert for the first transaction,
    /// then reads what it decided.
    pub async fn claim_alert_group(
        &mut self,
        group: &NewAlertGroup<'_>,
        now: DateTime<Utc>,
    ) -> Result<AlertGroupRecord, StoreError> {
        sqlx::query(
            "INSERT INTO alert_groups (source, group_key, state, title, started_at, received_at, alerts, resolved) \
             VALUES ($1, $2, $3, $4, $5, $6, '{}', 0) ON CONFLICT (source, group_key) DO NOTHING",
        )
        .bind(group.source)
        .bind(group.key)
        .bind(AlertGroupState::New.as_str())
        .bind(group.title)
        .bind(millis(group.started_at))
        .bind(millis(now))
        .execute(&mut *self.tx)
        .await?;
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM alert_groups WHERE source = $1 AND group_key = $2{lock}"
        )))
        .bind(group.source)
        .bind(group.key)
        .fetch_one(&mut *self.tx)
        .await?;
        record(&row)
    }

    /// An alert group by id, locked until commit; `None` if there is none.
    pub async fn lock_alert_group(
        &mut self,
        id: i64,
    ) -> Result<Option<AlertGroupRecord>, StoreError> {
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM alert_groups WHERE id = $1{lock}"
        )))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// Writes back what the engine decided about a group.
    pub async fn update_alert_group(&mut self, group: &AlertGroupRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE alert_groups SET state = $2, route = $3, platform = $4, incident_id = $5, \
             title = $6, started_at = $7, alerts = $8, resolved = $9 WHERE id = $1",
        )
        .bind(group.id)
        .bind(group.state.as_str())
        .bind(group.route.as_deref())
        .bind(group.platform.map(Platform::as_str))
        .bind(group.incident.as_ref().map(IncidentId::as_str))
        .bind(&group.title)
        .bind(millis(group.started_at))
        .bind(to_json("alert fingerprints", &group.alerts)?)
        .bind(i64::from(group.resolved))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

impl Store {
    /// Every alert group, oldest first: what arrived and what became of it.
    pub async fn alert_groups(&self) -> Result<Vec<AlertGroupRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM alert_groups ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }
}

fn record(row: &AnyRow) -> Result<AlertGroupRecord, StoreError> {
    let platform: Option<String> = row.try_get("platform")?;
    let incident: Option<String> = row.try_get("incident_id")?;
    let alerts: BTreeMap<String, String> = get_json(row, "alerts")?;
    Ok(AlertGroupRecord {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        key: row.try_get("group_key")?,
        state: get_parsed(row, "state")?,
        route: row.try_get("route")?,
        platform: platform.map(|raw| parse("platform", &raw)).transpose()?,
        incident: incident.map(|raw| parse("incident_id", &raw)).transpose()?,
        title: row.try_get("title")?,
        started_at: get_time(row, "started_at")?,
        received_at: get_time(row, "received_at")?,
        alerts,
        resolved: get_flag(row, "resolved")?,
    })
}
