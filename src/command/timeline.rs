//! `/incident timeline`: what happened, in order.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub incident: Option<IncidentId>,
}

pub(super) const TIMELINE: Spec = Spec {
    subcommand: Subcommand::Timeline,
    usage: &["/incident timeline"],
    summary: "Show the incident's timeline.",
    help: "Shows what was recorded for the incident, oldest first.",
    examples: &["/incident timeline", "/incident timeline INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| Timeline::parse(cursor, ctx).map(Command::Timeline),
};

impl Timeline {
    fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        Ok(Self {
            incident: ctx.incident,
        })
    }
}
