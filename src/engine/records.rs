//! What the team writes down: timeline notes and follow-up action items.

use super::session::Session;
use super::{Reply, Stop, refuse};
use crate::command::{AddFollowUp, AddNote, CompleteFollowUp};
use crate::domain::{EventKind, Role};
use chrono::TimeZone;

pub(super) async fn add_note(session: &mut Session<'_>, command: AddNote) -> Result<Reply, Stop> {
    let AddNote { incident, at, text } = command;
    let incident = session.target(incident).await?;
    let me = session.me().clone();
    let when = match at {
        None => session.now,
        Some(time) => {
            if !(incident.holds(&me, Role::Scribe) || incident.may_steer(&me)) {
                return Err(refuse(
                    "Only the scribe or the commander can back-date a note; drop the time to note it now.",
                ));
            }
            // The time is the team's wall clock today (config time zone); a time
            // still ahead today means the note belongs to yesterday's evening.
            let zone = session.config().timezone();
            let today = session.now.with_timezone(&zone).date_naive();
            let candidates = [Some(today), today.pred_opt()];
            let resolved = candidates
                .into_iter()
                .flatten()
                .filter_map(|day| zone.from_local_datetime(&day.and_time(time)).earliest())
                .map(|local| local.to_utc())
                .find(|utc| *utc <= session.now);
            match resolved {
                Some(utc) => utc,
                None => {
                    return Err(refuse(format!(
                        "{} does not exist in {zone} (a clock change?); use another time.",
                        time.format("%H:%M")
                    )));
                }
            }
        }
    };
    session
        .record_at(
            &incident.id,
            EventKind::Note,
            text.as_str().to_string(),
            when,
        )
        .await?;
    let shown = crate::render::clock_time(when, session.config());
    Ok(Reply::ephemeral(format!(
        "Added to the timeline of {} at {shown}.",
        incident.id
    )))
}

pub(super) async fn add_followup(
    session: &mut Session<'_>,
    command: AddFollowUp,
) -> Result<Reply, Stop> {
    let AddFollowUp {
        incident,
        text,
        owner,
        due,
    } = command;
    let incident = session.target(incident).await?;
    let owner = owner.map(|o| session.resolve_user(o)).transpose()?;
    let number = session
        .tx
        .add_followup(
            &incident.id,
            text.as_str(),
            owner.as_ref(),
            due,
            session.now,
        )
        .await?;
    let owner_text = owner
        .as_ref()
        .map(|o| format!(", owner {o}"))
        .unwrap_or_default();
    let due_text = due.map(|d| format!(", due {d}")).unwrap_or_default();
    session
        .record(
            &incident.id,
            EventKind::FollowUpAdded,
            format!("Follow-up #{number}: {text}{owner_text}{due_text}"),
        )
        .await?;
    Ok(Reply::ephemeral(format!(
        "Follow-up #{number} recorded for {}. `/incident followups` lists them.",
        incident.id
    )))
}

pub(super) async fn complete_followup(
    session: &mut Session<'_>,
    command: CompleteFollowUp,
) -> Result<Reply, Stop> {
    let CompleteFollowUp { incident, number } = command;
    let incident = session.target(incident).await?;
    if !session
        .tx
        .complete_followup(&incident.id, i64::from(number))
        .await?
    {
        return Err(refuse(format!(
            "{} has no follow-up #{number}. `/incident followups` lists them.",
            incident.id
        )));
    }
    session
        .record(
            &incident.id,
            EventKind::FollowUpDone,
            format!("Follow-up #{number} done"),
        )
        .await?;
    Ok(Reply::ephemeral(format!(
        "Follow-up #{number} of {} is done.",
        incident.id
    )))
}
