//! Query shapes several tables share: decoding what a `SELECT` returns, the rows
//! of one incident, one row of an incident by id, and compare-and-set updates that
//! report whether they moved their row.
//!
//! Must not: name a table or a column of its own; callers pass their SQL (for an
//! incident's rows, once per table as an [`IncidentRows`]).

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

/// A table whose rows each belong to one incident (its `incident_id` column):
/// what to select, in which order an incident's rows are listed, and how a row
/// is read, kept together so that no query reads rows with another's decoder.
pub(super) struct IncidentRows<T> {
    /// `SELECT <columns> FROM <table>`.
    pub select: &'static str,
    /// The `ORDER BY` list an incident's rows are listed in.
    pub order: &'static str,
    pub decode: Decode<T>,
}

impl<T> IncidentRows<T> {
    /// Every row that belongs to `incident`, in the table's order.
    pub async fn all(
        &self,
        conn: &mut AnyConnection,
        incident: &IncidentId,
    ) -> Result<Vec<T>, StoreError> {
        let sql = format!(
            "{} WHERE incident_id = $1 ORDER BY {}",
            self.select, self.order
        );
        let query = sqlx::query(AssertSqlSafe(sql)).bind(incident.as_str());
        fetch_all(query, conn, self.decode).await
    }

    /// Row `id` (for a table keyed by an `id` column) if it belongs to
    /// `incident`; ids are asked for by people, who must not reach another
    /// incident's rows by number.
    pub async fn by_id(
        &self,
        conn: &mut AnyConnection,
        incident: &IncidentId,
        id: i64,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("{} WHERE incident_id = $1 AND id = $2", self.select);
        let query = sqlx::query(AssertSqlSafe(sql)).bind(incident.as_str());
        let row = query.bind(id).fetch_optional(conn).await?;
        row.as_ref().map(self.decode).transpose()
    }
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
