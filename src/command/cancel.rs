//! `/incident cancel <run>`: stop a run.

use super::{Command, RunRef, Spec, Subcommand};

pub(super) const CANCEL: Spec = Spec {
    usage: &["/incident cancel <run>"],
    summary: "Cancel a run that is waiting or in progress.",
    help: "Cancels a run, whether it is waiting for approval or already running. The \
           run is named in its messages (a leading `#` is fine).",
    examples: &["/incident cancel 7", "/incident cancel INC-20261123-001 #7"],
    ..Spec::on_incident(Subcommand::Cancel, |cursor, ctx| {
        RunRef::parse(cursor, ctx, "the run to cancel").map(Command::Cancel)
    })
};
