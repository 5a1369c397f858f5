//! `/incident postmortem`: draft the postmortem.

use super::{Command, OnIncident, Spec, Subcommand};

pub(super) const POSTMORTEM: Spec = Spec {
    usage: &["/incident postmortem"],
    summary: "Draft the postmortem in the channel.",
    help: "Drafts the postmortem from what the incident recorded and shares it in the war \
           room as a Markdown file, with a summary of the headline numbers. The latest \
           draft is always at GET /api/incidents/<id>/postmortem.md (behind the API token).",
    examples: &[
        "/incident postmortem",
        "/incident postmortem INC-20261123-001",
    ],
    ..Spec::on_incident(Subcommand::Postmortem, |_, ctx| {
        Ok(Command::Postmortem(OnIncident::of(ctx)))
    })
};
