//! Leases: how one worker (or one replica) claims a row of work for a while.
//!
//! Every leasable table has `lease_owner` and `lease_until` columns. Claiming is a
//! compare-and-set: pick candidates with a plain read, then for each run
//! `UPDATE … SET lease_owner = me WHERE id = … AND the lease is free AND the row
//! still qualifies`, and keep it only if one row changed. That works the same on
//! SQLite and Postgres, needs no row locks held across statements, and two workers
//! racing for a row cannot both win. A crashed worker's lease simply runs out.
//!
//! Changes made by the holder afterwards go through [`finish`], which checks that the
//! lease is still this owner's: once another worker has claimed the row, the first
//! one's results are discarded (the caller learns it through `false`).
//!
//! A holder keeps its leases short and renews them while it works ([`Store::renew_leases`],
//! a worker's heartbeat), so a dead replica's rows return within one short lease while
//! a live one's slow platform call is never taken for abandoned. On SQLite only one
//! process can hold the file, so every lease found there at start belongs to a
//! process that died: [`Store::take_over_leases`] ends them all at once.
//!
//! Owns: the lease SQL. Must not: know what the leased work means.

use super::queries::{Decode, moved_one};
use super::rows::millis;
use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use std::time::Duration;

/// The kinds of work whose rows are leased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeasedWork {
    Outbox,
    Reminders,
    ActionRuns,
    Inbox,
}

impl LeasedWork {
    const ALL: [LeasedWork; 4] = [
        LeasedWork::Outbox,
        LeasedWork::Reminders,
        LeasedWork::ActionRuns,
        LeasedWork::Inbox,
    ];

    pub(super) const fn table(self) -> &'static str {
        match self {
            LeasedWork::Outbox => "outbox",
            LeasedWork::Reminders => "reminders",
            LeasedWork::ActionRuns => "action_runs",
            LeasedWork::Inbox => "inbox",
        }
    }
}

/// A table whose rows are leased.
pub(super) struct Leased {
    pub table: &'static str,
    /// `SELECT <columns> FROM <table>`: what a claimed row is read from (with its `id`).
    pub select: &'static str,
    /// Which rows may be claimed, in the order to claim them: `WHERE … ORDER BY …
    /// LIMIT $2`, where `$1` is "now" in ms.
    pub candidates: &'static str,
    /// Extra condition a row must still meet to be claimed; `$4` is "now" in ms.
    pub claimable: &'static str,
    /// What a won row is moved to once every candidate was tried, if anything: an
    /// `UPDATE` where `$1` is the id, `$2` the owner and `$3` "now" in ms. A row it
    /// does not move (someone changed it in between) is not handed out.
    pub start: Option<&'static str>,
}

impl Store {
    /// Leases, in order, up to `limit` candidate rows that are still free, in this
    /// process's turn to write, and reads (and starts) the ones this owner won.
    pub(super) async fn claim_leased<T>(
        &self,
        leased: &Leased,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        read: Decode<T>,
    ) -> Result<Vec<T>, StoreError> {
        let _turn = self.writer_turn().await;
        let mut conn = self.pool.acquire().await?;
        let sql = format!("{} {}", leased.select, leased.candidates);
        let candidates = sqlx::query(AssertSqlSafe(sql))
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
        let until_ms = until(now, lease);
        let mut won = Vec::with_capacity(candidates.len());
        for row in &candidates {
            let id: i64 = row.try_get("id")?;
            if acquire(&mut conn, leased, id, owner, now, until_ms).await? {
                won.push((id, read(row)?));
            }
        }
        let Some(start) = leased.start else {
            return Ok(won.into_iter().map(|(_, claimed)| claimed).collect());
        };
        let mut started = Vec::with_capacity(won.len());
        for (id, claimed) in won {
            let update = sqlx::query(start).bind(id).bind(owner).bind(millis(now));
            if moved_one(update, &mut conn).await? {
                started.push(claimed);
            }
        }
        Ok(started)
    }
}

impl Store {
    /// Extends every lease `owner` holds on `work` to `lease` from `now`: the
    /// holder's heartbeat. Returns how many rows it holds.
    pub async fn renew_leases(
        &self,
        work: LeasedWork,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE {table} SET lease_until = $2 WHERE lease_owner = $1 AND lease_until IS NOT NULL",
            table = work.table(),
        );
        let _turn = self.writer_turn().await;
        let renewed = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(until(now, lease))
            .execute(&self.pool)
            .await?;
        Ok(renewed.rows_affected())
    }

    /// Ends every lease in the database as of now, keeping who held it, so the rows
    /// are claimed (or, for a run cut short, reported) at once instead of when the
    /// lease would have run out. Only for a process that is sure no other one is
    /// working: on SQLite, the holder of the file lock. Returns how many it ended.
    pub async fn take_over_leases(&self) -> Result<u64, StoreError> {
        let _turn = self.writer_turn().await;
        let mut ended = 0;
        for work in LeasedWork::ALL {
            let sql = format!(
                "UPDATE {table} SET lease_until = 0 WHERE lease_until IS NOT NULL",
                table = work.table(),
            );
            ended += sqlx::query(AssertSqlSafe(sql))
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(ended)
    }
}

/// When a lease taken at `now` runs out.
pub(super) fn until(now: DateTime<Utc>, lease: Duration) -> i64 {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    millis(now).saturating_add(lease_ms)
}

/// Tries to lease row `id` for `owner` until `until_ms`; true if this call won it.
async fn acquire(
    conn: &mut AnyConnection,
    leased: &Leased,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
    until_ms: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE {table} SET lease_owner = $1, lease_until = $2 \
         WHERE id = $3 AND (lease_until IS NULL OR lease_until < $4) AND {claimable}",
        table = leased.table,
        claimable = leased.claimable,
    );
    let won = sqlx::query(AssertSqlSafe(sql))
        .bind(owner)
        .bind(until_ms)
        .bind(id)
        .bind(millis(now))
        .execute(conn)
        .await?;
    Ok(won.rows_affected() == 1)
}

/// The statement that ends `owner`'s lease on a row and applies `set` to it:
/// `$1` is the row id, `$2` the owner, `$3…` belong to `set`.
pub(super) fn finish(leased: &Leased, set: &'static str) -> AssertSqlSafe<String> {
    finish_if(leased, set, "1 = 1")
}

/// Like [`finish`], for a row that must also still meet `condition` (a row the
/// holder's work may have made moot meanwhile, e.g. a cancelled reminder).
pub(super) fn finish_if(
    leased: &Leased,
    set: &'static str,
    condition: &'static str,
) -> AssertSqlSafe<String> {
    AssertSqlSafe(format!(
        "UPDATE {table} SET lease_owner = NULL, lease_until = NULL, {set} \
         WHERE id = $1 AND lease_owner = $2 AND {condition}",
        table = leased.table,
    ))
}
