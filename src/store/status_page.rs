//! The public side of incidents: status updates as they were published, and
//! component states set explicitly.
//!
//! Drills are filtered out here, in SQL, so that no caller can forget to: the
//! public queries never return a drill or anything said in one.
//!
//! Must not: decide what a component's state is (the engine derives it from these
//! rows and the open incidents) or what counts as public (the engine writes only
//! what it published).

use super::incidents::fetch_incidents;
use super::queries::{IncidentRows, fetch_all};
use super::rows::{get_flag, get_parsed, get_time, millis};
use super::{Store, StoreError, Tx};
use crate::domain::{
    ComponentSetting, ComponentState, Incident, IncidentId, SettingIncident, StatusUpdate,
};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

/// One incident's updates, oldest first (drills included: this is for the API).
pub(super) const STATUS_UPDATES: IncidentRows<StatusUpdate> = IncidentRows {
    select: "SELECT at, status, text FROM status_updates",
    order: "at, id",
    decode: update,
};

impl Store {
    /// An incident's public status updates, oldest first.
    pub async fn status_updates(&self, id: &IncidentId) -> Result<Vec<StatusUpdate>, StoreError> {
        STATUS_UPDATES
            .all(&mut *self.pool.acquire().await?, id)
            .await
    }

    /// What the public status page lists: every open incident and those resolved at
    /// or after `resolved_since`, newest first, at most `limit`, each with its
    /// status updates (oldest first). Never a drill or a private incident. Both reads share one connection
    /// but not one snapshot: an update committed in between may show on an incident
    /// listed in its earlier state, which the next page load corrects.
    pub async fn public_incidents(
        &self,
        resolved_since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Incident, Vec<StatusUpdate>)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let select = sqlx::query(incidents_with_roles!(
            "i.id IN (SELECT id FROM incidents WHERE drill = 0 AND private = 0 AND (status <> 'resolved' OR resolved_at >= $1) \
             ORDER BY declared_at DESC, id DESC LIMIT $2)"
        ))
        .bind(millis(resolved_since))
        .bind(i64::from(limit));
        let incidents = fetch_incidents(select, &mut *conn).await?;
        // The updates of exactly the incidents above, by the same condition.
        let rows = sqlx::query(
            "SELECT incident_id, at, status, text FROM status_updates WHERE incident_id IN \
             (SELECT id FROM incidents WHERE drill = 0 AND private = 0 AND (status <> 'resolved' OR resolved_at >= $1) \
             ORDER BY declared_at DESC, id DESC LIMIT $2) ORDER BY at, id",
        )
        .bind(millis(resolved_since))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        let mut updates: BTreeMap<IncidentId, Vec<StatusUpdate>> = BTreeMap::new();
        for row in &rows {
            let id: IncidentId = get_parsed(row, "incident_id")?;
            updates.entry(id).or_default().push(update(row)?);
        }
        Ok(incidents
            .into_iter()
            .map(|incident| {
                let own = updates.remove(&incident.id).unwrap_or_default();
                (incident, own)
            })
            .collect())
    }

    /// One incident as the public may see it, with its status updates; `None` for
    /// an unknown id, a drill and a private incident alike.
    pub async fn public_incident(
        &self,
        id: &IncidentId,
    ) -> Result<Option<(Incident, Vec<StatusUpdate>)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let select = sqlx::query(incidents_with_roles!(
            "i.id = $1 AND i.drill = 0 AND i.private = 0"
        ))
        .bind(id.as_str());
        let Some(incident) = fetch_incidents(select, &mut *conn)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let updates = STATUS_UPDATES.all(&mut conn, id).await?;
        Ok(Some((incident, updates)))
    }

    /// Component states set explicitly, by component name.
    pub async fn component_settings(&self) -> Result<Vec<ComponentSetting>, StoreError> {
        component_settings(&mut *self.pool.acquire().await?).await
    }
}

impl Tx {
    /// Publishes a status update of an incident (the status page and feed show it).
    pub async fn record_status_update(
        &mut self,
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
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Sets a status-page component's state explicitly, replacing what was set
    /// before. With an incident, the state holds while that incident is open.
    pub async fn set_component_state(
        &mut self,
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
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The incident's public status updates, oldest first.
    pub async fn status_updates(
        &mut self,
        incident: &IncidentId,
    ) -> Result<Vec<StatusUpdate>, StoreError> {
        STATUS_UPDATES.all(&mut self.tx, incident).await
    }

    /// Component states set explicitly, by component name.
    pub async fn component_settings(&mut self) -> Result<Vec<ComponentSetting>, StoreError> {
        component_settings(&mut self.tx).await
    }
}

/// Every explicitly set component state, with where its incident stands now.
async fn component_settings(conn: &mut AnyConnection) -> Result<Vec<ComponentSetting>, StoreError> {
    let select = sqlx::query(
        "SELECT c.component, c.state, c.incident_id, c.set_by, c.set_at, i.status, i.drill \
         FROM component_states c LEFT JOIN incidents i ON i.id = c.incident_id ORDER BY c.component",
    );
    fetch_all(select, conn, setting).await
}

fn setting(row: &AnyRow) -> Result<ComponentSetting, StoreError> {
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
}

fn update(row: &AnyRow) -> Result<StatusUpdate, StoreError> {
    Ok(StatusUpdate {
        at: get_time(row, "at")?,
        status: get_parsed(row, "status")?,
        text: row.try_get("text")?,
    })
}
