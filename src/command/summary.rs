//! `/incident summary`: where the incident stands, for someone joining late.

use super::{Command, OnIncident, Spec, Subcommand};

pub(super) const SUMMARY: Spec = Spec {
    usage: &["/incident summary"],
    summary: "The incident's current state in one message.",
    help: "Shows where the incident stands, for anyone joining late: severity, status, who holds \
           each role, the last status update, the runs and follow-ups still open, and when the \
           next update is due.",
    examples: &["/incident summary", "/incident summary INC-20261123-001"],
    ..Spec::on_incident(Subcommand::Summary, |_, ctx| {
        Ok(Command::Summary(OnIncident::of(ctx)))
    })
};
