//! `/incident postmortem`: shares the postmortem draft in the war room as a file,
//! with a summary of the headline numbers, and records that a postmortem was
//! posted (the stats count it).
//!
//! Must not: render the draft (the render layer does) or talk to a platform (the
//! outbox uploads it). The draft is rendered here, at the moment of the command,
//! so the file shows the incident as it stood when it was asked for.

use super::session::Session;
use super::{Reply, Stop, refuse};
use crate::command::OnIncident;
use crate::domain::EventKind;
use crate::outbox::{Destination, Operation, UploadFile};
use crate::render::{self, PostmortemRecord};

pub(super) async fn post(session: &mut Session<'_>, command: OnIncident) -> Result<Reply, Stop> {
    let incident = session.target(command.incident).await?;
    // Recorded first, so the file has the same timeline as the API's draft from now on.
    session
        .record(
            &incident.id,
            EventKind::PostmortemPosted,
            "Postmortem draft posted".to_string(),
        )
        .await?;
    let Some(record) = session.tx.incident_record(&incident.id).await? else {
        return Err(refuse(format!(
            "{} could not be read back; nothing was posted.",
            incident.id
        )));
    };
    let config = session.config();
    let content = render::postmortem_within(
        &PostmortemRecord::of(&record),
        config,
        incident.platform.file_limit(),
    );
    let upload = Operation::Upload {
        to: Destination::Room,
        file: UploadFile {
            filename: format!("postmortem-{}.md", incident.id),
            title: format!("Postmortem draft · {} · {}", incident.id, incident.title),
            content,
        },
        summary: render::for_incident(&incident, render::postmortem_posted(&incident, config)),
    };
    session.enqueue(&incident, upload).await?;
    Ok(Reply::ephemeral(format!(
        "The postmortem draft of {} is posted in its war room.",
        incident.id
    )))
}
