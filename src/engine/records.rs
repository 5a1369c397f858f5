//! What the team writes down: timeline notes and follow-up action items.

use super::session::Session;
use super::{Reply, Stop, refuse};
use crate::command::{AddFollowUp, AddNote, CompleteFollowUp};
use crate::domain::{EventKind, Incident, IncidentId, Role, Tracker, UserId};
use crate::outbox::{IssueDraft, Operation};
use crate::render::{self, FollowUpIssue};
use chrono::{NaiveDate, TimeZone};

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
    let Some(tracker) = session.inner.settings.filing else {
        return Ok(Reply::ephemeral(format!(
            "Follow-up #{number} recorded for {}. `/incident followups` lists them.",
            incident.id
        )));
    };
    let followup = NewFollowUp {
        number,
        text: text.as_str(),
        owner: owner.as_ref(),
        due,
    };
    let filing = file_issue(session, &incident, tracker, &followup);
    session.enqueue(&incident, filing).await?;
    Ok(Reply::ephemeral(format!(
        "Follow-up #{number} recorded for {} and being filed in {tracker}; the war room gets \
         its link. `/incident followups` lists them.",
        incident.id
    )))
}

/// A follow-up just recorded, as its issue is drafted from it.
struct NewFollowUp<'a> {
    number: i64,
    text: &'a str,
    owner: Option<&'a UserId>,
    due: Option<NaiveDate>,
}

/// The operation that files a follow-up in `tracker`, assigned to its owner
/// where `[people]` gives the owner's account there.
fn file_issue(
    session: &Session<'_>,
    incident: &Incident,
    tracker: Tracker,
    followup: &NewFollowUp<'_>,
) -> Operation {
    let config = session.config();
    let person = followup
        .owner
        .and_then(|owner| config.person_by_id(incident.platform, owner))
        .and_then(|key| config.person(key));
    let assignee = person
        .and_then(|person| person.tracker_account(tracker))
        .map(str::to_string);
    // A platform id means nothing in the tracker: only a known person is named.
    let owner_name = person.map(|person| person.display_name());
    let (title, body) = render::followup_issue(
        incident,
        &FollowUpIssue {
            number: followup.number,
            text: followup.text,
            owner: owner_name,
            due: followup.due,
        },
        config,
    );
    Operation::FileIssue {
        issue: Box::new(IssueDraft {
            tracker,
            followup: followup.number,
            title,
            body,
            assignee,
            due: followup.due.map(|due| due.format("%Y-%m-%d").to_string()),
            // The time tells this database's follow-up from another's with the same number.
            marker: format!(
                "{}/{}/{}",
                incident.id,
                followup.number,
                session.now.timestamp_millis()
            ),
        }),
        if_filed: render::for_incident(incident, render::followup_filed(followup.number, tracker)),
        if_refused: render::for_incident(
            incident,
            render::followup_not_filed(followup.number, tracker),
        ),
    }
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

impl super::Engine {
    /// Marks follow-up `number` of `incident` done because its issue was closed
    /// in `tracker`, as the `warroom` system actor, and tells the war room.
    /// False when there is no such follow-up; one already done changes nothing,
    /// so a webhook delivered twice is applied once.
    pub async fn follow_up_closed(
        &self,
        incident: &IncidentId,
        number: i64,
        tracker: Tracker,
    ) -> Result<bool, super::EngineError> {
        let Some((mut session, incident)) = Session::as_system(&self.inner, incident).await? else {
            return Ok(false);
        };
        let followups = session.tx.followups(&incident.id).await?;
        let Some(followup) = followups.iter().find(|f| f.number == number) else {
            return Ok(false);
        };
        if followup.done {
            return Ok(true);
        }
        session.tx.complete_followup(&incident.id, number).await?;
        let message = render::for_incident(&incident, render::followup_closed(number, tracker));
        session
            .record_and_post(
                &incident,
                EventKind::FollowUpDone,
                format!("Follow-up #{number} done (its issue was closed in {tracker})"),
                message,
            )
            .await?;
        session.commit().await?;
        Ok(true)
    }
}
