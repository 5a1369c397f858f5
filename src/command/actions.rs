//! `/incident actions`: what can be run here.

use super::{Command, OnIncident, Spec, Subcommand};

pub(super) const ACTIONS: Spec = Spec {
    usage: &["/incident actions"],
    summary: "List the actions and runbooks that can be run here.",
    help: "Lists the actions and runbooks configured for this incident, with the \
           parameters each one takes, for use with `/incident run`.",
    examples: &["/incident actions", "/incident actions INC-20261123-001"],
    ..Spec::on_incident(Subcommand::Actions, |_, ctx| {
        Ok(Command::ListActions(OnIncident::of(ctx)))
    })
};
