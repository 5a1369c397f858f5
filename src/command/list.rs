//! `/incident list`: the open incidents.

use super::{Command, Spec, Subcommand};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List;

pub(super) const LIST: Spec = Spec {
    subcommand: Subcommand::List,
    usage: &["/incident list"],
    summary: "List the open incidents.",
    help: "Lists the incidents that are not resolved yet.",
    examples: &["/incident list"],
    names_incident: false,
    flags: &[],
    parse: |_, _| Ok(Command::List(List)),
};
