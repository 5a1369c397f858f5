//! `/incident list`: the open incidents.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Subcommand};

pub(super) const LIST: Subcommand = Subcommand {
    name: "list",
    usage: &["/incident list"],
    summary: "List the open incidents.",
    help: "Lists the incidents that are not resolved yet.",
    examples: &["/incident list"],
    names_incident: false,
    flags: &[],
    parse,
};

fn parse(_: &mut Cursor<'_>, _: Context<'_>) -> Result<Command, ErrorKind> {
    Ok(Command::List)
}
