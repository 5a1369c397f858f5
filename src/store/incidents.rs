//! Incidents with their roles, timeline events, follow-ups and the per-day numbering.
//!
//! An incident is read together with its roles in one statement (a left join), so a
//! reader never sees the incident of one commit with the roles of another.
//!
//! Must not: judge transitions or permissions; the engine hands over incidents
//! already decided, and they are written as given.

use super::rows::{
    date_text, get_flag, get_json, get_opt_date, get_opt_time, get_parsed, get_time, millis,
    narrow, opt_millis, to_json,
};
use super::{IncidentFilter, StoreError};
use crate::domain::{
    EventKind, FollowUp, Incident, IncidentId, Platform, Role, Severity, TimelineEvent, UserId,
};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AnyConnection;
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Row};
use std::collections::BTreeMap;

pub(super) async fn by_id(
    conn: &mut AnyConnection,
    id: &IncidentId,
    lock: bool,
) -> Result<Option<Incident>, StoreError> {
    let sql = if lock {
        incidents_with_roles!("i.id = $1", " FOR UPDATE OF i")
    } else {
        incidents_with_roles!("i.id = $1", "")
    };
    let rows = sqlx::query(sql).bind(id.as_str()).fetch_all(conn).await?;
    Ok(from_rows(&rows)?.into_iter().next())
}

pub(super) async fn by_room(
    conn: &mut AnyConnection,
    platform: Platform,
    room: &str,
    lock: bool,
) -> Result<Option<Incident>, StoreError> {
    let sql = if lock {
        incidents_with_roles!("i.platform = $1 AND i.room = $2", " FOR UPDATE OF i")
    } else {
        incidents_with_roles!("i.platform = $1 AND i.room = $2", "")
    };
    let rows = sqlx::query(sql)
        .bind(platform.as_str())
        .bind(room)
        .fetch_all(conn)
        .await?;
    Ok(from_rows(&rows)?.into_iter().next())
}

pub(super) async fn list(
    conn: &mut AnyConnection,
    filter: IncidentFilter,
    limit: u32,
) -> Result<Vec<Incident>, StoreError> {
    // The limit applies to incidents, not to joined rows, so it sits in a subquery.
    let sql = match filter {
        IncidentFilter::Open => incidents_with_roles!(
            "i.id IN (SELECT id FROM incidents WHERE status <> 'resolved' ORDER BY declared_at DESC, id DESC LIMIT $1)",
            ""
        ),
        IncidentFilter::Resolved => incidents_with_roles!(
            "i.id IN (SELECT id FROM incidents WHERE status = 'resolved' ORDER BY declared_at DESC, id DESC LIMIT $1)",
            ""
        ),
        IncidentFilter::All => incidents_with_roles!(
            "i.id IN (SELECT id FROM incidents ORDER BY declared_at DESC, id DESC LIMIT $1)",
            ""
        ),
    };
    let rows = sqlx::query(sql)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
    from_rows(&rows)
}

/// Folds joined rows (one per role, ordered by incident) into incidents.
pub(super) fn from_rows(rows: &[AnyRow]) -> Result<Vec<Incident>, StoreError> {
    let mut incidents: Vec<Incident> = Vec::new();
    for row in rows {
        let id: String = row.try_get("id")?;
        let same = incidents.last().is_some_and(|last| last.id.as_str() == id);
        if !same {
            incidents.push(incident(row, &id)?);
        }
        let role: Option<String> = row.try_get("role")?;
        let user: Option<String> = row.try_get("user_id")?;
        if let (Some(role), Some(user), Some(current)) = (role, user, incidents.last_mut()) {
            let role: Role = super::rows::parse("incident_roles.role", &role)?;
            current.roles.insert(role, UserId::new(user));
        }
    }
    Ok(incidents)
}

fn incident(row: &AnyRow, id: &str) -> Result<Incident, StoreError> {
    Ok(Incident {
        id: super::rows::parse("incidents.id", id)?,
        title: row.try_get("title")?,
        severity: Severity::new(row.try_get::<String, _>("severity")?),
        status: get_parsed(row, "status")?,
        drill: get_flag(row, "drill")?,
        services: get_json(row, "services")?,
        platform: get_parsed(row, "platform")?,
        origin_channel: row.try_get("origin_channel")?,
        room: row.try_get("room")?,
        declared_by: UserId::new(row.try_get::<String, _>("declared_by")?),
        declared_at: get_time(row, "declared_at")?,
        acknowledged_at: get_opt_time(row, "acknowledged_at")?,
        identified_at: get_opt_time(row, "identified_at")?,
        mitigated_at: get_opt_time(row, "mitigated_at")?,
        resolved_at: get_opt_time(row, "resolved_at")?,
        last_update_at: get_opt_time(row, "last_update_at")?,
        summary: row.try_get("summary")?,
        roles: BTreeMap::new(),
    })
}

pub(super) async fn next_number(
    conn: &mut AnyConnection,
    day: NaiveDate,
) -> Result<u32, StoreError> {
    // The upsert takes the counter row's lock, so concurrent declares on Postgres wait
    // for each other under READ COMMITTED instead of failing; SQLite's write lock
    // already serialises them.
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO incident_counters (day, last) VALUES ($1, 1) \
         ON CONFLICT (day) DO UPDATE SET last = incident_counters.last + 1 RETURNING last",
    )
    .bind(day.format("%Y%m%d").to_string())
    .fetch_one(conn)
    .await?;
    narrow("incident_counters.last", last)
}

pub(super) async fn insert(
    conn: &mut AnyConnection,
    incident: &Incident,
) -> Result<(), StoreError> {
    let insert = sqlx::query(
        "INSERT INTO incidents (id, title, severity, status, drill, services, platform, origin_channel, room, \
         declared_by, declared_at, acknowledged_at, identified_at, mitigated_at, resolved_at, last_update_at, summary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    );
    bind_columns(insert, incident)?.execute(&mut *conn).await?;
    insert_roles(conn, incident).await
}

/// Binds every column of `incidents` as `$1…$17`, in the one order both the
/// insert and the update name them.
fn bind_columns<'q>(
    query: Query<'q, Any, AnyArguments>,
    incident: &'q Incident,
) -> Result<Query<'q, Any, AnyArguments>, StoreError> {
    Ok(query
        .bind(incident.id.as_str())
        .bind(&incident.title)
        .bind(incident.severity.as_str())
        .bind(incident.status.as_str())
        .bind(i64::from(incident.drill))
        .bind(to_json("services", &incident.services)?)
        .bind(incident.platform.as_str())
        .bind(&incident.origin_channel)
        .bind(incident.room.as_deref())
        .bind(incident.declared_by.as_str())
        .bind(millis(incident.declared_at))
        .bind(opt_millis(incident.acknowledged_at))
        .bind(opt_millis(incident.identified_at))
        .bind(opt_millis(incident.mitigated_at))
        .bind(opt_millis(incident.resolved_at))
        .bind(opt_millis(incident.last_update_at))
        .bind(incident.summary.as_deref()))
}

pub(super) async fn update(
    conn: &mut AnyConnection,
    incident: &Incident,
) -> Result<(), StoreError> {
    let update = sqlx::query(
        "UPDATE incidents SET title = $2, severity = $3, status = $4, drill = $5, services = $6, platform = $7, \
         origin_channel = $8, room = $9, declared_by = $10, declared_at = $11, acknowledged_at = $12, \
         identified_at = $13, mitigated_at = $14, resolved_at = $15, last_update_at = $16, summary = $17 \
         WHERE id = $1",
    );
    let updated = bind_columns(update, incident)?.execute(&mut *conn).await?;
    if updated.rows_affected() == 0 {
        return Err(sqlx::Error::RowNotFound.into());
    }
    sqlx::query("DELETE FROM incident_roles WHERE incident_id = $1")
        .bind(incident.id.as_str())
        .execute(&mut *conn)
        .await?;
    insert_roles(conn, incident).await
}

async fn insert_roles(conn: &mut AnyConnection, incident: &Incident) -> Result<(), StoreError> {
    if incident.roles.is_empty() {
        return Ok(());
    }
    // One statement for all roles (at most four): `VALUES ($1, $2, $3), ($1, $4, $5), …`.
    let values = (0..incident.roles.len())
        .map(|i| format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("INSERT INTO incident_roles (incident_id, role, user_id) VALUES {values}");
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(incident.id.as_str());
    for (role, user) in &incident.roles {
        query = query.bind(role.as_str()).bind(user.as_str());
    }
    query.execute(conn).await?;
    Ok(())
}

pub(super) async fn record_event(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    event: &TimelineEvent,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO timeline_events (incident_id, at, kind, actor, text) VALUES ($1, $2, $3, $4, $5)")
        .bind(incident.as_str())
        .bind(millis(event.at))
        .bind(event.kind.as_str())
        .bind(&event.actor)
        .bind(&event.text)
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) async fn timeline(
    conn: &mut AnyConnection,
    incident: &IncidentId,
) -> Result<Vec<TimelineEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT at, kind, actor, text FROM timeline_events WHERE incident_id = $1 ORDER BY at, id",
    )
    .bind(incident.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            Ok(TimelineEvent {
                at: get_time(row, "at")?,
                kind: EventKind::parse(&kind).ok_or_else(|| {
                    StoreError::Corrupt(format!("timeline_events.kind = `{kind}` is not valid"))
                })?,
                actor: row.try_get("actor")?,
                text: row.try_get("text")?,
            })
        })
        .collect()
}

pub(super) async fn add_followup(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    text: &str,
    owner: Option<&UserId>,
    due: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let number: i64 = sqlx::query_scalar(
        "INSERT INTO followups (incident_id, number, text, owner, due, done, created_at) \
         SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3, $4, 0, $5 FROM followups WHERE incident_id = $1 \
         RETURNING number",
    )
    .bind(incident.as_str())
    .bind(text)
    .bind(owner.map(UserId::as_str))
    .bind(due.map(date_text))
    .bind(millis(now))
    .fetch_one(conn)
    .await?;
    Ok(number)
}

pub(super) async fn complete_followup(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    number: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE followups SET done = 1 WHERE incident_id = $1 AND number = $2")
        .bind(incident.as_str())
        .bind(number)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn followups(
    conn: &mut AnyConnection,
    incident: &IncidentId,
) -> Result<Vec<FollowUp>, StoreError> {
    let rows = sqlx::query(
        "SELECT number, text, owner, due, done, created_at FROM followups WHERE incident_id = $1 ORDER BY number",
    )
    .bind(incident.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FollowUp {
                number: row.try_get("number")?,
                text: row.try_get("text")?,
                owner: row.try_get::<Option<String>, _>("owner")?.map(UserId::new),
                due: get_opt_date(row, "due")?,
                done: get_flag(row, "done")?,
                created_at: get_time(row, "created_at")?,
            })
        })
        .collect()
}
