//! Moving an incident along: acknowledging, status changes, status updates,
//! severity changes and resolving.

use super::session::Session;
use super::{EngineError, Reply, Stop, cadence, checklist, mention, refuse};
use crate::command::{ChangeSeverity, OnIncident, Params, PostUpdate, Resolve, SetStatus};
use crate::domain::{EventKind, Incident, Status, StatusUpdate, Transition, UserText};
use crate::render::{self, Inline, Message};
use crate::telemetry::Observation;
use std::cell::Cell;

pub(super) async fn acknowledge(
    session: &mut Session<'_>,
    command: OnIncident,
) -> Result<Reply, Stop> {
    let incident = session.target(command.incident).await?;
    if let Some(at) = incident.acknowledged_at {
        let when = render::clock_time(at, session.config());
        return Err(refuse(format!(
            "{} was already acknowledged at {when}.",
            incident.id
        )));
    }
    let me = session.me().clone();
    let id = incident.id.clone();
    let told = Message::line(vec![
        mention(&me),
        Inline::Text(" acknowledged the incident.".into()),
    ]);
    mark_acknowledged(session, incident, format!("Acknowledged by {me}"), told).await?;
    Ok(Reply::ephemeral(format!("Acknowledged {id}.")))
}

/// Records an acknowledgement (`event` on the timeline, `told` in the room):
/// the summary shows it, the response check is off and live pages are
/// acknowledged.
pub(super) async fn mark_acknowledged(
    session: &mut Session<'_>,
    mut incident: Incident,
    event: String,
    told: Message,
) -> Result<(), EngineError> {
    incident.acknowledged_at = Some(session.now);
    session.tx.update_incident(&incident).await?;
    if !incident.drill {
        session.observed.push(Observation::Acknowledged {
            severity: incident.severity.clone(),
            latency: (session.now - incident.declared_at)
                .to_std()
                .unwrap_or_default(),
        });
    }
    session
        .record(&incident.id, EventKind::Acknowledged, event)
        .await?;
    session.refresh_room(&incident).await?;
    cadence::acknowledged(session, &incident).await?;
    session.post_in_room(&incident, told).await
}

pub(super) async fn set_status(
    session: &mut Session<'_>,
    command: SetStatus,
) -> Result<Reply, Stop> {
    let incident = session.target(command.incident).await?;
    let SetStatus {
        status,
        text,
        params,
        ..
    } = command;
    change_status(session, incident, status, text, &params).await
}

pub(super) async fn resolve(session: &mut Session<'_>, command: Resolve) -> Result<Reply, Stop> {
    let incident = session.target(command.incident).await?;
    change_status(
        session,
        incident,
        Status::Resolved,
        command.summary,
        &Vec::new(),
    )
    .await
}

/// Every status change goes through here, so resolving by `status resolved` and by
/// `resolve` cannot differ. Moving along with text is a status update: it is
/// posted in the room and announced, and starts the update clock again.
async fn change_status(
    session: &mut Session<'_>,
    mut incident: Incident,
    status: Status,
    text: Option<UserText>,
    params: &Params,
) -> Result<Reply, Stop> {
    let me = session.me().clone();
    let transition = match incident.status.transition_to(status) {
        Ok(transition) => transition,
        Err(refused) => return Err(refuse(format!("{}: {refused}.", incident.id))),
    };
    let may = match transition {
        Transition::Progress => incident.may_steer(&me) || incident.roles_of(&me).next().is_some(),
        Transition::Resolve | Transition::Reopen => incident.may_steer(&me),
    };
    if !may {
        let who = match transition {
            Transition::Progress => "its role holders, the commander or the person who declared it",
            Transition::Resolve | Transition::Reopen => {
                "the commander or the person who declared it"
            }
        };
        return Err(refuse(format!(
            "Only {who} can set {} to {status}. {}",
            incident.id,
            commander_hint(&incident)
        )));
    }

    let now = session.now;
    let previous = incident.status;
    incident.status = status;
    match status {
        Status::Identified => {
            incident.identified_at.get_or_insert(now);
        }
        Status::Monitoring => {
            incident.mitigated_at.get_or_insert(now);
        }
        Status::Resolved => {
            incident.resolved_at = Some(now);
            incident.mitigated_at.get_or_insert(now);
            if let Some(summary) = &text {
                incident.summary = Some(summary.as_str().to_string());
            }
        }
        Status::Investigating => {}
    }
    if transition == Transition::Reopen {
        incident.resolved_at = None;
    }
    if text.is_some() {
        incident.last_update_at = Some(now);
    }
    session.tx.update_incident(&incident).await?;
    if let Some(text) = &text {
        record_public_update(session, &incident, text).await?;
    }

    let detail = text.as_ref().map(|t| format!(": {t}")).unwrap_or_default();
    let (kind, line) = match transition {
        Transition::Progress => (
            EventKind::StatusChanged,
            format!("Status {previous} → {status}{detail}"),
        ),
        Transition::Resolve => (EventKind::Resolved, format!("Resolved{detail}")),
        Transition::Reopen => (
            EventKind::Reopened,
            format!("Reopened (was resolved){detail}"),
        ),
    };
    session.record(&incident.id, kind, line).await?;
    session.refresh_room(&incident).await?;

    let config = session.config();
    match (transition, &text) {
        (Transition::Progress, Some(text)) => {
            cadence::updated(session, &incident).await?;
            publish_update(session, &incident, text, params).await?;
        }
        (Transition::Progress, None) => {
            cadence::status_moved(session, &incident).await?;
            let message = render::status_changed(&incident, previous, &me, None, config);
            session.post_in_room(&incident, message).await?;
        }
        (Transition::Resolve | Transition::Reopen, _) => {
            if transition == Transition::Resolve {
                cadence::resolved(session, &incident).await?;
            } else {
                cadence::status_moved(session, &incident).await?;
            }
            let message = render::status_changed(&incident, previous, &me, text.as_ref(), config);
            session.post_in_room(&incident, message.clone()).await?;
            session.announce(&incident, message).await?;
            if transition == Transition::Resolve {
                let verified = previous == Status::Monitoring;
                checklist::post(session, &incident, verified).await?;
            }
        }
    }
    let reply = match transition {
        Transition::Resolve => format!(
            "Resolved {} after {}.",
            incident.id,
            render::duration(now - incident.declared_at)
        ),
        Transition::Reopen => format!("Reopened {}; it is investigating again.", incident.id),
        Transition::Progress => format!("{} is now {status}.", incident.id),
    };
    Ok(Reply::ephemeral(reply))
}

pub(super) async fn post_update(
    session: &mut Session<'_>,
    command: PostUpdate,
) -> Result<Reply, Stop> {
    let mut incident = session.target(command.incident).await?;
    let PostUpdate { text, params, .. } = command;
    let me = session.me().clone();
    let speaks = incident.may_steer(&me) || incident.holds(&me, crate::domain::Role::Comms);
    if !speaks {
        return Err(refuse(format!(
            "Status updates for {} come from the communications lead or the commander. {}",
            incident.id,
            commander_hint(&incident)
        )));
    }
    incident.last_update_at = Some(session.now);
    session.tx.update_incident(&incident).await?;
    record_public_update(session, &incident, &text).await?;
    session
        .record(
            &incident.id,
            EventKind::StatusUpdate,
            format!("Status update: {text}"),
        )
        .await?;
    cadence::updated(session, &incident).await?;
    publish_update(session, &incident, &text, &params).await?;
    Ok(Reply::ephemeral(format!(
        "Status update posted for {}.",
        incident.id
    )))
}

/// Posts a status update in the war room and the announce channel: the status's
/// phrase from `[phrases]`, the user's text, and when the next one is due.
async fn publish_update(
    session: &mut Session<'_>,
    incident: &Incident,
    text: &UserText,
    params: &Params,
) -> Result<(), EngineError> {
    let phrase = phrase(session, incident, params);
    let next = cadence::next_update_after_now(session, incident);
    let message = render::status_update(
        incident,
        phrase.as_deref(),
        Some(text),
        next,
        session.now,
        session.config(),
    );
    session.post_in_room(incident, message.clone()).await?;
    session.announce(incident, message).await
}

/// The status's phrase with its placeholders filled from the command's
/// `key=value` words, then from the incident. A phrase that cannot be filled
/// completely (no `cause=` given for `{cause}`) is left out rather than announced
/// with a hole in it; the user's own text still goes out.
fn phrase(session: &Session<'_>, incident: &Incident, params: &Params) -> Option<String> {
    let template = session.config().phrase(incident.status.as_str())?;
    let complete = Cell::new(true);
    let filled = crate::config::render(template, |name| {
        let given = params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone());
        let value = given.or_else(|| match name {
            "incident" => Some(incident.id.to_string()),
            "title" => Some(incident.title.clone()),
            "severity" => Some(incident.severity.to_string()),
            "status" => Some(incident.status.to_string()),
            "service" if !incident.services.is_empty() => Some(incident.services.join(", ")),
            "room" => incident.room.clone(),
            _ => None,
        });
        if value.is_none() {
            complete.set(false);
        }
        value
    });
    complete.get().then_some(filled)
}

pub(super) async fn change_severity(
    session: &mut Session<'_>,
    command: ChangeSeverity,
) -> Result<Reply, Stop> {
    let mut incident = session.target(command.incident).await?;
    let severity = command.severity;
    let me = session.me().clone();
    if !incident.may_steer(&me) {
        return Err(refuse(format!(
            "Only the commander or the person who declared {} can change its severity. {}",
            incident.id,
            commander_hint(&incident)
        )));
    }
    if incident.severity == severity {
        return Err(refuse(format!("{} is already {severity}.", incident.id)));
    }
    if !incident.status.is_open() {
        return Err(refuse(format!(
            "{} is resolved; reopen it (`/incident status investigating`) before changing its severity.",
            incident.id
        )));
    }
    let previous = std::mem::replace(&mut incident.severity, severity);
    session.tx.update_incident(&incident).await?;
    session
        .record(
            &incident.id,
            EventKind::SeverityChanged,
            format!("Severity {previous} → {}", incident.severity),
        )
        .await?;
    session.refresh_room(&incident).await?;
    cadence::severity_changed(session, &incident).await?;
    let message = Message::line(vec![
        mention(&me),
        Inline::Text(format!(" changed the severity from {previous} to ")),
        Inline::Strong(incident.severity.to_string()),
        Inline::Text(".".into()),
    ]);
    session.post_in_room(&incident, message).await?;
    Ok(Reply::ephemeral(format!(
        "{} is now {}.",
        incident.id, incident.severity
    )))
}

/// Records text as said publicly, with the status the incident has now: the status
/// page and feed show it (drills excepted), unlike the timeline, which is internal.
async fn record_public_update(
    session: &mut Session<'_>,
    incident: &Incident,
    text: &UserText,
) -> Result<(), EngineError> {
    let update = StatusUpdate {
        at: session.now,
        status: incident.status,
        text: text.as_str().to_string(),
    };
    session
        .tx
        .record_status_update(&incident.id, &update)
        .await?;
    Ok(())
}

/// Tells a refused user whom to ask.
fn commander_hint(incident: &Incident) -> String {
    match incident.holder(crate::domain::Role::Commander) {
        Some(commander) => format!("Ask the commander ({commander})."),
        None => {
            "The incident has no commander; the person who declared it can assign one.".to_string()
        }
    }
}
