//! One requested run of an action, as kept for the audit trail.

use super::{IncidentId, UnknownWord, UserId, parse_word};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Where a run is: requested → (awaiting approval →) queued → running → an end.
/// A runbook's later steps start `pending` and are queued, or skipped, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// A runbook step waiting for the steps before it.
    Pending,
    AwaitingApproval,
    Queued,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    /// It was running when the process holding it stopped.
    Interrupted,
    /// A runbook step never run because the runbook stopped before it.
    Skipped,
}

impl RunStatus {
    const ALL: [RunStatus; 10] = [
        RunStatus::Pending,
        RunStatus::AwaitingApproval,
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::TimedOut,
        RunStatus::Cancelled,
        RunStatus::Interrupted,
        RunStatus::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::AwaitingApproval => "awaiting_approval",
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::TimedOut => "timed_out",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Skipped => "skipped",
        }
    }

    /// Whether the run is over, one way or another.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            RunStatus::Pending
                | RunStatus::AwaitingApproval
                | RunStatus::Queued
                | RunStatus::Running
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = UnknownWord;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_word(s, &Self::ALL, Self::as_str, "run status")
    }
}

/// A run of `[actions.NAME]` for an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRun {
    pub id: i64,
    pub incident: IncidentId,
    pub action: String,
    pub params: BTreeMap<String, String>,
    pub status: RunStatus,
    pub requested_by: UserId,
    pub approved_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: u32,
    /// One line on how it ended, e.g. `exit status: 3`.
    pub result: Option<String>,
    /// Capped and redacted.
    pub output: Option<String>,
    pub output_hash: Option<String>,
    /// The runbook step this run is, if it is one.
    pub step: Option<StepRef>,
}

/// Which step of which runbook run an action run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepRef {
    pub runbook_run: i64,
    /// From 0, in the runbook's order.
    pub index: usize,
    /// Whether this is the step's `on_failure` action rather than the step itself.
    pub fallback: bool,
}
