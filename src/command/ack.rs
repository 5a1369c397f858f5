//! `/incident ack`: acknowledge a page.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Subcommand};

pub(super) const ACK: Subcommand = Subcommand {
    name: "ack",
    usage: &["/incident ack"],
    summary: "Acknowledge a page.",
    help: "Acknowledges the page for the incident: someone has it in hand.",
    examples: &["/incident ack", "/incident ack INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse,
};

fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    Ok(Command::Ack {
        incident: ctx.incident,
    })
}
