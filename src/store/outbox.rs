//! The outbox table: operations queued by the engine, claimed by dispatchers.
//!
//! Rows are grouped in lanes (an incident id, `<incident id>/pager` for its pages,
//! or `<platform>:global` for operations outside any incident). Within a lane only
//! the oldest row that is neither delivered nor failed may be claimed, so a lane is
//! delivered strictly in order and a row waiting out a rate limit holds back its
//! own lane and nothing else.
//!
//! Ids order a lane. On Postgres ids are handed out at insert, not at commit, so two
//! transactions could commit their rows in the opposite order; the engine locks the
//! incident before enqueueing, which serialises the writers of an incident lane.
//! Global lanes have no such lock and keep order only per transaction.
//!
//! Must not: interpret operations beyond storing them as JSON; delivering them is
//! the dispatcher's job.

use super::lease::{self, Leased};
use super::rows::{get_json, get_opt_time, get_parsed, get_time, millis, narrow, to_json};
use super::{Delivered, OutboxEntry, StoreError};
use crate::domain::{IncidentId, Platform};
use crate::outbox::{MessageRef, Operation};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::time::Duration;

const OUTBOX: Leased = Leased {
    table: "outbox",
    claimable: "delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $4",
};

const ENTRY_COLUMNS: &str = "SELECT id, incident_id, platform, operation, attempts, created_at, delivered_at, failed_at, last_error FROM outbox";

pub(super) async fn enqueue(
    conn: &mut AnyConnection,
    incident: Option<&IncidentId>,
    platform: Platform,
    operation: &Operation,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // Pages travel in a lane of their own beside the incident's chat lane: a
    // paging service that is down must not hold up the war room, nor the reverse.
    let lane = match (incident, operation.is_page()) {
        (Some(id), false) => id.as_str().to_string(),
        (Some(id), true) => format!("{id}/pager"),
        (None, false) => format!("{platform}:global"),
        (None, true) => "pager:global".to_string(),
    };
    sqlx::query(
        "INSERT INTO outbox (lane, incident_id, platform, operation, created_at, next_attempt_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, $5, 0)",
    )
    .bind(lane)
    .bind(incident.map(IncidentId::as_str))
    .bind(platform.as_str())
    .bind(to_json("outbox operation", operation)?)
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn claim(
    pool: &AnyPool,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u32,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut conn = pool.acquire().await?;
    let candidates = sqlx::query(
        "SELECT id, incident_id, platform, operation, attempts, created_at, delivered_at, failed_at, last_error \
         FROM outbox \
         WHERE id IN (SELECT MIN(id) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY lane) \
         AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(millis(now))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    lease::claim_each(&mut conn, &OUTBOX, &candidates, owner, now, lease, entry).await
}

pub(super) async fn complete(
    conn: &mut AnyConnection,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
    delivered: Delivered,
) -> Result<bool, StoreError> {
    let finished = sqlx::query(lease::finish(&OUTBOX, "delivered_at = $3"))
        .bind(id)
        .bind(owner)
        .bind(millis(now))
        .execute(&mut *conn)
        .await?;
    if finished.rows_affected() != 1 {
        return Ok(false);
    }
    // Read in the same transaction, which now holds the row.
    let incident: Option<String> =
        sqlx::query_scalar("SELECT incident_id FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    match delivered {
        Delivered::Nothing => {}
        Delivered::Room(room) => {
            let incident = incident.ok_or_else(|| {
                StoreError::Corrupt(format!("outbox row {id} made a room but has no incident"))
            })?;
            sqlx::query("UPDATE incidents SET room = $2 WHERE id = $1")
                .bind(incident)
                .bind(room)
                .execute(&mut *conn)
                .await?;
        }
        Delivered::Message { handle, posted } => {
            let incident = incident.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "outbox row {id} posted under a handle but has no incident"
                ))
            })?;
            sqlx::query(
                "INSERT INTO message_refs (incident_id, handle, channel, message_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (incident_id, handle) DO UPDATE SET channel = excluded.channel, message_id = excluded.message_id",
            )
            .bind(incident)
            .bind(handle)
            .bind(posted.channel)
            .bind(posted.id)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(true)
}

/// Ends the lease and schedules the next attempt at `retry_at`; `counts` says
/// whether this was a failed attempt (it is not when the platform asked us to wait).
pub(super) async fn release(
    pool: &AnyPool,
    id: i64,
    owner: &str,
    retry_at: DateTime<Utc>,
    error: &str,
    counts: bool,
) -> Result<bool, StoreError> {
    let set = if counts {
        "next_attempt_at = $3, last_error = $4, attempts = attempts + 1"
    } else {
        "next_attempt_at = $3, last_error = $4"
    };
    let released = sqlx::query(lease::finish(&OUTBOX, set))
        .bind(id)
        .bind(owner)
        .bind(millis(retry_at))
        .bind(error)
        .execute(pool)
        .await?;
    Ok(released.rows_affected() == 1)
}

pub(super) async fn fail(
    conn: &mut AnyConnection,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
    error: &str,
) -> Result<bool, StoreError> {
    let failed = sqlx::query(lease::finish(
        &OUTBOX,
        "failed_at = $3, last_error = $4, attempts = attempts + 1",
    ))
    .bind(id)
    .bind(owner)
    .bind(millis(now))
    .bind(error)
    .execute(conn)
    .await?;
    Ok(failed.rows_affected() == 1)
}

pub(super) async fn message_ref(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    handle: &str,
) -> Result<Option<MessageRef>, StoreError> {
    let row = sqlx::query(
        "SELECT channel, message_id FROM message_refs WHERE incident_id = $1 AND handle = $2",
    )
    .bind(incident.as_str())
    .bind(handle)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(MessageRef {
            channel: row.try_get("channel")?,
            id: row.try_get("message_id")?,
        })
    })
    .transpose()
}

pub(super) async fn of_incident(
    conn: &mut AnyConnection,
    incident: &IncidentId,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{ENTRY_COLUMNS} WHERE incident_id = $1 ORDER BY id"
    ));
    let rows = sqlx::query(sql)
        .bind(incident.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(entry).collect()
}

pub(super) async fn backlog(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
) -> Result<(u64, Option<Duration>), StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL",
    )
    .fetch_one(conn)
    .await?;
    let pending: u64 = narrow("outbox backlog", row.try_get::<i64, _>("pending")?)?;
    let oldest = get_opt_time(&row, "oldest")?;
    let age = oldest.map(|oldest| (now - oldest).to_std().unwrap_or_default());
    Ok((pending, age))
}

fn entry(row: &AnyRow) -> Result<OutboxEntry, StoreError> {
    let incident: Option<String> = row.try_get("incident_id")?;
    Ok(OutboxEntry {
        id: row.try_get("id")?,
        incident: incident
            .map(|id| super::rows::parse("outbox.incident_id", &id))
            .transpose()?,
        platform: get_parsed(row, "platform")?,
        operation: get_json(row, "operation")?,
        attempts: narrow("outbox.attempts", row.try_get::<i64, _>("attempts")?)?,
        created_at: get_time(row, "created_at")?,
        delivered_at: get_opt_time(row, "delivered_at")?,
        failed_at: get_opt_time(row, "failed_at")?,
        last_error: row.try_get("last_error")?,
    })
}
