//! What the commands that name nothing but their incident carry: `ack`, `actions`,
//! `followups`, `postmortem` and `timeline`. Each keeps its own file for its help
//! entry; they share this one type.

use super::Context;
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnIncident {
    pub incident: Option<IncidentId>,
}

impl OnIncident {
    /// There are no words to read: the incident, if named, was taken before.
    pub(super) fn of(ctx: Context<'_>) -> Self {
        Self {
            incident: ctx.incident,
        }
    }
}
