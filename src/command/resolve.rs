//! `/incident resolve [summary]`: close the incident.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand, words};
use crate::domain::{IncidentId, UserText};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    pub incident: Option<IncidentId>,
    pub summary: Option<UserText>,
}

pub(super) const RESOLVE: Spec = Spec {
    usage: &["/incident resolve [summary]"],
    summary: "Resolve the incident, with an optional summary.",
    help: "Marks the incident resolved. Any words after `resolve` are kept as the \
           summary of what happened and how it was fixed.",
    examples: &[
        "/incident resolve",
        "/incident resolve bad config rolled back, error rate normal for 30 minutes",
        "/incident resolve INC-20261123-001",
    ],
    ..Spec::on_incident(Subcommand::Resolve, parse)
};

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    Ok(Command::Resolve(Resolve {
        incident: ctx.incident,
        summary: words::optional_text("the summary", &cursor.rest())?,
    }))
}
