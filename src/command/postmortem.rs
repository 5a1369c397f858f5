//! `/incident postmortem`: draft the postmortem.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Subcommand};

pub(super) const POSTMORTEM: Subcommand = Subcommand {
    name: "postmortem",
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
    parse,
};

fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    Ok(Command::Postmortem {
        incident: ctx.incident,
    })
}
