//! `/incident timeline`: what happened, in order.

use super::{Command, OnIncident, Spec, Subcommand};

pub(super) const TIMELINE: Spec = Spec {
    usage: &["/incident timeline"],
    summary: "Show the incident's timeline.",
    help: "Shows what was recorded for the incident, oldest first.",
    examples: &["/incident timeline", "/incident timeline INC-20261123-001"],
    ..Spec::on_incident(Subcommand::Timeline, |_, ctx| {
        Ok(Command::Timeline(OnIncident::of(ctx)))
    })
};
