//! `/incident followups`: the action items an incident leaves behind.

use super::{Command, OnIncident, Spec, Subcommand};

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
    parse: |cursor, ctx| OnIncident::parse(cursor, ctx).map(Command::ListFollowUps),
};
