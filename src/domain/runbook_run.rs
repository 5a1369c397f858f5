//! One requested run of a runbook: its steps are action runs linked to it
//! (see [`StepRef`](super::StepRef)).

use super::{IncidentId, UnknownWord, UserId, parse_word};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Where a runbook run is: (awaiting approval →) running → an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunbookStatus {
    AwaitingApproval,
    Running,
    /// Every step succeeded, some perhaps through their fallback.
    Succeeded,
    /// A step failed: the runbook stopped there, or went on past it
    /// (`continue_on_failure`) and reached its end.
    Failed,
    /// Denied, or cancelled while it ran.
    Cancelled,
    /// A step was interrupted by a restart and not run again.
    Interrupted,
}

impl RunbookStatus {
    const ALL: [RunbookStatus; 6] = [
        RunbookStatus::AwaitingApproval,
        RunbookStatus::Running,
        RunbookStatus::Succeeded,
        RunbookStatus::Failed,
        RunbookStatus::Cancelled,
        RunbookStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunbookStatus::AwaitingApproval => "awaiting_approval",
            RunbookStatus::Running => "running",
            RunbookStatus::Succeeded => "succeeded",
            RunbookStatus::Failed => "failed",
            RunbookStatus::Cancelled => "cancelled",
            RunbookStatus::Interrupted => "interrupted",
        }
    }

    /// Whether the runbook is over, one way or another.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            RunbookStatus::AwaitingApproval | RunbookStatus::Running
        )
    }
}

impl fmt::Display for RunbookStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunbookStatus {
    type Err = UnknownWord;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_word(s, &Self::ALL, Self::as_str, "runbook status")
    }
}

/// A run of `[runbooks.NAME]` for an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookRun {
    pub id: i64,
    pub incident: IncidentId,
    pub runbook: String,
    /// The `key=value` words given on the command.
    pub params: BTreeMap<String, String>,
    pub status: RunbookStatus,
    pub requested_by: UserId,
    pub approved_by: Option<UserId>,
    /// Set when someone cancelled it while a step ran: no later step starts.
    pub cancel_requested_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}
