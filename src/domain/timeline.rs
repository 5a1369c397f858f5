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
    // Stored as `followup_…`, as the command is spelled; serde's own snake case
    // would say `follow_up_…`, and the stored name would not read back.
    #[serde(rename = "followup_added")]
    FollowUpAdded,
    #[serde(rename = "followup_done")]
    FollowUpDone,
    Resolved,
    Reopened,
    /// A chat message pinned (or given the 📌 reaction) in the war room.
    Captured,
    /// Nobody acknowledged within the severity's `respond_within`.
    ResponseMissed,
    /// An escalation level was called in.
    Escalated,
    /// The postmortem draft was posted in the war room; the stats count these.
    PostmortemPosted,
    /// A run of an action was requested (queued, or waiting for approval).
    ActionRequested,
    ActionApproved,
    /// A run was denied or cancelled before it started.
    ActionCancelled,
    /// A run ended: succeeded, failed, timed out or interrupted.
    ActionFinished,
    /// A runbook's first step was queued (after its approval, if it needed one).
    RunbookStarted,
    /// A runbook ended; the text says how (recovered, failed at a step, …).
    RunbookFinished,
    /// An alert of the incident's alert group fired or resolved.
    Alert,
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
            EventKind::Captured => "captured",
            EventKind::ResponseMissed => "response_missed",
            EventKind::Escalated => "escalated",
            EventKind::PostmortemPosted => "postmortem_posted",
            EventKind::ActionRequested => "action_requested",
            EventKind::ActionApproved => "action_approved",
            EventKind::ActionCancelled => "action_cancelled",
            EventKind::ActionFinished => "action_finished",
            EventKind::RunbookStarted => "runbook_started",
            EventKind::RunbookFinished => "runbook_finished",
            EventKind::Alert => "alert",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_name_reads_back() {
        for kind in [
            EventKind::Declared,
            EventKind::RoleAssigned,
            EventKind::Acknowledged,
            EventKind::StatusChanged,
            EventKind::StatusUpdate,
            EventKind::SeverityChanged,
            EventKind::Note,
            EventKind::FollowUpAdded,
            EventKind::FollowUpDone,
            EventKind::Resolved,
            EventKind::Reopened,
            EventKind::Captured,
            EventKind::ResponseMissed,
            EventKind::Escalated,
            EventKind::PostmortemPosted,
            EventKind::ActionRequested,
            EventKind::ActionApproved,
            EventKind::ActionCancelled,
            EventKind::ActionFinished,
            EventKind::RunbookStarted,
            EventKind::RunbookFinished,
            EventKind::Alert,
        ] {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind), "{kind}");
        }
    }
}
