//! `/incident timeline`: what happened, in order.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Subcommand};

pub(super) const TIMELINE: Subcommand = Subcommand {
    name: "timeline",
    usage: &["/incident timeline"],
    summary: "Show the incident's timeline.",
    help: "Shows what was recorded for the incident, oldest first.",
    examples: &["/incident timeline", "/incident timeline INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse,
};

fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    Ok(Command::Timeline {
        incident: ctx.incident,
    })
}
