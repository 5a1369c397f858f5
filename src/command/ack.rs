//! `/incident ack`: acknowledge a page.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub incident: Option<IncidentId>,
}

pub(super) const ACK: Spec = Spec {
    subcommand: Subcommand::Ack,
    usage: &["/incident ack"],
    summary: "Acknowledge a page.",
    help: "Acknowledges the page for the incident: someone has it in hand.",
    examples: &["/incident ack", "/incident ack INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| Ack::parse(cursor, ctx).map(Command::Ack),
};

impl Ack {
    fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        Ok(Self {
            incident: ctx.incident,
        })
    }
}
