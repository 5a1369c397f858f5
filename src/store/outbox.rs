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
//! Each row says in which format its operation was written (`format`). A row that
//! this release cannot read (written by another release, or damaged) is set aside
//! as failed with the reason, and counted, instead of stopping every claim.
//!
//! Must not: interpret operations beyond storing them as JSON; delivering them is
//! the dispatcher's job. The entries and delivery results themselves are the
//! outbox module's types.

use super::lease::{self, Leased, LeasedWork};
use super::rows::{get_json, get_opt_time, get_parsed, get_time, millis, narrow, to_json};
use super::{Store, StoreError, Tx};
use crate::domain::{IncidentId, Platform};
use crate::outbox::{Delivered, MessageRef, Operation, OutboxEntry};
use crate::telemetry::{self, DeadLetter};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::time::Duration;

const OUTBOX: Leased = Leased {
    table: LeasedWork::Outbox.table(),
    select: "SELECT id, incident_id, platform, operation, format, attempts, created_at, \
             delivered_at, failed_at, last_error, notice_of, maybe_delivered, lease_owner FROM outbox",
    candidates: "WHERE id IN (SELECT MIN(id) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY lane) \
                 AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
                 ORDER BY next_attempt_at, id LIMIT $2",
    claimable: "delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $4",
    start: None,
};

impl Store {
    /// Rows not yet delivered or failed, and the age of the oldest, for `/readyz` and metrics.
    pub async fn outbox_backlog(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(u64, Option<Duration>), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let pending: u64 = narrow("outbox backlog", row.try_get::<i64, _>("pending")?)?;
        let oldest = get_opt_time(&row, "oldest")?;
        let age = oldest.map(|oldest| (now - oldest).to_std().unwrap_or_default());
        Ok((pending, age))
    }

    /// Leases up to `limit` operations that are due: for each lane (incident), only
    /// its oldest undelivered operation, so a lane is delivered strictly in order.
    /// A lease expires after `lease`, so work held by a crashed process is picked up again.
    pub async fn claim_outbox(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let claimed = self
            .claim_leased(&OUTBOX, owner, now, lease, limit, claimed)
            .await?;
        let mut entries = Vec::with_capacity(claimed.len());
        for row in claimed {
            match row {
                Claimed::Readable(entry) => entries.push(entry),
                Claimed::Unreadable(unreadable) => {
                    self.set_aside(&unreadable, owner, now).await?;
                }
            }
        }
        Ok(entries)
    }

    /// Marks a leased operation delivered and records what it produced, atomically.
    /// Returns false if the lease was lost (another worker owns the row now).
    pub async fn complete_outbox(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        delivered: Delivered,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let finished = sqlx::query(lease::finish(&OUTBOX, "delivered_at = $3"))
            .bind(id)
            .bind(owner)
            .bind(millis(now))
            .execute(&mut *tx.tx)
            .await?;
        if finished.rows_affected() != 1 {
            return Ok(false);
        }
        // Read in the same transaction, which now holds the row.
        let row = sqlx::query("SELECT incident_id, platform FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx.tx)
            .await?;
        let incident: Option<String> = row.try_get("incident_id")?;
        match delivered {
            Delivered::Nothing => {}
            Delivered::Room(room) => {
                let incident = incident.ok_or_else(|| {
                    StoreError::Corrupt(format!("outbox row {id} made a room but has no incident"))
                })?;
                sqlx::query("UPDATE incidents SET room = $2 WHERE id = $1")
                    .bind(incident)
                    .bind(room)
                    .execute(&mut *tx.tx)
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
                .execute(&mut *tx.tx)
                .await?;
            }
            Delivered::Issue {
                followup,
                link,
                announce,
            } => {
                let incident: IncidentId = incident
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "outbox row {id} filed a follow-up but has no incident"
                        ))
                    })
                    .and_then(|incident| super::rows::parse("outbox.incident_id", &incident))?;
                sqlx::query(
                    "UPDATE followups SET issue_key = $3, issue_url = $4 WHERE incident_id = $1 AND number = $2",
                )
                .bind(incident.as_str())
                .bind(followup)
                .bind(link.key)
                .bind(link.url)
                .execute(&mut *tx.tx)
                .await?;
                let platform: Platform = get_parsed(&row, "platform")?;
                tx.enqueue(Some(&incident), platform, &announce, now)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Gives a leased operation back for another attempt at `retry_at`; the
    /// attempt counts towards the dispatcher's limit. A failed call (a timeout, a
    /// 5xx) may still have been carried out, so the next attempt looks first.
    pub async fn retry_outbox(
        &self,
        id: i64,
        owner: &str,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.release_outbox(
            id,
            owner,
            (retry_at, error, true),
            "next_attempt_at = $3, last_error = $4, attempts = attempts + 1, maybe_delivered = $5",
        )
        .await
    }

    /// Gives a leased operation back until `retry_at` because the platform asked us
    /// to wait (a rate limit). Unlike [`Store::retry_outbox`] this is not a failed
    /// attempt: a long 429 storm must not use up an operation's attempts. A
    /// refused call did nothing, so whether an earlier attempt may have been
    /// delivered stays as the entry had it.
    pub async fn postpone_outbox(
        &self,
        entry: &OutboxEntry,
        owner: &str,
        retry_at: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.release_outbox(
            entry.id,
            owner,
            (retry_at, reason, entry.maybe_delivered),
            "next_attempt_at = $3, last_error = $4, maybe_delivered = $5",
        )
        .await
    }

    /// Ends the lease and schedules the next attempt at `retry_at` (`$3`) with
    /// `error` (`$4`) and `maybe_delivered` (`$5`), applying `set`.
    async fn release_outbox(
        &self,
        id: i64,
        owner: &str,
        (retry_at, error, maybe_delivered): (DateTime<Utc>, &str, bool),
        set: &'static str,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer_turn().await;
        let released = sqlx::query(lease::finish(&OUTBOX, set))
            .bind(id)
            .bind(owner)
            .bind(millis(retry_at))
            .bind(error)
            .bind(i64::from(maybe_delivered))
            .execute(&self.pool)
            .await?;
        Ok(released.rows_affected() == 1)
    }

    /// Gives up on a leased operation; the lane moves on to its next operation.
    pub async fn fail_outbox(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer_turn().await;
        fail(&mut *self.pool.acquire().await?, id, owner, now, error).await
    }

    /// Marks a leased operation failed and, in the same transaction, queues
    /// `report` behind the incident's other chat operations, so a failure the room
    /// must hear about cannot be recorded without the report.
    pub async fn fail_outbox_reporting(
        &self,
        entry: &OutboxEntry,
        owner: &str,
        now: DateTime<Utc>,
        error: &str,
        report: &Operation,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if !fail(&mut tx.tx, entry.id, owner, now, error).await? {
            return Ok(false);
        }
        tx.enqueue_row(
            entry.incident.as_ref(),
            entry.platform,
            report,
            now,
            Some(entry.id),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Marks a row that cannot be read failed, counts it, and tells its incident's
    /// room, in one transaction.
    async fn set_aside(
        &self,
        unreadable: &Unreadable,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Unreadable {
            id,
            platform,
            incident,
            reason,
        } = unreadable;
        tracing::error!(id, %platform, %reason, "an outbox row cannot be read; set aside");
        let mut tx = self.begin().await?;
        let error = format!("set aside, unreadable: {reason}");
        if !fail(&mut tx.tx, *id, owner, now, &error).await? {
            return Ok(());
        }
        let notice = Operation::set_aside_notice("a queued message", reason);
        if let (Some(incident), Ok(platform)) = (incident, platform.parse::<Platform>()) {
            tx.enqueue_row(Some(incident), platform, &notice, now, Some(*id))
                .await?;
        }
        tx.commit().await?;
        telemetry::dead_letter(platform, DeadLetter::Unreadable);
        Ok(())
    }

    /// The message posted under `handle` for an incident, if it was delivered.
    pub async fn message_ref(
        &self,
        incident: &IncidentId,
        handle: &str,
    ) -> Result<Option<MessageRef>, StoreError> {
        let row = sqlx::query(
            "SELECT channel, message_id FROM message_refs WHERE incident_id = $1 AND handle = $2",
        )
        .bind(incident.as_str())
        .bind(handle)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(MessageRef {
                channel: row.try_get("channel")?,
                id: row.try_get("message_id")?,
            })
        })
        .transpose()
    }
}

impl Tx {
    /// Queues an operation behind every operation already queued for the incident.
    pub async fn enqueue(
        &mut self,
        incident: Option<&IncidentId>,
        platform: Platform,
        operation: &Operation,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.enqueue_row(incident, platform, operation, now, None)
            .await
    }

    /// [`Tx::enqueue`], for a notice about row `notice_of` when there is one.
    async fn enqueue_row(
        &mut self,
        incident: Option<&IncidentId>,
        platform: Platform,
        operation: &Operation,
        now: DateTime<Utc>,
        notice_of: Option<i64>,
    ) -> Result<(), StoreError> {
        let lane = match (incident, operation.side_lane()) {
            (Some(id), None) => id.as_str().to_string(),
            (Some(id), Some(side)) => format!("{id}/{side}"),
            (None, None) => format!("{platform}:global"),
            (None, Some(side)) => format!("{side}:global"),
        };
        sqlx::query(
            "INSERT INTO outbox (lane, incident_id, platform, operation, format, created_at, next_attempt_at, attempts, notice_of) \
             VALUES ($1, $2, $3, $4, $6, $5, $5, 0, $7)",
        )
        .bind(lane)
        .bind(incident.map(IncidentId::as_str))
        .bind(platform.as_str())
        .bind(to_json("outbox operation", operation)?)
        .bind(millis(now))
        .bind(OPERATION_FORMAT)
        .bind(notice_of)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

async fn fail(
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

/// The format operations are written in; a row in another one is not guessed at.
const OPERATION_FORMAT: i64 = 1;

/// A claimed row: an entry, or why it cannot be delivered by this release.
enum Claimed {
    Readable(OutboxEntry),
    Unreadable(Unreadable),
}

/// A row this release cannot read, with what can still be read of it.
struct Unreadable {
    id: i64,
    /// As stored: it may name a platform this release does not know.
    platform: String,
    incident: Option<IncidentId>,
    reason: String,
}

fn claimed(row: &AnyRow) -> Result<Claimed, StoreError> {
    let format: i64 = row.try_get("format")?;
    let unreadable = |reason: String| -> Result<Claimed, StoreError> {
        let incident: Option<String> = row.try_get("incident_id")?;
        Ok(Claimed::Unreadable(Unreadable {
            id: row.try_get("id")?,
            platform: row.try_get("platform")?,
            incident: incident.and_then(|id| id.parse().ok()),
            reason,
        }))
    };
    if format != OPERATION_FORMAT {
        return unreadable(format!(
            "written in format {format}; this release reads format {OPERATION_FORMAT}"
        ));
    }
    match entry(row) {
        Ok(entry) => Ok(Claimed::Readable(entry)),
        Err(StoreError::Corrupt(reason)) => unreadable(reason),
        Err(error) => Err(error),
    }
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
        notice_of: row.try_get("notice_of")?,
        // A lease owner still on a claimable row is a holder that never finished
        // its attempt: it died during it, or hung past its lease.
        maybe_delivered: row.try_get::<i64, _>("maybe_delivered")? != 0
            || row.try_get::<Option<String>, _>("lease_owner")?.is_some(),
    })
}
