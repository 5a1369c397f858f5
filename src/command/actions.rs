//! `/incident actions`: what can be run here.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Subcommand};

pub(super) const ACTIONS: Subcommand = Subcommand {
    name: "actions",
    usage: &["/incident actions"],
    summary: "List the actions and runbooks that can be run here.",
    help: "Lists the actions and runbooks configured for this incident, with the \
           parameters each one takes, for use with `/incident run`.",
    examples: &["/incident actions", "/incident actions INC-20261123-001"],
    names_incident: true,
    flags: &[],
    parse,
};

fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    Ok(Command::ListActions {
        incident: ctx.incident,
    })
}
