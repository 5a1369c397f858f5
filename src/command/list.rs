//! `/incident list`: the open incidents.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List;

pub(super) const LIST: Spec = Spec {
    subcommand: Subcommand::List,
    usage: &["/incident list"],
    summary: "List the open incidents.",
    help: "Lists the incidents that are not resolved yet.",
    examples: &["/incident list"],
    names_incident: false,
    flags: &[],
    parse: |cursor, ctx| List::parse(cursor, ctx).map(Command::List),
};

impl List {
    fn parse(_: &mut Cursor<'_>, _: Context<'_>) -> Result<Self, ErrorKind> {
        Ok(Self)
    }
}
