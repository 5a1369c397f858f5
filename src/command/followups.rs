//! `/incident followups`: the action items an incident leaves behind.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFollowUps {
    pub incident: Option<IncidentId>,
}

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
    parse: |cursor, ctx| ListFollowUps::parse(cursor, ctx).map(Command::ListFollowUps),
};

impl ListFollowUps {
    fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        Ok(Self {
            incident: ctx.incident,
        })
    }
}
