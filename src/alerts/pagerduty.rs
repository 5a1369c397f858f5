//! PagerDuty's V3 webhooks: one event per delivery, of which warroom reads the
//! incident ones that change its state (triggered, acknowledged, resolved).

use super::{Alert, AlertGroup, AlertStatus, Labels, MalformedAlert, Source};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// What happened to a PagerDuty incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerDutyChange {
    Triggered,
    Acknowledged,
    Resolved,
}

/// One V3 webhook event about an incident, or about something warroom does not
/// follow (`change` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagerDutyEvent {
    /// PagerDuty's id of the event; a redelivery carries the same one.
    pub id: String,
    pub event_type: String,
    pub change: Option<PagerDutyChange>,
    /// Who did it (`event.agent.summary`), when PagerDuty says.
    pub by: Option<String>,
    pub incident: Option<PagerDutyIncident>,
}

/// `event.data` of an incident event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagerDutyIncident {
    /// PagerDuty's incident id (`PGR0VU2`): the group key of an incident warroom
    /// did not page for.
    pub id: String,
    /// The Events API `dedup_key` it was opened with; warroom's own pages carry
    /// the warroom incident id here.
    pub incident_key: Option<String>,
    pub title: String,
    pub service: Option<String>,
    pub urgency: Option<String>,
    pub created_at: DateTime<Utc>,
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Payload {
    event: WireEvent,
}

#[derive(Debug, Deserialize)]
struct WireEvent {
    id: String,
    event_type: String,
    agent: Option<Reference>,
    data: Option<WireIncident>,
}

#[derive(Debug, Deserialize)]
struct Reference {
    summary: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireIncident {
    id: String,
    incident_key: Option<String>,
    #[serde(default)]
    title: String,
    service: Option<Reference>,
    urgency: Option<String>,
    created_at: String,
    html_url: Option<String>,
}

/// Reads a PagerDuty V3 webhook body.
pub fn pagerduty(body: &[u8]) -> Result<PagerDutyEvent, MalformedAlert> {
    let payload: Payload = super::read_json(body, "a PagerDuty webhook")?;
    let event = payload.event;
    let change = match event.event_type.as_str() {
        "incident.triggered" => Some(PagerDutyChange::Triggered),
        "incident.acknowledged" => Some(PagerDutyChange::Acknowledged),
        "incident.resolved" => Some(PagerDutyChange::Resolved),
        _ => None,
    };
    let incident = match (change, event.data) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(MalformedAlert(format!(
                "event.data: missing; an {} event carries its incident",
                event.event_type
            )));
        }
        (Some(_), Some(data)) => Some(data.read()?),
    };
    Ok(PagerDutyEvent {
        id: event.id,
        event_type: event.event_type,
        change,
        by: event.agent.and_then(|agent| agent.summary),
        incident,
    })
}

impl WireIncident {
    fn read(self) -> Result<PagerDutyIncident, MalformedAlert> {
        let created_at = DateTime::parse_from_rfc3339(&self.created_at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| {
                MalformedAlert(format!(
                    "event.data.created_at: `{}` is not an RFC 3339 time",
                    self.created_at.chars().take(40).collect::<String>()
                ))
            })?;
        Ok(PagerDutyIncident {
            id: self.id,
            incident_key: self.incident_key.filter(|key| !key.is_empty()),
            title: self.title,
            service: self.service.and_then(|service| service.summary),
            urgency: self.urgency,
            created_at,
            url: self.html_url,
        })
    }
}

impl PagerDutyIncident {
    /// The incident as an alert group of its own, for routing an incident
    /// warroom did not page for: `alertname` is its title, `service` and
    /// `urgency` its labels.
    pub fn group(&self, change: PagerDutyChange) -> AlertGroup {
        let status = match change {
            PagerDutyChange::Triggered | PagerDutyChange::Acknowledged => AlertStatus::Firing,
            PagerDutyChange::Resolved => AlertStatus::Resolved,
        };
        let mut labels = Labels::new();
        labels.insert("alertname".into(), self.title.clone());
        labels.extend(
            self.service
                .clone()
                .map(|service| ("service".into(), service)),
        );
        labels.extend(
            self.urgency
                .clone()
                .map(|urgency| ("urgency".into(), urgency)),
        );
        let mut annotations = Labels::new();
        annotations.extend(self.url.clone().map(|url| ("url".into(), url)));
        AlertGroup {
            source: Source::Pagerduty,
            key: self.id.clone(),
            status,
            alerts: vec![Alert {
                status,
                labels: labels.clone(),
                annotations: annotations.clone(),
                starts_at: self.created_at,
                fingerprint: self.id.clone(),
            }],
            common_labels: labels,
            common_annotations: annotations,
        }
    }
}
