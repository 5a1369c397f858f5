use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where an incident stands: investigating → identified → monitoring → resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}` (expected investigating, identified, monitoring or resolved)")]
pub struct UnknownStatus(pub String);

/// What a permitted status change means, so the engine can record it properly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Moving between open statuses, forwards or back (a fix that did not hold).
    Progress,
    /// Closing the incident.
    Resolve,
    /// A resolved incident came back: it reopens as investigating.
    Reopen,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the incident is already {0}")]
    Unchanged(Status),
    #[error("the incident is resolved; to reopen it, set the status to investigating")]
    ReopenOnlyToInvestigating,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Investigating,
        Status::Identified,
        Status::Monitoring,
        Status::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Investigating => "investigating",
            Status::Identified => "identified",
            Status::Monitoring => "monitoring",
            Status::Resolved => "resolved",
        }
    }

    pub fn is_open(self) -> bool {
        self != Status::Resolved
    }

    /// The state machine: any open status may move to any other (teams skip and
    /// step back), resolving closes, and a resolved incident only reopens as
    /// investigating, because whatever was known before no longer holds.
    pub fn transition_to(self, next: Status) -> Result<Transition, TransitionError> {
        match (self, next) {
            (from, to) if from == to => Err(TransitionError::Unchanged(from)),
            (Status::Resolved, Status::Investigating) => Ok(Transition::Reopen),
            (Status::Resolved, _) => Err(TransitionError::ReopenOnlyToInvestigating),
            (_, Status::Resolved) => Ok(Transition::Resolve),
            _ => Ok(Transition::Progress),
        }
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "investigating" => Ok(Status::Investigating),
            "identified" => Ok(Status::Identified),
            "monitoring" | "mitigated" => Ok(Status::Monitoring),
            "resolved" => Ok(Status::Resolved),
            _ => Err(UnknownStatus(s.to_string())),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_statuses_move_freely_and_resolved_only_reopens() {
        use Status::*;
        assert_eq!(
            Investigating.transition_to(Identified),
            Ok(Transition::Progress)
        );
        assert_eq!(
            Monitoring.transition_to(Investigating),
            Ok(Transition::Progress)
        );
        assert_eq!(Identified.transition_to(Resolved), Ok(Transition::Resolve));
        assert_eq!(
            Resolved.transition_to(Investigating),
            Ok(Transition::Reopen)
        );
        assert_eq!(
            Resolved.transition_to(Monitoring),
            Err(TransitionError::ReopenOnlyToInvestigating)
        );
        assert_eq!(
            Identified.transition_to(Identified),
            Err(TransitionError::Unchanged(Identified))
        );
    }
}
