//! `/incident cancel <run>`: stop a run.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Subcommand, words};

pub(super) const CANCEL: Subcommand = Subcommand {
    name: "cancel",
    usage: &["/incident cancel <run>"],
    summary: "Cancel a run that is waiting or in progress.",
    help: "Cancels a run, whether it is waiting for approval or already running. The \
           run is named in its messages (a leading `#` is fine).",
    examples: &["/incident cancel 7", "/incident cancel INC-20261123-001 #7"],
    names_incident: true,
    flags: &[],
    parse,
};

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    let word = cursor.take().ok_or(ErrorKind::Missing {
        what: "the run to cancel",
    })?;
    Ok(Command::Cancel {
        incident: ctx.incident,
        run: words::run(word)?,
    })
}
