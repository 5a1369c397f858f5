//! Incidents with their roles, timeline events, follow-ups and the per-day numbering.
//!
//! An incident is read together with its roles in one statement (a left join), so a
//! reader never sees the incident of one commit with the roles of another.
//!
//! Must not: judge transitions or permissions; the engine hands over incidents
//! already decided, and they are written as given.

use super::queries::IncidentRows;
use super::rows::{
    date_text, get_flag, get_json, get_opt_date, get_opt_time, get_opt_user, get_parsed, get_time,
    get_user, millis, narrow, opt_millis, to_json,
};
use super::{Backend, Store, StoreError, Tx};
use crate::domain::{
    EventKind, FollowUp, Incident, IncidentId, IssueLink, Platform, Role, Severity, TimelineEvent,
    UserId,
};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AnyConnection;
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Executor, Row};
use std::collections::BTreeMap;

/// `SELECT` of incidents joined with their roles; `$where` filters the incidents.
/// Its rows are read with [`fetch_incidents`]. The status page and the API's reads
/// select incidents through it too.
macro_rules! incidents_with_roles {
    ($where:literal) => {
        concat!(
            "SELECT i.id, i.title, i.severity, i.status, i.drill, i.private, i.services, i.platform, ",
            "i.origin_channel, i.room, i.declared_by, i.declared_at, i.acknowledged_at, ",
            "i.identified_at, i.mitigated_at, i.resolved_at, i.last_update_at, i.summary, ",
            "i.detected_at, ",
            "r.role, r.user_id ",
            "FROM incidents i LEFT JOIN incident_roles r ON r.incident_id = i.id ",
            "WHERE ",
            $where,
            " ORDER BY i.declared_at DESC, i.id DESC, r.role"
        )
    };
}

/// An incident's timeline, oldest first (by `at`, then by insertion).
pub(super) const TIMELINE: IncidentRows<TimelineEvent> = IncidentRows {
    select: "SELECT at, kind, actor, text FROM timeline_events",
    order: "at, id",
    decode: event,
};

/// An incident's follow-ups, by number.
pub(super) const FOLLOWUPS: IncidentRows<FollowUp> = IncidentRows {
    select: "SELECT number, text, owner, due, done, created_at, issue_key, issue_url FROM followups",
    order: "number",
    decode: followup,
};

/// Which incidents to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentFilter {
    Open,
    Resolved,
    All,
}

impl Store {
    pub async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        by_id(&mut *self.pool.acquire().await?, id, false).await
    }

    pub async fn incident_by_room(
        &self,
        platform: Platform,
        room: &str,
    ) -> Result<Option<Incident>, StoreError> {
        by_room(&mut *self.pool.acquire().await?, platform, room, false).await
    }

    /// Newest first.
    pub async fn incidents(
        &self,
        filter: IncidentFilter,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError> {
        // The limit applies to incidents, not to joined rows, so it sits in a subquery.
        let sql = match filter {
            IncidentFilter::Open => incidents_with_roles!(
                "i.id IN (SELECT id FROM incidents WHERE status <> 'resolved' ORDER BY declared_at DESC, id DESC LIMIT $1)"
            ),
            IncidentFilter::Resolved => incidents_with_roles!(
                "i.id IN (SELECT id FROM incidents WHERE status = 'resolved' ORDER BY declared_at DESC, id DESC LIMIT $1)"
            ),
            IncidentFilter::All => incidents_with_roles!(
                "i.id IN (SELECT id FROM incidents ORDER BY declared_at DESC, id DESC LIMIT $1)"
            ),
        };
        fetch_incidents(sqlx::query(sql).bind(i64::from(limit)), &self.pool).await
    }

    /// Oldest first (by `at`, then by insertion).
    pub async fn timeline(&self, id: &IncidentId) -> Result<Vec<TimelineEvent>, StoreError> {
        TIMELINE.all(&mut *self.pool.acquire().await?, id).await
    }

    pub async fn followups(&self, id: &IncidentId) -> Result<Vec<FollowUp>, StoreError> {
        FOLLOWUPS.all(&mut *self.pool.acquire().await?, id).await
    }
}

impl Tx {
    /// The next incident number of a UTC day; unique even under concurrent declares.
    pub async fn next_incident_number(&mut self, day: NaiveDate) -> Result<u32, StoreError> {
        // The upsert takes the counter row's lock, so concurrent declares on Postgres wait
        // for each other under READ COMMITTED instead of failing; SQLite's write lock
        // already serialises them.
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO incident_counters (day, last) VALUES ($1, 1) \
             ON CONFLICT (day) DO UPDATE SET last = incident_counters.last + 1 RETURNING last",
        )
        .bind(day.format("%Y%m%d").to_string())
        .fetch_one(&mut *self.tx)
        .await?;
        narrow("incident_counters.last", last)
    }

    pub async fn insert_incident(&mut self, incident: &Incident) -> Result<(), StoreError> {
        let insert = sqlx::query(
            "INSERT INTO incidents (id, title, severity, status, drill, services, platform, origin_channel, room, \
             declared_by, declared_at, acknowledged_at, identified_at, mitigated_at, resolved_at, last_update_at, summary, \
             detected_at, private) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        );
        bind_columns(insert, incident)?
            .execute(&mut *self.tx)
            .await?;
        insert_roles(&mut self.tx, incident).await
    }

    /// Loads an incident and locks it until commit (Postgres `FOR UPDATE`; SQLite
    /// transactions are already serialised), so concurrent commands on one incident
    /// apply one after the other and its outbox rows keep their order.
    pub async fn lock_incident(&mut self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        let lock = self.backend == Backend::Postgres;
        by_id(&mut self.tx, id, lock).await
    }

    /// The incident whose war room is `room`, locked like [`Tx::lock_incident`].
    pub async fn lock_incident_by_room(
        &mut self,
        platform: Platform,
        room: &str,
    ) -> Result<Option<Incident>, StoreError> {
        let lock = self.backend == Backend::Postgres;
        by_room(&mut self.tx, platform, room, lock).await
    }

    /// Writes every field of the incident (roles included) as it is now.
    pub async fn update_incident(&mut self, incident: &Incident) -> Result<(), StoreError> {
        let update = sqlx::query(
            "UPDATE incidents SET title = $2, severity = $3, status = $4, drill = $5, services = $6, platform = $7, \
             origin_channel = $8, room = $9, declared_by = $10, declared_at = $11, acknowledged_at = $12, \
             identified_at = $13, mitigated_at = $14, resolved_at = $15, last_update_at = $16, summary = $17, \
             detected_at = $18, private = $19 WHERE id = $1",
        );
        let updated = bind_columns(update, incident)?
            .execute(&mut *self.tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(sqlx::Error::RowNotFound.into());
        }
        sqlx::query("DELETE FROM incident_roles WHERE incident_id = $1")
            .bind(incident.id.as_str())
            .execute(&mut *self.tx)
            .await?;
        insert_roles(&mut self.tx, incident).await
    }

    pub async fn record_event(
        &mut self,
        incident: &IncidentId,
        event: &TimelineEvent,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO timeline_events (incident_id, at, kind, actor, text) VALUES ($1, $2, $3, $4, $5)")
            .bind(incident.as_str())
            .bind(millis(event.at))
            .bind(event.kind.as_str())
            .bind(&event.actor)
            .bind(&event.text)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Adds a follow-up and returns its number within the incident (1, 2, …).
    /// Call it with the incident locked, which serialises numbering.
    pub async fn add_followup(
        &mut self,
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
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(number)
    }

    /// Marks follow-up `number` done; false if the incident has no such follow-up.
    pub async fn complete_followup(
        &mut self,
        incident: &IncidentId,
        number: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE followups SET done = 1 WHERE incident_id = $1 AND number = $2")
                .bind(incident.as_str())
                .bind(number)
                .execute(&mut *self.tx)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The incident's timeline, oldest first.
    pub async fn timeline(
        &mut self,
        incident: &IncidentId,
    ) -> Result<Vec<TimelineEvent>, StoreError> {
        TIMELINE.all(&mut self.tx, incident).await
    }

    /// The incident's follow-ups, by number.
    pub async fn followups(&mut self, incident: &IncidentId) -> Result<Vec<FollowUp>, StoreError> {
        FOLLOWUPS.all(&mut self.tx, incident).await
    }
}

pub(super) async fn by_id(
    conn: &mut AnyConnection,
    id: &IncidentId,
    lock: bool,
) -> Result<Option<Incident>, StoreError> {
    let select = incidents_with_roles!("i.id = $1");
    one_incident(conn, select, &[id.as_str()], lock).await
}

async fn by_room(
    conn: &mut AnyConnection,
    platform: Platform,
    room: &str,
    lock: bool,
) -> Result<Option<Incident>, StoreError> {
    let select = incidents_with_roles!("i.platform = $1 AND i.room = $2");
    one_incident(conn, select, &[platform.as_str(), room], lock).await
}

/// The incident `select` (an `incidents_with_roles!` whose `$1…` are `keys`)
/// finds, if any; with `lock`, locked until commit (Postgres' row lock).
async fn one_incident(
    conn: &mut AnyConnection,
    select: &'static str,
    keys: &[&str],
    lock: bool,
) -> Result<Option<Incident>, StoreError> {
    let lock = if lock { " FOR UPDATE OF i" } else { "" };
    let mut query = sqlx::query(AssertSqlSafe(format!("{select}{lock}")));
    for key in keys {
        query = query.bind(*key);
    }
    Ok(fetch_incidents(query, conn).await?.into_iter().next())
}

/// Runs an `incidents_with_roles!` select and folds its rows into incidents.
pub(super) async fn fetch_incidents<'c>(
    select: Query<'_, Any, AnyArguments>,
    executor: impl Executor<'c, Database = Any>,
) -> Result<Vec<Incident>, StoreError> {
    from_rows(&select.fetch_all(executor).await?)
}

/// Folds joined rows (one per role, ordered by incident) into incidents.
fn from_rows(rows: &[AnyRow]) -> Result<Vec<Incident>, StoreError> {
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
        private: get_flag(row, "private")?,
        services: get_json(row, "services")?,
        platform: get_parsed(row, "platform")?,
        origin_channel: row.try_get("origin_channel")?,
        room: row.try_get("room")?,
        declared_by: get_user(row, "declared_by")?,
        declared_at: get_time(row, "declared_at")?,
        acknowledged_at: get_opt_time(row, "acknowledged_at")?,
        identified_at: get_opt_time(row, "identified_at")?,
        mitigated_at: get_opt_time(row, "mitigated_at")?,
        resolved_at: get_opt_time(row, "resolved_at")?,
        last_update_at: get_opt_time(row, "last_update_at")?,
        summary: row.try_get("summary")?,
        roles: BTreeMap::new(),
        detected_at: get_opt_time(row, "detected_at")?,
    })
}

/// Binds every column of `incidents` as `$1…$19`, in the one order both the
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
        .bind(incident.summary.as_deref())
        .bind(opt_millis(incident.detected_at))
        .bind(i64::from(incident.private)))
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

fn event(row: &AnyRow) -> Result<TimelineEvent, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(TimelineEvent {
        at: get_time(row, "at")?,
        kind: EventKind::parse(&kind).ok_or_else(|| {
            StoreError::Corrupt(format!("timeline_events.kind = `{kind}` is not valid"))
        })?,
        actor: row.try_get("actor")?,
        text: row.try_get("text")?,
    })
}

fn followup(row: &AnyRow) -> Result<FollowUp, StoreError> {
    Ok(FollowUp {
        number: row.try_get("number")?,
        text: row.try_get("text")?,
        owner: get_opt_user(row, "owner")?,
        due: get_opt_date(row, "due")?,
        done: get_flag(row, "done")?,
        created_at: get_time(row, "created_at")?,
        issue: match (row.try_get("issue_key")?, row.try_get("issue_url")?) {
            (Some(key), Some(url)) => Some(IssueLink { key, url }),
            _ => None,
        },
    })
}
