//! Declaring an incident: number it, staff it from the escalation matrix, and queue
//! the war room with its pinned summary and the announcement.

use super::session::Session;
use super::{Reply, SYSTEM_USER, Stop, cadence, refuse};
use crate::command::Declare;
use crate::domain::{EventKind, Incident, IncidentId, Role, Status, is_service_actor};
use crate::outbox::{Destination, Operation, RoomSpec};
use crate::render;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

pub(super) async fn declare(session: &mut Session<'_>, command: Declare) -> Result<Reply, Stop> {
    open(session, command, None).await.map(|(reply, _)| reply)
}

/// Declares, and gives the incident opened with the declarer's answer;
/// `detected_at` is when the alerts behind it began, if it comes from alerts.
pub(super) async fn open(
    session: &mut Session<'_>,
    command: Declare,
    detected_at: Option<DateTime<Utc>>,
) -> Result<(Reply, Incident), Stop> {
    let Declare {
        severity,
        title,
        services,
        drill,
        private,
    } = command;
    let config = session.config();
    let Some(severity) = severity.or_else(|| config.default_severity()) else {
        let words: Vec<String> = config
            .severities()
            .iter()
            .map(|s| format!("`{}`", s.name.as_str()))
            .collect();
        return Err(refuse(format!(
            "Which severity? Start with one of {}: `/incident sev1 {title}`.",
            words.join(", ")
        )));
    };
    let Some(level) = config.severity(&severity) else {
        return Err(refuse(format!("Severity {severity} is not configured.")));
    };
    let private = private || level.private;
    let platform = session.actor.platform;
    let declarer = session.me().clone();

    // Staff the incident from the matrix; people without an id on this platform
    // cannot be added, and the reply says so instead of silently leaving a gap.
    let mut roles = BTreeMap::new();
    let mut unreachable = Vec::new();
    for (role, person) in config.assignment(&severity) {
        match config.person_id(person, platform) {
            Some(user) => {
                roles.insert(role, user);
            }
            None => unreachable.push(format!("{person} ({})", role.title())),
        }
    }
    // Warroom itself or the API declaring is nobody to put in command or invite.
    let is_person = declarer.as_str() != SYSTEM_USER && !is_service_actor(&declarer);
    if is_person {
        roles
            .entry(Role::Commander)
            .or_insert_with(|| declarer.clone());
    }

    let now = session.now;
    let number = session.tx.next_incident_number(now.date_naive()).await?;
    let id = IncidentId::new(now.date_naive(), number);
    let incident = Incident {
        id: id.clone(),
        title: title.as_str().to_string(),
        severity,
        status: Status::Investigating,
        drill,
        private,
        services,
        platform,
        origin_channel: session.context.channel.clone(),
        room: None,
        declared_by: declarer.clone(),
        declared_at: now,
        acknowledged_at: None,
        identified_at: None,
        mitigated_at: None,
        resolved_at: None,
        last_update_at: None,
        summary: None,
        roles,
        detected_at,
    };
    session.tx.insert_incident(&incident).await?;

    let drill_note = if drill { " (drill)" } else { "" };
    session
        .record(
            &id,
            EventKind::Declared,
            format!(
                "Declared {} {}{drill_note}: {}",
                incident.severity, level.label, incident.title
            ),
        )
        .await?;
    for (role, user) in &incident.roles {
        session
            .record(
                &id,
                EventKind::RoleAssigned,
                format!("{} → {user}", role.title()),
            )
            .await?;
    }

    // The news goes out first; the announcement links the room once it is open.
    // A private incident's says only that one was declared, and by whom.
    let announced = if incident.private {
        let notice = render::private_announcement(&incident);
        session.announce_under(&incident, notice, None).await?;
        false
    } else {
        session
            .announce_under(
                &incident,
                render::announcement(&incident, false),
                Some(render::ANNOUNCEMENT_HANDLE),
            )
            .await?
    };
    let room = RoomSpec {
        name: render::room_name(&incident),
        topic: render::topic(&incident),
        purpose: incident.title.clone(),
        private: incident.private,
    };
    session
        .enqueue(&incident, Operation::CreateRoom(room))
        .await?;
    let mut invitees: Vec<_> = incident.roles.values().cloned().collect();
    if is_person {
        invitees.push(declarer);
    }
    invitees.sort();
    invitees.dedup();
    session
        .enqueue(&incident, Operation::Invite { users: invitees })
        .await?;
    let summary = Operation::Post {
        to: Destination::Room,
        message: render::summary(&incident, config),
        handle: Some(render::SUMMARY_HANDLE.to_string()),
    };
    session.enqueue(&incident, summary).await?;
    session
        .enqueue(
            &incident,
            Operation::Pin {
                handle: render::SUMMARY_HANDLE.to_string(),
            },
        )
        .await?;
    if announced {
        let edit = Operation::Edit {
            handle: render::ANNOUNCEMENT_HANDLE.to_string(),
            message: render::for_incident(&incident, render::announcement(&incident, true)),
        };
        session.enqueue(&incident, edit).await?;
    }
    cadence::declared(session, &incident).await?;

    let private_note = if incident.private {
        " It is private: only the people assigned or invited see its war room."
    } else {
        ""
    };
    let mut text = format!(
        "Declaring {id}{drill_note} ({} · {}). The war room opens in a moment.{private_note}",
        incident.severity, incident.title
    );
    if !unreachable.is_empty() {
        text.push_str(&format!(
            " Not assigned, no {platform} id in the config: {}.",
            unreachable.join(", ")
        ));
    }
    let reply = Reply {
        declared: Some(id),
        ..Reply::ephemeral(text)
    };
    Ok((reply, incident))
}
