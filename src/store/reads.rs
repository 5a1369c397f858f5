//! Read queries for the JSON API and the metrics: incidents page by page in the
//! order they were declared, counts of open incidents, which incidents had
//! their postmortem posted, and one incident's whole record.
//!
//! Must not: write, or judge what a caller may see (the web layer checks the token
//! before asking).

use super::rows::millis;
use super::{IncidentFilter, StoreError};
use crate::domain::{EventKind, Incident, IncidentId, IncidentRecord, Severity};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::Row;

/// Where a page of incidents starts, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredAfter {
    pub at: DateTime<Utc>,
    /// `None`: every incident declared at `at` or later. `Some(id)`: continue after
    /// incident `id`, which was declared at `at` (a page's last incident), so
    /// incidents declared in the same millisecond are neither skipped nor repeated.
    pub id: Option<IncidentId>,
}

/// Incidents in declaration order (oldest first), drills included, at most `limit`.
pub(super) async fn page(
    conn: &mut AnyConnection,
    filter: IncidentFilter,
    after: Option<&DeclaredAfter>,
    limit: u32,
) -> Result<Vec<Incident>, StoreError> {
    let filter = match filter {
        IncidentFilter::All => "all",
        IncidentFilter::Open => "open",
        IncidentFilter::Resolved => "resolved",
    };
    // One statement for every combination: no cursor is "after the smallest time",
    // and an inclusive `since` is "after the empty id at that time", since every
    // id sorts after the empty string.
    let (at, id) = match after {
        None => (i64::MIN, String::new()),
        Some(after) => (
            millis(after.at),
            after
                .id
                .as_ref()
                .map(|id| id.as_str().to_string())
                .unwrap_or_default(),
        ),
    };
    let rows = sqlx::query(incidents_with_roles!(
        "i.id IN (SELECT id FROM incidents WHERE \
         ($1 = 'all' OR ($1 = 'open' AND status <> 'resolved') OR ($1 = 'resolved' AND status = 'resolved')) \
         AND (declared_at > $2 OR (declared_at = $2 AND id > $3)) \
         ORDER BY declared_at, id LIMIT $4)",
        ""
    ))
    .bind(filter)
    .bind(at)
    .bind(id)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    // The shared select orders newest first; a page reads oldest first.
    let mut incidents = super::incidents::from_rows(&rows)?;
    incidents.reverse();
    Ok(incidents)
}

/// Open incidents per severity, drills left out.
pub(super) async fn open_by_severity(
    conn: &mut AnyConnection,
) -> Result<Vec<(Severity, u64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT severity, COUNT(*) AS open FROM incidents WHERE status <> 'resolved' AND drill = 0 \
         GROUP BY severity ORDER BY severity",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let count: i64 = row.try_get("open")?;
            Ok((
                Severity::new(row.try_get::<String, _>("severity")?),
                super::rows::narrow("open incidents", count)?,
            ))
        })
        .collect()
}

/// The incidents declared at `since` or later, drills left out, whose timeline
/// records a postmortem posted (however often it was posted).
pub(super) async fn with_postmortem(
    conn: &mut AnyConnection,
    since: DateTime<Utc>,
) -> Result<Vec<IncidentId>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT e.incident_id AS id FROM timeline_events e \
         JOIN incidents i ON i.id = e.incident_id \
         WHERE e.kind = $1 AND i.declared_at >= $2 AND i.drill = 0 ORDER BY e.incident_id",
    )
    .bind(EventKind::PostmortemPosted.as_str())
    .bind(millis(since))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            id.parse()
                .map_err(|error: crate::domain::InvalidIncidentId| {
                    StoreError::Corrupt(format!("incident id `{id}`: {error}"))
                })
        })
        .collect()
}

/// An incident with everything recorded about it, or `None` if there is no such
/// incident. The API's draft and the one posted in the war room both come from
/// here, so they are made from the same rows.
pub(super) async fn record(
    conn: &mut AnyConnection,
    id: &IncidentId,
) -> Result<Option<IncidentRecord>, StoreError> {
    let Some(incident) = super::incidents::by_id(conn, id, false).await? else {
        return Ok(None);
    };
    Ok(Some(IncidentRecord {
        incident,
        updates: super::status_page::updates_of(conn, id).await?,
        timeline: super::incidents::timeline(conn, id).await?,
        followups: super::incidents::followups(conn, id).await?,
        action_runs: super::action_runs::of_incident(conn, id).await?,
    }))
}
