use super::{IncidentId, Platform, Role, Severity, Status, UserId};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// An incident as stored: who runs it, where, and when each milestone was reached.
/// Who acts through the JSON API. Service actors are named `warroom:…`: no
/// platform's user id has a `:`, nor does a person's key in the config, so none
/// can be mistaken for a person.
pub const API_USER: &str = "warroom:api";

/// Who acts when PagerDuty reports an acknowledgement or a resolution.
pub const PAGERDUTY_USER: &str = "warroom:pagerduty";

/// Whether `user` is one of warroom's service actors rather than a person.
pub fn is_service_actor(user: &UserId) -> bool {
    user.as_str().starts_with("warroom:")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: IncidentId,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub drill: bool,
    /// Seen only by the people in its private war room: announced without its
    /// title, and never on the status page, the feed or the JSON API without the
    /// private scope.
    pub private: bool,
    pub services: Vec<String>,
    pub platform: Platform,
    /// The channel the incident was declared from.
    pub origin_channel: String,
    /// The war room, once the platform has created it.
    pub room: Option<String>,
    pub declared_by: UserId,
    pub declared_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub identified_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub last_update_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    pub roles: BTreeMap<Role, UserId>,
    /// When the alerts it was declared from began; `None` for an incident
    /// declared by hand. Time to detect runs from here to `declared_at`.
    pub detected_at: Option<DateTime<Utc>>,
}

impl Incident {
    pub fn holder(&self, role: Role) -> Option<&UserId> {
        self.roles.get(&role)
    }

    pub fn holds(&self, user: &UserId, role: Role) -> bool {
        self.holder(role) == Some(user)
    }

    /// The roles a user holds in this incident.
    pub fn roles_of<'a>(&'a self, user: &'a UserId) -> impl Iterator<Item = Role> + 'a {
        self.roles
            .iter()
            .filter(move |(_, holder)| *holder == user)
            .map(|(role, _)| *role)
    }

    /// Commander and declarer steer the incident (resolve, severity, hand over
    /// command); so do the service actors: the JSON API, whose token is given only
    /// to those trusted with every incident, and PagerDuty, whose signed webhook
    /// reports what responders did there.
    pub fn may_steer(&self, user: &UserId) -> bool {
        self.holds(user, Role::Commander) || &self.declared_by == user || is_service_actor(user)
    }
}
