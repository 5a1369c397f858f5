//! `/incident ack`: acknowledge a page.

use super::{Command, Spec, Subcommand};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub incident: Option<IncidentId>,
}

pub(super) const ACK: Spec = Spec {
    subcommand: Subcommand::Ack,
    usage: &["/incident ack"],
    summary: "Acknowledge a page.",
    help: "Acknowledges the page for the incident: someone has it in hand.",
    examples: &["/incident ack", "/incident ack INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse: |_, ctx| {
        Ok(Command::Ack(Ack {
            incident: ctx.incident,
        }))
    },
};
