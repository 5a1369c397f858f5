//! The public side of incidents: status updates as they were published, and
//! component states set explicitly.
//!
//! Drills are filtered out here, in SQL, so that no caller can forget to: the
//! public queries never return a drill or anything said in one.
//!
//! Must not: decide what a component's state is (the engine derives it from these
//! rows and the open incidents) or what counts as public (the engine writes only
//! what it published).

use super::StoreError;
use super::rows::{get_flag, get_parsed, get_time, millis};
use crate::domain::{
    ComponentSetting, ComponentState, Incident, IncidentId, SettingIncident, StatusUpdate,
};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

pub(super) async fn insert_update(
    conn: &mut AnyConnection,
    incident: &IncidentId,
    update: &StatusUpdate,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO status_updates (incident_id, at, status, text) VALUES ($1, $2, $3, $4)",
    )
    .bind(incident.as_str())
    .bind(millis(update.at))
    .bind(update.status.as_str())
    .bind(&update.text)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn set_component_state(
    conn: &mut AnyConnection,
    component: &str,
    state: ComponentState,
    incident: Option<&IncidentId>,
    set_by: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO component_states (component, state, incident_id, set_by, set_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (component) DO UPDATE SET state = excluded.state, incident_id = excluded.incident_id, \
         set_by = excluded.set_by, set_at = excluded.set_at",
    )
    .bind(component)
    .bind(state.as_str())
    .bind(incident.map(IncidentId::as_str))
    .bind(set_by)
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// One incident's updates, oldest first (drills included: this is for the API).
pub(super) async fn updates_of(
    conn: &mut AnyConnection,
    incident: &IncidentId,
) -> Result<Vec<StatusUpdate>, StoreError> {
    let rows = sqlx::query(
        "SELECT at, status, text FROM status_updates WHERE incident_id = $1 ORDER BY at, id",
    )
    .bind(incident.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter().map(update).collect()
}

/// The incidents the public page shows: every open one, and those resolved at or
/// after `resolved_since`; never drills. Newest first, at most `limit`.
pub(super) async fn public_incidents(
    conn: &mut AnyConnection,
    resolved_since: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Incident>, StoreError> {
    let rows = sqlx::query(incidents_with_roles!(
        "i.id IN (SELECT id FROM incidents WHERE drill = 0 AND (status <> 'resolved' OR resolved_at >= $1) \
         ORDER BY declared_at DESC, id DESC LIMIT $2)",
        ""
    ))
    .bind(millis(resolved_since))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    super::incidents::from_rows(&rows)
}

/// The updates of exactly the incidents [`public_incidents`] returns for the same
/// arguments, oldest first.
pub(super) async fn public_updates(
    conn: &mut AnyConnection,
    resolved_since: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<(IncidentId, StatusUpdate)>, StoreError> {
    let rows = sqlx::query(
        "SELECT incident_id, at, status, text FROM status_updates WHERE incident_id IN \
         (SELECT id FROM incidents WHERE drill = 0 AND (status <> 'resolved' OR resolved_at >= $1) \
         ORDER BY declared_at DESC, id DESC LIMIT $2) ORDER BY at, id",
    )
    .bind(millis(resolved_since))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| Ok((get_parsed(row, "incident_id")?, update(row)?)))
        .collect()
}

/// A public incident by id: `None` for an unknown id and for a drill alike.
pub(super) async fn public_incident(
    conn: &mut AnyConnection,
    id: &IncidentId,
) -> Result<Option<Incident>, StoreError> {
    let rows = sqlx::query(incidents_with_roles!("i.id = $1 AND i.drill = 0", ""))
        .bind(id.as_str())
        .fetch_all(conn)
        .await?;
    Ok(super::incidents::from_rows(&rows)?.into_iter().next())
}

/// Every explicitly set component state, with where its incident stands now.
pub(super) async fn component_settings(
    conn: &mut AnyConnection,
) -> Result<Vec<ComponentSetting>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.component, c.state, c.incident_id, c.set_by, c.set_at, i.status, i.drill \
         FROM component_states c LEFT JOIN incidents i ON i.id = c.incident_id ORDER BY c.component",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let incident_id: Option<String> = row.try_get("incident_id")?;
            let incident = match incident_id {
                Some(id) => Some(SettingIncident {
                    id: super::rows::parse("component_states.incident_id", &id)?,
                    status: get_parsed(row, "status")?,
                    drill: get_flag(row, "drill")?,
                }),
                None => None,
            };
            Ok(ComponentSetting {
                component: row.try_get("component")?,
                state: get_parsed(row, "state")?,
                set_by: row.try_get("set_by")?,
                set_at: get_time(row, "set_at")?,
                incident,
            })
        })
        .collect()
}

fn update(row: &AnyRow) -> Result<StatusUpdate, StoreError> {
    Ok(StatusUpdate {
        at: get_time(row, "at")?,
        status: get_parsed(row, "status")?,
        text: row.try_get("text")?,
    })
}
