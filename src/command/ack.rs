//! `/incident ack`: acknowledge a page.

use super::{Command, OnIncident, Spec, Subcommand};

pub(super) const ACK: Spec = Spec {
    usage: &["/incident ack"],
    summary: "Acknowledge a page.",
    help: "Acknowledges the page for the incident: someone has it in hand.",
    examples: &["/incident ack", "/incident ack INC-20261123-001"],
    ..Spec::on_incident(Subcommand::Ack, |_, ctx| {
        Ok(Command::Ack(OnIncident::of(ctx)))
    })
};
