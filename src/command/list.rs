//! `/incident list`: the open incidents.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List;

pub(super) const LIST: Spec = Spec {
    usage: &["/incident list"],
    summary: "List the open incidents.",
    help: "Lists the incidents that are not resolved yet.",
    examples: &["/incident list"],
    ..Spec::standalone(Subcommand::List, parse)
};

fn parse(_: &mut Cursor<'_>, _: Context<'_>) -> Result<Command, ErrorKind> {
    Ok(Command::List(List))
}
