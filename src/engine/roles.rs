//! Handing roles over: the commander (or the declarer) assigns any role, and anyone
//! may take a role nobody holds ("I'll take comms").

use super::session::Session;
use super::{Reply, Stop, mention, refuse};
use crate::command::AssignRole;
use crate::domain::EventKind;
use crate::outbox::Operation;
use crate::render::{Inline, Message};

pub(super) async fn assign(session: &mut Session<'_>, command: AssignRole) -> Result<Reply, Stop> {
    let mut incident = session.target(command.incident).await?;
    let AssignRole { role, user, .. } = command;
    let assignee = session.resolve_user(user)?;
    let me = session.me().clone();
    let previous = incident.holder(role).cloned();
    let taking_open_role = previous.is_none() && assignee == me;
    if !incident.may_steer(&me) && !taking_open_role {
        let why = match &previous {
            Some(holder) if *holder == me => "To hand your role over, ask the commander",
            _ => {
                "Only the commander or the person who declared the incident assigns roles; anyone may take a role nobody holds"
            }
        };
        return Err(refuse(format!(
            "{why}. {} currently: {}.",
            role.title(),
            previous
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_else(|| "nobody".into())
        )));
    }
    if previous.as_ref() == Some(&assignee) {
        return Err(refuse(format!(
            "{assignee} is already the {} of {}.",
            role.title().to_lowercase(),
            incident.id
        )));
    }
    incident.roles.insert(role, assignee.clone());
    session.tx.update_incident(&incident).await?;
    let was = previous.map(|p| format!(" (was {p})")).unwrap_or_default();
    session
        .record(
            &incident.id,
            EventKind::RoleAssigned,
            format!("{} → {assignee}{was}", role.title()),
        )
        .await?;
    session
        .enqueue(
            &incident,
            Operation::Invite {
                users: vec![assignee.clone()],
            },
        )
        .await?;
    session.refresh_room(&incident).await?;
    let mut line = vec![
        mention(&assignee),
        Inline::Text(" is now ".into()),
        Inline::Strong(role.title().to_lowercase()),
    ];
    if assignee != me {
        line.push(Inline::Text(" (assigned by ".into()));
        line.push(mention(&me));
        line.push(Inline::Text(")".into()));
    }
    line.push(Inline::Text(".".into()));
    session.post_in_room(&incident, Message::line(line)).await?;
    Ok(Reply::ephemeral(format!(
        "{assignee} is now the {} of {}.",
        role.title().to_lowercase(),
        incident.id
    )))
}
