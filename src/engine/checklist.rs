//! The resolution checklist: on resolve, works out from the incident's records
//! which closing steps were done and posts the checklist in the war room.
//!
//! Must not: render it (the render layer does) or draft the postmortem (its
//! button is the `/incident postmortem` command).

use super::EngineError;
use super::session::Session;
use crate::domain::{EventKind, Incident, PageState, Status};
use crate::render::{self, ResolutionChecklist};

/// Posts the checklist of an incident resolved just now. `verified`: whether it
/// was resolved from monitoring, so the fix was watched before closing.
pub(super) async fn post(
    session: &mut Session<'_>,
    incident: &Incident,
    verified: bool,
) -> Result<(), EngineError> {
    let updates = session.tx.status_updates(&incident.id).await?;
    let pages = session.tx.pages(&incident.id).await?;
    let components = session.tx.component_settings().await?;
    let timeline = session.tx.timeline(&incident.id).await?;
    let followups = session.tx.followups(&incident.id).await?;
    let checklist = ResolutionChecklist {
        verified,
        root_cause: updates
            .iter()
            .any(|update| update.status == Status::Identified),
        alerts_cleared: pages
            .iter()
            .all(|page| !matches!(page.state, PageState::Triggered | PageState::Acknowledged)),
        status_page: !updates.is_empty()
            || components.iter().any(|setting| {
                setting
                    .incident
                    .as_ref()
                    .is_some_and(|set_for| set_for.id == incident.id)
            }),
        customers_told: updates
            .iter()
            .any(|update| update.at > incident.declared_at),
        postmortem: timeline
            .iter()
            .any(|event| event.kind == EventKind::PostmortemPosted)
            || followups
                .iter()
                .any(|followup| mentions_postmortem(&followup.text)),
    };
    let message = render::resolution_checklist(incident, &checklist);
    session.post_in_room(incident, message).await
}

/// "postmortem", "post-mortem" or "post mortem", in any case.
fn mentions_postmortem(text: &str) -> bool {
    text.to_lowercase()
        .replace(['-', ' '], "")
        .contains("postmortem")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_followup_mentions_the_postmortem_however_it_is_spelled() {
        for text in [
            "write the postmortem",
            "Post-mortem review on Friday",
            "schedule the POST MORTEM",
        ] {
            assert!(mentions_postmortem(text), "{text}");
        }
        assert!(!mentions_postmortem("add a canary for checkout-api"));
    }
}
