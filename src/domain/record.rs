//! Everything recorded about one incident, as its postmortem draft needs it.

use super::{ActionRun, FollowUp, Incident, StatusUpdate, TimelineEvent};

/// An incident with its history: the public updates, the timeline, the
/// follow-ups and the runs of recovery actions, each oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    pub incident: Incident,
    pub updates: Vec<StatusUpdate>,
    pub timeline: Vec<TimelineEvent>,
    pub followups: Vec<FollowUp>,
    pub action_runs: Vec<ActionRun>,
}
