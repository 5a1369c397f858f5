//! `/incident cancel <run>`: stop a run.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand, words};
use crate::domain::{IncidentId, RunId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancel {
    pub incident: Option<IncidentId>,
    pub run: RunId,
}

pub(super) const CANCEL: Spec = Spec {
    subcommand: Subcommand::Cancel,
    usage: &["/incident cancel <run>"],
    summary: "Cancel a run that is waiting or in progress.",
    help: "Cancels a run, whether it is waiting for approval or already running. The \
           run is named in its messages (a leading `#` is fine).",
    examples: &["/incident cancel 7", "/incident cancel INC-20261123-001 #7"],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| Cancel::parse(cursor, ctx).map(Command::Cancel),
};

impl Cancel {
    fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        let word = cursor.take_required("the run to cancel")?;
        Ok(Self {
            incident: ctx.incident,
            run: words::run(word)?,
        })
    }
}
