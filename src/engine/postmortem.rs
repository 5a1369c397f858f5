//! `/incident postmortem`: posts the draft's summary in the war room and records
//! that a postmortem was posted (the stats count it).
//!
//! Must not: render the draft (the render layer does) or upload files; the full
//! Markdown is served by the JSON API, which the posted message links to.

use super::session::Session;
use super::{Reply, Stop};
use crate::domain::{EventKind, IncidentId};
use crate::render;

pub(super) async fn post(
    session: &mut Session<'_>,
    named: Option<IncidentId>,
) -> Result<Reply, Stop> {
    let incident = session.target(named).await?;
    let message = render::postmortem_posted(&incident, session.config());
    session.post_in_room(&incident, message).await?;
    session
        .record(
            &incident.id,
            EventKind::PostmortemPosted,
            "Postmortem draft posted".to_string(),
        )
        .await?;
    Ok(Reply::ephemeral(format!(
        "The postmortem draft of {} is posted in its war room.",
        incident.id
    )))
}
