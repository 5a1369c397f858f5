use super::{IncidentId, Status, parse_word};
use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;

/// The state of a status-page component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentState {
    Operational,
    Degraded,
    PartialOutage,
    MajorOutage,
    Maintenance,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown component state `{0}` (expected operational, degraded, partial_outage, major_outage or maintenance)"
)]
pub struct UnknownComponentState(pub String);

impl ComponentState {
    pub const ALL: [ComponentState; 5] = [
        ComponentState::Operational,
        ComponentState::Degraded,
        ComponentState::PartialOutage,
        ComponentState::MajorOutage,
        ComponentState::Maintenance,
    ];

    /// The word used in config and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Operational => "operational",
            ComponentState::Degraded => "degraded",
            ComponentState::PartialOutage => "partial_outage",
            ComponentState::MajorOutage => "major_outage",
            ComponentState::Maintenance => "maintenance",
        }
    }

    /// How the state is shown to the public.
    pub fn label(self) -> &'static str {
        match self {
            ComponentState::Operational => "Operational",
            ComponentState::Degraded => "Degraded performance",
            ComponentState::PartialOutage => "Partial outage",
            ComponentState::MajorOutage => "Major outage",
            ComponentState::Maintenance => "Under maintenance",
        }
    }

    /// How bad it is, for "the worst of several states": planned maintenance is
    /// worse than nothing at all but better than anything unplanned.
    pub fn badness(self) -> u8 {
        match self {
            ComponentState::Operational => 0,
            ComponentState::Maintenance => 1,
            ComponentState::Degraded => 2,
            ComponentState::PartialOutage => 3,
            ComponentState::MajorOutage => 4,
        }
    }

    /// The worse of two states.
    pub fn worst(self, other: ComponentState) -> ComponentState {
        if other.badness() > self.badness() {
            other
        } else {
            self
        }
    }
}

impl FromStr for ComponentState {
    type Err = UnknownComponentState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_word(s, &Self::ALL, Self::as_str, "component state")
            .map_err(|_| UnknownComponentState(s.to_string()))
    }
}

impl fmt::Display for ComponentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component's state as set explicitly (by a `status` action) rather than derived
/// from the incidents whose services it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentSetting {
    /// One of `[status_page] components`, as named there.
    pub component: String,
    pub state: ComponentState,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
    /// The incident the state was set for, if any, as it stands now.
    pub incident: Option<SettingIncident>,
}

/// Where the incident a component state was set for stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingIncident {
    pub id: IncidentId,
    pub status: Status,
    pub drill: bool,
}

/// What was said publicly about an incident: the text of a status update, or the
/// text given with a status change, with the status the incident had then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub at: DateTime<Utc>,
    pub status: Status,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_order_by_badness() {
        for state in ComponentState::ALL {
            assert_eq!(state.as_str().parse::<ComponentState>(), Ok(state));
        }
        assert!("broken".parse::<ComponentState>().is_err());
        use ComponentState::*;
        assert_eq!(Operational.worst(Maintenance), Maintenance);
        assert_eq!(Degraded.worst(Maintenance), Degraded);
        assert_eq!(MajorOutage.worst(PartialOutage), MajorOutage);
    }
}
