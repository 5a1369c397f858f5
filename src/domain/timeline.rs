use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of thing happened. Stored by name, so the names are a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Declared,
    RoleAssigned,
    Acknowledged,
    StatusChanged,
    StatusUpdate,
    SeverityChanged,
    Note,
    FollowUpAdded,
    FollowUpDone,
    Resolved,
    Reopened,
    /// Nobody acknowledged within the severity's `respond_within`.
    ResponseMissed,
    /// An escalation level was called in.
    Escalated,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Declared => "declared",
            EventKind::RoleAssigned => "role_assigned",
            EventKind::Acknowledged => "acknowledged",
            EventKind::StatusChanged => "status_changed",
            EventKind::StatusUpdate => "status_update",
            EventKind::SeverityChanged => "severity_changed",
            EventKind::Note => "note",
            EventKind::FollowUpAdded => "followup_added",
            EventKind::FollowUpDone => "followup_done",
            EventKind::Resolved => "resolved",
            EventKind::Reopened => "reopened",
            EventKind::ResponseMissed => "response_missed",
            EventKind::Escalated => "escalated",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEvent {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// Who caused it: a platform user id, or `warroom` for the bot itself.
    pub actor: String,
    /// A human sentence describing the event.
    pub text: String,
}
