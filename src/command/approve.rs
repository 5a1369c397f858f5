//! `/incident approve <run>`: let a run that waits for approval go ahead.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand, words};
use crate::domain::{IncidentId, RunId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approve {
    pub incident: Option<IncidentId>,
    pub run: RunId,
}

pub(super) const APPROVE: Spec = Spec {
    subcommand: Subcommand::Approve,
    usage: &["/incident approve <run>"],
    summary: "Approve a run that is waiting for approval.",
    help: "Lets a run that needs approval go ahead. The run is named in the approval \
           request (a leading `#` is fine).",
    examples: &[
        "/incident approve 7",
        "/incident approve INC-20261123-001 #7",
    ],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| Approve::parse(cursor, ctx).map(Command::Approve),
};

impl Approve {
    fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        let word = cursor.take_required("the run to approve")?;
        Ok(Self {
            incident: ctx.incident,
            run: words::run(word)?,
        })
    }
}
