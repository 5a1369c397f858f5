//! `/incident approve <run>`: let a run that waits for approval go ahead.

use super::{Command, RunRef, Spec, Subcommand};

pub(super) const APPROVE: Spec = Spec {
    usage: &["/incident approve <run>"],
    summary: "Approve a run that is waiting for approval.",
    help: "Lets a run that needs approval go ahead. The run is named in the approval \
           request (a leading `#` is fine).",
    examples: &[
        "/incident approve 7",
        "/incident approve INC-20261123-001 #7",
    ],
    ..Spec::on_incident(Subcommand::Approve, |cursor, ctx| {
        RunRef::parse(cursor, ctx, "the run to approve").map(Command::Approve)
    })
};
