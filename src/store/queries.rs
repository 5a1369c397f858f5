//! Query shapes several tables share: decoding what a `SELECT` returns, the rows
//! of one incident, one row of an incident by id, and compare-and-set updates that
//! report whether they moved their row.
//!
//! Must not: name a table or a column of its own; callers pass their SQL.

use super::StoreError;
use crate::domain::{IncidentId, UserId};
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{AnyConnection, AssertSqlSafe, Executor};

/// Reads a table's row per decoder.
pub(super) type Decode<T> = fn(&AnyRow) -> Result<T, StoreError>;

/// Runs a `SELECT` and decodes every row it returns, in its order.
pub(super) async fn fetch_all<'c, T>(
    select: Query<'_, Any, AnyArguments>,
    executor: impl Executor<'c, Database = Any>,
    decode: Decode<T>,
) -> Result<Vec<T>, StoreError> {
    select
        .fetch_all(executor)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Every row of `select` (a `SELECT … FROM <table>`) that belongs to `incident`, by id.
pub(super) async fn of_incident<T>(
    conn: &mut AnyConnection,
    select: &str,
    incident: &IncidentId,
    decode: Decode<T>,
) -> Result<Vec<T>, StoreError> {
    let sql = format!("{select} WHERE incident_id = $1 ORDER BY id");
    let query = sqlx::query(AssertSqlSafe(sql)).bind(incident.as_str());
    fetch_all(query, conn, decode).await
}

/// Row `id` of `select` if it belongs to `incident`; ids are asked for by people,
/// who must not reach another incident's rows by number.
pub(super) async fn of_incident_by_id<T>(
    conn: &mut AnyConnection,
    select: &str,
    incident: &IncidentId,
    id: i64,
    decode: Decode<T>,
) -> Result<Option<T>, StoreError> {
    let sql = format!("{select} WHERE incident_id = $1 AND id = $2");
    let query = sqlx::query(AssertSqlSafe(sql)).bind(incident.as_str());
    let row = query.bind(id).fetch_optional(conn).await?;
    row.as_ref().map(decode).transpose()
}

/// Runs a conditional `UPDATE` of one row; true if it changed that row, false if
/// the row no longer met the condition (someone else moved it first).
pub(super) async fn moved_one(
    update: Query<'_, Any, AnyArguments>,
    conn: &mut AnyConnection,
) -> Result<bool, StoreError> {
    Ok(update.execute(conn).await?.rows_affected() == 1)
}

/// [`moved_one`] for an `UPDATE` whose `$1` is the row's id and `$2` the person
/// who moved it.
pub(super) async fn moved_by(
    conn: &mut AnyConnection,
    update: &'static str,
    id: i64,
    by: &UserId,
) -> Result<bool, StoreError> {
    moved_one(sqlx::query(update).bind(id).bind(by.as_str()), conn).await
}
