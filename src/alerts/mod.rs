//! Alerts from monitoring, as they arrive: Prometheus Alertmanager's webhook
//! (version 4) and Grafana alerting's webhook, read into one [`AlertGroup`]; and
//! PagerDuty's V3 webhook events, read into a [`PagerDutyEvent`].
//!
//! Owns: the wire formats of the monitoring systems, what counts as malformed
//! (each error names the field at fault), and the group key that makes repeated
//! deliveries of one notification group recognisable.
//! Must not: decide what an alert means for an incident (the engine does, with the
//! routes of the config), authenticate requests (the web layer does), or touch
//! the store.

mod pagerduty;
mod wire;

pub use pagerduty::{PagerDutyChange, PagerDutyEvent, PagerDutyIncident, pagerduty};

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt;

/// The longest description of an alert, in characters: a line on a timeline or
/// in a chat message, not the whole of an annotation.
pub const DESCRIPTION_CHARS: usize = 300;

/// Label or annotation names to values, as the monitoring system sent them.
pub type Labels = BTreeMap<String, String>;

/// Which monitoring system sent a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Alertmanager,
    Grafana,
    /// An incident PagerDuty opened that warroom did not page for.
    Pagerduty,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Alertmanager => "alertmanager",
            Source::Grafana => "grafana",
            Source::Pagerduty => "pagerduty",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One alert of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub status: AlertStatus,
    pub labels: Labels,
    pub annotations: Labels,
    /// When the condition began: the start of time to detect.
    pub starts_at: DateTime<Utc>,
    /// Identifies the alert within its group across deliveries.
    pub fingerprint: String,
}

impl Alert {
    /// `alertname` and the summary annotation, the way a person names the alert,
    /// cut to [`DESCRIPTION_CHARS`].
    pub fn describe(&self) -> String {
        let name = self.labels.get("alertname").map_or("alert", String::as_str);
        let whole = match self
            .annotations
            .get("summary")
            .or_else(|| self.annotations.get("description"))
        {
            Some(summary) => format!("{name}: {summary}"),
            None => name.to_string(),
        };
        if whole.chars().count() <= DESCRIPTION_CHARS {
            return whole;
        }
        let mut cut: String = whole.chars().take(DESCRIPTION_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// One delivery of a notification group: every alert the group holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup {
    pub source: Source,
    /// Alertmanager's `groupKey`; Grafana's `groupKey`, or the first alert's
    /// fingerprint when Grafana sends none. Deliveries with the same key are one group.
    pub key: String,
    /// `resolved` once every alert of the group is resolved.
    pub status: AlertStatus,
    pub alerts: Vec<Alert>,
    pub common_labels: Labels,
    pub common_annotations: Labels,
}

impl AlertGroup {
    /// The labels routes match on: the group's common labels, and the first
    /// alert's for a group whose alerts share none.
    pub fn labels(&self) -> Labels {
        let mut labels = self
            .alerts
            .first()
            .map(|alert| alert.labels.clone())
            .unwrap_or_default();
        labels.extend(self.common_labels.clone());
        labels
    }

    /// A label, else an annotation, by name: what a title template's `{name}` reads.
    pub fn value(&self, name: &str) -> Option<String> {
        let first = self.alerts.first();
        self.common_labels
            .get(name)
            .or_else(|| first.and_then(|alert| alert.labels.get(name)))
            .or_else(|| self.common_annotations.get(name))
            .or_else(|| first.and_then(|alert| alert.annotations.get(name)))
            .cloned()
    }

    /// When the earliest alert of the group began.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.alerts.iter().map(|alert| alert.starts_at).min()
    }
}

/// What was wrong with a webhook body; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedAlert(String);

/// Reads `body` as `T`; the error names the field at fault, or says the body is
/// not `what` at all.
fn read_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, MalformedAlert> {
    let mut json = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let at = error.path().to_string();
        let inner = error.into_inner();
        MalformedAlert(if at == "." {
            format!("the body is not {what}: {inner}")
        } else {
            format!("{at}: {inner}")
        })
    })
}

/// Reads an Alertmanager webhook body (`"version": "4"`).
pub fn alertmanager(body: &[u8]) -> Result<AlertGroup, MalformedAlert> {
    wire::read(body, Source::Alertmanager)
}

/// Reads a Grafana alerting webhook body.
pub fn grafana(body: &[u8]) -> Result<AlertGroup, MalformedAlert> {
    wire::read(body, Source::Grafana)
}
