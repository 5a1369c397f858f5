//! `/incident followups`: the action items an incident leaves behind.

use super::{Command, Spec, Subcommand};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFollowUps {
    pub incident: Option<IncidentId>,
}

pub(super) const FOLLOWUPS: Spec = Spec {
    subcommand: Subcommand::FollowUps,
    usage: &["/incident followups"],
    summary: "List the incident's follow-ups.",
    help: "Lists the incident's follow-ups with their numbers, owners, due dates and \
           whether they are done.",
    examples: &[
        "/incident followups",
        "/incident followups INC-20261123-001",
    ],
    names_incident: true,
    flags: &[],
    parse: |_, ctx| {
        Ok(Command::ListFollowUps(ListFollowUps {
            incident: ctx.incident,
        }))
    },
};
