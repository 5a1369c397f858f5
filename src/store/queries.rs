//! Query shapes several tables share: the rows of one incident, one row of an
//! incident by id, and a compare-and-set that reports whether it moved its row.
//!
//! Must not: name a table or a column of its own; callers pass their `SELECT`.

use super::StoreError;
use crate::domain::IncidentId;
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{AnyConnection, AssertSqlSafe};

/// Reads a table's row per decoder.
pub(super) type Decode<T> = fn(&AnyRow) -> Result<T, StoreError>;

/// Every row of `select` (a `SELECT … FROM <table>`) that belongs to `incident`, by id.
pub(super) async fn of_incident<T>(
    conn: &mut AnyConnection,
    select: &str,
    incident: &IncidentId,
    decode: Decode<T>,
) -> Result<Vec<T>, StoreError> {
    let sql = format!("{select} WHERE incident_id = $1 ORDER BY id");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(incident.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
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
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(incident.as_str())
        .bind(id)
        .fetch_optional(conn)
        .await?;
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
