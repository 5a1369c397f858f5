//! `/incident followups`: the action items an incident leaves behind.

use super::{Command, OnIncident, Spec, Subcommand};

pub(super) const FOLLOWUPS: Spec = Spec {
    usage: &["/incident followups"],
    summary: "List the incident's follow-ups.",
    help: "Lists the incident's follow-ups with their numbers, owners, due dates and \
           whether they are done.",
    examples: &[
        "/incident followups",
        "/incident followups INC-20261123-001",
    ],
    ..Spec::on_incident(Subcommand::FollowUps, |_, ctx| {
        Ok(Command::ListFollowUps(OnIncident::of(ctx)))
    })
};
