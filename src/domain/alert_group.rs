//! An alert group as warroom keeps it: one row per group a monitoring system
//! sent, whatever became of it, so no alert is dropped unseen and a group never
//! makes a second incident.

use super::{IncidentId, Platform, UnknownWord, parse_word};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::str::FromStr;

/// What became of an alert group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertGroupState {
    /// Just received; decided within the same transaction.
    New,
    /// No `[[alert_route]]` matched: recorded and counted, nothing opened.
    Unrouted,
    /// Posted in the announce channel, waiting for Declare or Dismiss.
    Proposed,
    /// An incident was opened for it.
    Declared,
    /// Someone pressed Dismiss.
    Dismissed,
}

impl AlertGroupState {
    pub const ALL: [AlertGroupState; 5] = [
        AlertGroupState::New,
        AlertGroupState::Unrouted,
        AlertGroupState::Proposed,
        AlertGroupState::Declared,
        AlertGroupState::Dismissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertGroupState::New => "new",
            AlertGroupState::Unrouted => "unrouted",
            AlertGroupState::Proposed => "proposed",
            AlertGroupState::Declared => "declared",
            AlertGroupState::Dismissed => "dismissed",
        }
    }
}

impl FromStr for AlertGroupState {
    type Err = UnknownWord;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_word(s, &Self::ALL, Self::as_str, "alert group state")
    }
}

/// One alert group, keyed by its source and the source's group key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroupRecord {
    pub id: i64,
    /// `alertmanager` or `grafana`.
    pub source: String,
    pub key: String,
    pub state: AlertGroupState,
    /// The route that took it, if any.
    pub route: Option<String>,
    /// Where it was proposed or declared.
    pub platform: Option<Platform>,
    pub incident: Option<IncidentId>,
    pub title: String,
    /// When its earliest alert began.
    pub started_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// Each alert's fingerprint and its last status (`firing`, `resolved`).
    pub alerts: BTreeMap<String, String>,
    /// Whether the room was last told that every alert resolved.
    pub resolved: bool,
}
