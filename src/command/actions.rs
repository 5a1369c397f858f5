//! `/incident actions`: what can be run here.

use super::{Command, OnIncident, Spec, Subcommand};

pub(super) const ACTIONS: Spec = Spec {
    subcommand: Subcommand::Actions,
    usage: &["/incident actions"],
    summary: "List the actions and runbooks that can be run here.",
    help: "Lists the actions and runbooks configured for this incident, with the \
           parameters each one takes, for use with `/incident run`.",
    examples: &["/incident actions", "/incident actions INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| OnIncident::parse(cursor, ctx).map(Command::ListActions),
};
