//! `/incident timeline`: what happened, in order.

use super::{Command, OnIncident, Spec, Subcommand};

pub(super) const TIMELINE: Spec = Spec {
    subcommand: Subcommand::Timeline,
    usage: &["/incident timeline"],
    summary: "Show the incident's timeline.",
    help: "Shows what was recorded for the incident, oldest first.",
    examples: &["/incident timeline", "/incident timeline INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| OnIncident::parse(cursor, ctx).map(Command::Timeline),
};
