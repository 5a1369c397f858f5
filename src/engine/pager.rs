//! Paging both ways: what responders did in PagerDuty (its V3 webhook) reaches
//! the incident warroom paged them for, and is never sent back.
//!
//! An acknowledgement acknowledges the incident; resolving the incident's own page
//! (its `dedup_key` is the incident id) resolves the incident; resolving another
//! of its pages (an escalation level, a page action) is recorded. An incident
//! PagerDuty opened without warroom is an alert group like any other, routed by
//! `[[alert_route]]`.

use super::alerts::{self, AlertOutcome};
use super::session::Session;
use super::{EngineError, Inner, Stop, lifecycle};
use crate::alerts::{PagerDutyChange, PagerDutyEvent};
use crate::command::Resolve;
use crate::domain::{EventKind, IncidentId, PAGERDUTY_USER, PageState, Status, UserId, UserText};
use crate::render::{Inline, Message};

/// What a PagerDuty event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagerSync {
    /// The incident was acknowledged.
    Acknowledged(IncidentId),
    /// The incident was resolved.
    Resolved(IncidentId),
    /// One of the incident's other pages was resolved, and that recorded.
    PageResolved(IncidentId),
    /// Known already (a redelivery, or warroom's own trigger): nothing changed.
    Kept(IncidentId),
    /// An incident warroom did not page for, taken as an alert group.
    Alert(AlertOutcome),
    /// An event warroom does not follow, or about an incident it does not know.
    Ignored,
}

impl PagerSync {
    pub fn as_str(&self) -> &'static str {
        match self {
            PagerSync::Acknowledged(_) => "acknowledged",
            PagerSync::Resolved(_) => "resolved",
            PagerSync::PageResolved(_) => "page_resolved",
            PagerSync::Kept(_) => "kept",
            PagerSync::Alert(outcome) => outcome.as_str(),
            PagerSync::Ignored => "ignored",
        }
    }
}

pub(super) async fn receive(
    inner: &Inner,
    event: &PagerDutyEvent,
) -> Result<PagerSync, EngineError> {
    let (Some(change), Some(paged)) = (event.change, &event.incident) else {
        return Ok(PagerSync::Ignored);
    };
    let dedup_key = paged.incident_key.clone().unwrap_or_default();
    let ours = dedup_key
        .split('/')
        .next()
        .and_then(|id| id.parse::<IncidentId>().ok());
    let Some(id) = ours else {
        return alerts::receive(inner, &paged.group(change))
            .await
            .map(PagerSync::Alert);
    };
    let Some((mut session, incident)) = Session::as_system(inner, &id).await? else {
        return Ok(PagerSync::Ignored);
    };
    session.actor.user = UserId::new(PAGERDUTY_USER);
    session.pager_told = Some(dedup_key.clone());
    let by = event.by.as_deref().unwrap_or("a responder");
    let own_page = dedup_key == id.as_str();
    let synced = match change {
        PagerDutyChange::Acknowledged if incident.acknowledged_at.is_none() => {
            let event = format!("Acknowledged in PagerDuty by {by}");
            let told = Message::line(vec![Inline::Text(format!("{event}."))]);
            lifecycle::mark_acknowledged(&mut session, incident, event, told).await?;
            PagerSync::Acknowledged(id)
        }
        PagerDutyChange::Resolved if own_page && incident.status != Status::Resolved => {
            let summary =
                UserText::parse("the summary", &format!("Resolved in PagerDuty by {by}")).ok();
            let resolve = Resolve {
                incident: Some(id.clone()),
                summary,
            };
            match lifecycle::resolve(&mut session, resolve).await {
                Ok(_) => PagerSync::Resolved(id),
                Err(Stop::Failed(error)) => return Err(error),
                Err(Stop::Refused(reply)) => {
                    tracing::warn!(incident = %id, reason = %reply.text(), "a resolution in PagerDuty was not applied");
                    return Ok(PagerSync::Kept(id));
                }
            }
        }
        PagerDutyChange::Resolved => {
            if !record_page(&mut session, &id, &dedup_key, PageState::Resolved).await? {
                return Ok(PagerSync::Kept(id));
            }
            let text = format!("Page {dedup_key} resolved in PagerDuty by {by}");
            let told = Message::line(vec![Inline::Text(format!("{text}."))]);
            session
                .record_and_post(&incident, EventKind::Alert, text, told)
                .await?;
            PagerSync::PageResolved(id)
        }
        PagerDutyChange::Acknowledged => {
            if !record_page(&mut session, &id, &dedup_key, PageState::Acknowledged).await? {
                return Ok(PagerSync::Kept(id));
            }
            PagerSync::Kept(id)
        }
        PagerDutyChange::Triggered => return Ok(PagerSync::Kept(id)),
    };
    session.commit().await?;
    Ok(synced)
}

/// Moves the page `dedup_key` to `state` if it is a live page of the incident
/// not there yet; whether it moved.
async fn record_page(
    session: &mut Session<'_>,
    id: &IncidentId,
    dedup_key: &str,
    state: PageState,
) -> Result<bool, EngineError> {
    let pages = session.tx.pages(id).await?;
    let live = [PageState::Triggered, PageState::Acknowledged];
    let Some(mut page) = pages.into_iter().find(|page| {
        page.dedup_key == dedup_key && live.contains(&page.state) && page.state != state
    }) else {
        return Ok(false);
    };
    page.state = state;
    let now = session.now;
    session.tx.record_page(id, &page, now).await?;
    Ok(true)
}
