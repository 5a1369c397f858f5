//! `/incident timeline`: what happened, in order.

use super::{Command, Spec, Subcommand};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub incident: Option<IncidentId>,
}

pub(super) const TIMELINE: Spec = Spec {
    subcommand: Subcommand::Timeline,
    usage: &["/incident timeline"],
    summary: "Show the incident's timeline.",
    help: "Shows what was recorded for the incident, oldest first.",
    examples: &["/incident timeline", "/incident timeline INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse: |_, ctx| {
        Ok(Command::Timeline(Timeline {
            incident: ctx.incident,
        }))
    },
};
