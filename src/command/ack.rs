//! `/incident ack`: acknowledge a page.

use super::{Command, OnIncident, Spec, Subcommand};

pub(super) const ACK: Spec = Spec {
    subcommand: Subcommand::Ack,
    usage: &["/incident ack"],
    summary: "Acknowledge a page.",
    help: "Acknowledges the page for the incident: someone has it in hand.",
    examples: &["/incident ack", "/incident ack INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| OnIncident::parse(cursor, ctx).map(Command::Ack),
};
