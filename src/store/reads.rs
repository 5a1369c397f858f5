//! Read queries for the JSON API and the metrics: incidents page by page in the
//! order they were declared, counts of open incidents, which incidents had their
//! postmortem posted, the per-severity KPI totals for the metrics, and one
//! incident's whole record.
//!
//! Must not: write, or judge what a caller may see (the web layer checks the token
//! before asking).

use super::incidents::fetch_incidents;
use super::rows::{millis, narrow};
use super::{IncidentFilter, Store, StoreError, Tx};
use crate::domain::{
    DURATION_BUCKETS, DurationHistogram, EventKind, Incident, IncidentId, IncidentRecord, Severity,
    SeverityTotals,
};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::AnyConnection;
use sqlx::Row;
use std::collections::BTreeMap;

/// Where a page of incidents starts, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredAfter {
    pub at: DateTime<Utc>,
    /// `None`: every incident declared at `at` or later. `Some(id)`: continue after
    /// incident `id`, which was declared at `at` (a page's last incident), so
    /// incidents declared in the same millisecond are neither skipped nor repeated.
    pub id: Option<IncidentId>,
}

/// The milestones the duration histograms measure, by column prefix.
const MILESTONES: [(&str, &str); 4] = [
    ("detect", "declared_at - detected_at"),
    ("ack", "acknowledged_at - declared_at"),
    ("mitigate", "mitigated_at - declared_at"),
    ("resolve", "resolved_at - declared_at"),
];

impl Store {
    /// An incident with its updates, timeline, follow-ups and action runs.
    pub async fn incident_record(
        &self,
        id: &IncidentId,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        record(&mut *self.pool.acquire().await?, id).await
    }

    /// A page of incidents in declaration order (oldest first), drills included,
    /// private ones only `with_private`: those declared after `after` (all,
    /// without it), at most `limit`.
    pub async fn incidents_declared(
        &self,
        filter: IncidentFilter,
        with_private: bool,
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
        let select = sqlx::query(incidents_with_roles!(
            "i.id IN (SELECT id FROM incidents WHERE \
             ($1 = 'all' OR ($1 = 'open' AND status <> 'resolved') OR ($1 = 'resolved' AND status = 'resolved')) \
             AND (declared_at > $2 OR (declared_at = $2 AND id > $3)) AND private <= $5 \
             ORDER BY declared_at, id LIMIT $4)"
        ))
        .bind(filter)
        .bind(at)
        .bind(id)
        .bind(i64::from(limit))
        .bind(i64::from(with_private));
        // The shared select orders newest first; a page reads oldest first.
        let mut incidents = fetch_incidents(select, &self.pool).await?;
        incidents.reverse();
        Ok(incidents)
    }

    /// Incidents declared at `since` or later (drills left out) whose postmortem
    /// was posted (however often it was posted).
    pub async fn incidents_with_postmortem(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<IncidentId>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT e.incident_id AS id FROM timeline_events e \
             JOIN incidents i ON i.id = e.incident_id \
             WHERE e.kind = $1 AND i.declared_at >= $2 AND i.drill = 0 ORDER BY e.incident_id",
        )
        .bind(EventKind::PostmortemPosted.as_str())
        .bind(millis(since))
        .fetch_all(&self.pool)
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

    /// How many incidents are open per severity, drills left out; severities
    /// without an open incident are absent.
    pub async fn open_incidents_by_severity(&self) -> Result<Vec<(Severity, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT severity, COUNT(*) AS open FROM incidents WHERE status <> 'resolved' AND drill = 0 \
             GROUP BY severity ORDER BY severity",
        )
        .fetch_all(&self.pool)
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

    /// Per-severity KPI totals of every incident, drills left out, aggregated in SQL
    /// (one grouped scan of the incidents, one of the postmortem events) so the cost
    /// does not grow with what is returned. A response is missed as
    /// [`crate::domain::missed_response`] says: acknowledged later than the severity's
    /// target, or unacknowledged at `now` and past it; a severity absent from
    /// `respond_within` never misses.
    pub async fn severity_totals(
        &self,
        respond_within: &[(Severity, TimeDelta)],
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<Severity, SeverityTotals>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut query =
            sqlx::query(sqlx::AssertSqlSafe(totals_sql(respond_within.len()))).bind(millis(now));
        for bound in DURATION_BUCKETS {
            query = query.bind(bound * 1000);
        }
        for (severity, target) in respond_within {
            query = query
                .bind(severity.as_str().to_string())
                .bind(target.num_milliseconds());
        }
        let mut totals = BTreeMap::new();
        for row in query.fetch_all(&mut *conn).await? {
            let count = |column: &str| -> Result<u64, StoreError> {
                narrow(column, row.try_get::<i64, _>(column)?)
            };
            let histogram = |prefix: &str| -> Result<DurationHistogram, StoreError> {
                let mut cumulative = [0; DURATION_BUCKETS.len()];
                for (i, bucket) in cumulative.iter_mut().enumerate() {
                    *bucket = count(&format!("{prefix}_le{i}"))?;
                }
                Ok(DurationHistogram {
                    cumulative,
                    count: count(&format!("{prefix}_count"))?,
                    sum_millis: row.try_get(format!("{prefix}_sum").as_str())?,
                })
            };
            let [detect, acknowledge, mitigate, resolve] =
                MILESTONES.map(|(prefix, _)| histogram(prefix));
            totals.insert(
                Severity::new(row.try_get::<String, _>("severity")?),
                SeverityTotals {
                    incidents: count("incidents")?,
                    response_missed: count("missed")?,
                    postmortems: 0,
                    detect: detect?,
                    acknowledge: acknowledge?,
                    mitigate: mitigate?,
                    resolve: resolve?,
                },
            );
        }
        let posted = sqlx::query(
            "SELECT i.severity, CAST(COUNT(DISTINCT e.incident_id) AS BIGINT) AS posted \
             FROM timeline_events e JOIN incidents i ON i.id = e.incident_id \
             WHERE e.kind = $1 AND i.drill = 0 GROUP BY i.severity",
        )
        .bind(EventKind::PostmortemPosted.as_str())
        .fetch_all(&mut *conn)
        .await?;
        for row in posted {
            let severity = Severity::new(row.try_get::<String, _>("severity")?);
            let posted: u64 = narrow("postmortems", row.try_get("posted")?)?;
            totals.entry(severity).or_default().postmortems = posted;
        }
        Ok(totals)
    }
}

impl Tx {
    /// Like [`Store::incident_record`], seeing what this transaction wrote.
    pub async fn incident_record(
        &mut self,
        id: &IncidentId,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        record(&mut self.tx, id).await
    }
}

/// The grouped scan behind [`Store::severity_totals`]. `$1` is now, `$2…$10` the bucket
/// bounds in milliseconds, then a (severity, target in milliseconds) pair per
/// severity with a target. Only placeholders vary, never values.
fn totals_sql(targets: usize) -> String {
    let bounds = 2..2 + DURATION_BUCKETS.len();
    let first_target = bounds.end;
    let target = if targets == 0 {
        "CAST(NULL AS BIGINT)".to_string()
    } else {
        let arms: String = (0..targets)
            .map(|i| {
                let at = first_target + 2 * i;
                format!(" WHEN ${at} THEN ${}", at + 1)
            })
            .collect();
        format!("(CASE severity{arms} ELSE NULL END)")
    };
    let count_if = |condition: String| {
        format!("CAST(COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) AS BIGINT)")
    };
    let mut columns = vec![
        "severity".to_string(),
        "CAST(COUNT(*) AS BIGINT) AS incidents".to_string(),
        format!(
            "{} AS missed",
            count_if(format!(
                "COALESCE(acknowledged_at, $1) - declared_at > {target}"
            ))
        ),
    ];
    for (prefix, elapsed) in MILESTONES {
        columns.push(format!(
            "CAST(COUNT({elapsed}) AS BIGINT) AS {prefix}_count"
        ));
        columns.push(format!(
            "CAST(COALESCE(SUM({elapsed}), 0) AS BIGINT) AS {prefix}_sum"
        ));
        for (i, bound) in bounds.clone().enumerate() {
            columns.push(format!(
                "{} AS {prefix}_le{i}",
                count_if(format!("{elapsed} <= ${bound}"))
            ));
        }
    }
    format!(
        "SELECT {} FROM incidents WHERE drill = 0 GROUP BY severity",
        columns.join(", ")
    )
}

/// An incident with everything recorded about it, or `None` if there is no such
/// incident. The API's draft and the one posted in the war room both come from
/// here, so they are made from the same rows.
async fn record(
    conn: &mut AnyConnection,
    id: &IncidentId,
) -> Result<Option<IncidentRecord>, StoreError> {
    let Some(incident) = super::incidents::by_id(conn, id, false).await? else {
        return Ok(None);
    };
    Ok(Some(IncidentRecord {
        incident,
        updates: super::status_page::STATUS_UPDATES.all(conn, id).await?,
        timeline: super::incidents::TIMELINE.all(conn, id).await?,
        followups: super::incidents::FOLLOWUPS.all(conn, id).await?,
        action_runs: super::action_runs::ACTION_RUNS.all(conn, id).await?,
    }))
}
