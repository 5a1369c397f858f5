//! The inbox table: what a platform sent and warroom acknowledged, until it is applied.
//!
//! A click or an event is written here before its acknowledgement goes back, leased
//! to the process that received it, which applies it at once and marks it handled.
//! If that process dies in between, the row's lease ends and a worker applies it
//! then. Applying twice is harmless: the engine recognises a request it has seen by
//! its request id (`requests`), so a replay changes nothing twice.
//!
//! Must not: read the payloads; they are the platform adapters' business.

use super::lease::{Leased, LeasedWork, until};
use super::queries::moved_one;
use super::rows::{get_parsed, millis, narrow};
use super::{Store, StoreError};
use crate::domain::Platform;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::time::Duration;

const INBOX: Leased = Leased {
    table: LeasedWork::Inbox.table(),
    select: "SELECT id, platform, kind, payload, attempts FROM inbox",
    candidates: "WHERE handled_at IS NULL AND (lease_until IS NULL OR lease_until < $1) \
                 ORDER BY id LIMIT $2",
    claimable: "handled_at IS NULL",
    start: None,
};

/// Something a platform sent, acknowledged and not yet applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub id: i64,
    pub platform: Platform,
    /// What the adapter calls it (`interaction`, `event`, `command`).
    pub kind: String,
    /// As the adapter stored it, for the adapter to read back.
    pub payload: String,
    /// Earlier attempts to apply it that failed.
    pub attempts: u32,
}

impl Store {
    /// Keeps what a platform sent, leased to `owner` (who applies it next) for
    /// `lease`. Returns its id.
    pub async fn receive(
        &self,
        platform: Platform,
        kind: &str,
        payload: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<i64, StoreError> {
        let _turn = self.writer_turn().await;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inbox (platform, kind, payload, received_at, lease_owner, lease_until) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(platform.as_str())
        .bind(kind)
        .bind(payload)
        .bind(millis(now))
        .bind(owner)
        .bind(until(now, lease))
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Leases up to `limit` received items whose receiver stopped before applying
    /// them, oldest first.
    pub async fn claim_received(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Received>, StoreError> {
        self.claim_leased(&INBOX, owner, now, lease, limit, received)
            .await
    }

    /// Marks an item applied; `error` says why it was given up on instead.
    pub async fn handled(
        &self,
        id: i64,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer_turn().await;
        let update = sqlx::query(
            "UPDATE inbox SET handled_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND handled_at IS NULL",
        )
        .bind(id)
        .bind(millis(now))
        .bind(error);
        moved_one(update, &mut *self.pool.acquire().await?).await
    }

    /// Gives an item back after a failed attempt, to be tried again from `retry_at`.
    pub async fn retry_received(
        &self,
        id: i64,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer_turn().await;
        let update = sqlx::query(
            "UPDATE inbox SET attempts = attempts + 1, last_error = $3, lease_owner = NULL, lease_until = $2 \
             WHERE id = $1 AND handled_at IS NULL",
        )
        .bind(id)
        .bind(millis(retry_at))
        .bind(error);
        moved_one(update, &mut *self.pool.acquire().await?).await
    }
}

fn received(row: &AnyRow) -> Result<Received, StoreError> {
    Ok(Received {
        id: row.try_get("id")?,
        platform: get_parsed(row, "platform")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        attempts: narrow("inbox.attempts", row.try_get::<i64, _>("attempts")?)?,
    })
}
