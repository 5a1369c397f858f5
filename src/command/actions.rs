//! `/incident actions`: what can be run here.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListActions {
    pub incident: Option<IncidentId>,
}

pub(super) const ACTIONS: Spec = Spec {
    subcommand: Subcommand::Actions,
    usage: &["/incident actions"],
    summary: "List the actions and runbooks that can be run here.",
    help: "Lists the actions and runbooks configured for this incident, with the \
           parameters each one takes, for use with `/incident run`.",
    examples: &["/incident actions", "/incident actions INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| ListActions::parse(cursor, ctx).map(Command::ListActions),
};

impl ListActions {
    fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        Ok(Self {
            incident: ctx.incident,
        })
    }
}
