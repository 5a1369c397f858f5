//! `/incident postmortem`: draft the postmortem.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postmortem {
    pub incident: Option<IncidentId>,
}

pub(super) const POSTMORTEM: Spec = Spec {
    subcommand: Subcommand::Postmortem,
    usage: &["/incident postmortem"],
    summary: "Draft the postmortem in the channel.",
    help: "Drafts the postmortem from what the incident recorded and shares it in the war \
           room as a Markdown file, with a summary of the headline numbers. The latest \
           draft is always at GET /api/incidents/<id>/postmortem.md (behind the API token).",
    examples: &[
        "/incident postmortem",
        "/incident postmortem INC-20261123-001",
    ],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| Postmortem::parse(cursor, ctx).map(Command::Postmortem),
};

impl Postmortem {
    fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        Ok(Self {
            incident: ctx.incident,
        })
    }
}
