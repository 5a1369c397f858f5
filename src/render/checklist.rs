//! The resolution checklist posted in the war room when an incident is resolved:
//! each step ticked when warroom knows it was done, and a hint for the others, with
//! a button that drafts the postmortem.
//!
//! Must not: find out what was done (the engine reads the incident's records).

use super::{Block, Button, Inline, Message};
use crate::command::ButtonAction;
use crate::domain::Incident;

/// What warroom knows was done by the time the incident was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolutionChecklist {
    /// The incident was resolved from monitoring: the fix was watched first.
    pub verified: bool,
    /// A status update was given while the incident was identified.
    pub root_cause: bool,
    /// None of its pages is still triggered or acknowledged.
    pub alerts_cleared: bool,
    /// A public update or a component state was recorded for it.
    pub status_page: bool,
    /// A public update was posted after it was declared.
    pub customers_told: bool,
    /// Its postmortem draft was posted, or a follow-up mentions the postmortem.
    pub postmortem: bool,
}

/// The checklist message: one line per step, ☑ or ☐ with a hint.
pub fn resolution_checklist(incident: &Incident, checklist: &ResolutionChecklist) -> Message {
    let steps = [
        (
            checklist.verified,
            "Service restored and verified",
            "check the service is healthy; next time, `/incident status monitoring` before \
             resolving lets the fix prove itself",
        ),
        (
            checklist.root_cause,
            "Root cause identified",
            "no cause was given when the incident was identified; write it in the postmortem",
        ),
        (
            checklist.alerts_cleared,
            "Alerts cleared",
            "some pages are still open; resolve them in PagerDuty",
        ),
        (
            checklist.status_page,
            "Status page updated",
            "nothing was published; `/incident update <text>` posts to the status page",
        ),
        (
            checklist.customers_told,
            "Customers told",
            "no public update was posted; `/incident update <text>` tells them",
        ),
        (
            checklist.postmortem,
            "Postmortem scheduled",
            "draft it with the button below, or `/incident followup write the postmortem @owner \
             due:YYYY-MM-DD`",
        ),
    ];
    let mut blocks = vec![Block::Heading(vec![Inline::Text(format!(
        "Resolution checklist · {}",
        incident.id
    ))])];
    blocks.extend(steps.into_iter().map(|(done, step, hint)| {
        Block::Paragraph(if done {
            vec![Inline::Text(format!("☑ {step}"))]
        } else {
            vec![
                Inline::Text(format!("☐ {step}")),
                Inline::Text(format!(" — {hint}")),
            ]
        })
    }));
    blocks.push(Block::Buttons(vec![Button {
        action: ButtonAction::Postmortem.to_string(),
        value: incident.id.to_string(),
        label: "Draft postmortem".into(),
    }]));
    Message { blocks }
}
