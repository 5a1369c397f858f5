//! Cadence: the reminders, response-time checks, escalation steps and pages an
//! incident's severity asks for.
//!
//! Owns: planning reminder rows in the transaction of the command that changes
//! the incident (so a plan and the change that made it commit together), firing
//! them when the scheduler hands one over (as the `warroom` system actor, through
//! the outbox like every other effect), and the incident's pages.
//!
//! The decisions, in one place:
//! - **Updates.** Declaring plans the first update reminder one `update_every`
//!   after declaration. `/incident update` and `/incident status … <text>` are status
//!   updates: they cancel the pending reminder and plan the next one interval after
//!   themselves. Reminders stop while `monitoring` if `remind_while_monitoring` is
//!   false, and for good on resolve; a reopen plans one from the reopening.
//! - **After a reminder fires**, the next is planned one interval after the one
//!   that was due, keeping the cadence steady; if that time has already passed
//!   (the bot was down longer than an interval), one interval after it actually
//!   fired. So a restart sends one catch-up reminder, never one per missed interval.
//!   The first reminder mentions the comms lead (the commander while comms is
//!   open); once two intervals have gone by without an update, the commander too.
//! - **Response target.** Declaring plans a check at `respond_within`; an ack
//!   cancels it. If it fires, the room and commander are told and the next
//!   escalation level not yet called in is called in (invited, mentioned, paged).
//! - **Escalation** is by elapsed time while the incident stays open, acknowledged
//!   or not: an ack means someone is on it, not that the incident is small, and the
//!   unacknowledged case is what the response target is for. Each step fires at
//!   declaration + `after` unless its level was already called in (by the response
//!   check); resolving cancels what is left.
//! - **Severity change** cancels every pending row and plans the new severity's:
//!   the update cadence counts from the last update (due at once if that is already
//!   overdue), and the response check and escalation steps keep counting from the
//!   declaration (due at once if already past), skipping levels already called in
//!   and a response check that already fired. A move to a paging severity pages
//!   on-call if nobody was paged yet.
//! - **Pages** (PagerDuty): `trigger` for on-call when a `page = true` severity is
//!   declared and for each escalation level; `acknowledge` for every live page on
//!   ack; `resolve` for every live page on resolve. Drills page nobody. Without a
//!   routing key nobody is paged, and the room is told so the first time.
//!
//! Must not: post directly or sleep on timers; every effect is an outbox row and
//! every future effect is a reminder row.

use super::session::Session;
use super::{Engine, EngineError, Reply, Stop, refuse};
use crate::command::Snooze;
use crate::config::SeverityConfig;
use crate::domain::{EventKind, Incident, IncidentId, Page, PageState, Role, Status, UserId};
use crate::outbox::{EventAction, Operation, PageEvent, PageSeverity};
use crate::render::{self, Inline};
use crate::schedule::{Reminder, ReminderKind, ReminderOutcome};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// Who the bot is on timelines.
pub const SYSTEM_USER: &str = "warroom";

/// The page target of the declaration page.
const ON_CALL: &str = "on-call";

/// What firing a reminder came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// The row is done with this outcome, and its effects are queued.
    Done(ReminderOutcome),
    /// The row was cancelled meanwhile or its lease went to another scheduler:
    /// nothing was done.
    Dropped,
}

fn delta(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// The severity's update cadence as it applies to the incident now.
fn update_cadence(session: &Session<'_>, incident: &Incident) -> Option<TimeDelta> {
    let level = session.config().severity(&incident.severity)?;
    let every = level.update_every?;
    let reminding = match incident.status {
        Status::Resolved => false,
        Status::Monitoring => level.remind_while_monitoring,
        Status::Investigating | Status::Identified => true,
    };
    reminding.then(|| delta(every))
}

/// When the next status update is expected, if reminders apply: for the
/// "next update by" of a status update posted now.
pub(super) fn next_update_after_now(
    session: &Session<'_>,
    incident: &Incident,
) -> Option<DateTime<Utc>> {
    update_cadence(session, incident).map(|every| session.now + every)
}

/// Declaring: the first update reminder, the response check, each escalation
/// step, and the on-call page if the severity pages.
pub(super) async fn declared(
    session: &mut Session<'_>,
    incident: &Incident,
) -> Result<(), EngineError> {
    let Some(level) = session.config().severity(&incident.severity).cloned() else {
        return Ok(());
    };
    plan_all(session, incident, &level, incident.declared_at).await?;
    if level.page {
        page_on_call(session, incident).await?;
    }
    Ok(())
}

/// Plans update, response and escalation rows for `level`, the update clock
/// starting at `update_base`; rows already past are due now.
async fn plan_all(
    session: &mut Session<'_>,
    incident: &Incident,
    level: &SeverityConfig,
    update_base: DateTime<Utc>,
) -> Result<(), EngineError> {
    let now = session.now;
    if let Some(every) = update_cadence(session, incident) {
        plan_update(session, incident, (update_base + every).max(now)).await?;
    }
    let response_fired = session
        .tx
        .has_fired(&incident.id, ReminderKind::Response)
        .await?;
    if incident.acknowledged_at.is_none() && !response_fired {
        let due = (incident.declared_at + delta(level.respond_within)).max(now);
        plan(session, &incident.id, ReminderKind::Response, due, None).await?;
    }
    for step in &level.escalate {
        if session.tx.level_reached(&incident.id, &step.to).await? {
            continue;
        }
        let due = (incident.declared_at + delta(step.after)).max(now);
        plan(
            session,
            &incident.id,
            ReminderKind::Escalate,
            due,
            Some(&step.to),
        )
        .await?;
    }
    Ok(())
}

async fn plan(
    session: &mut Session<'_>,
    incident: &IncidentId,
    kind: ReminderKind,
    due: DateTime<Utc>,
    target: Option<&str>,
) -> Result<(), EngineError> {
    let now = session.now;
    session
        .tx
        .plan_reminder(incident, kind, due, target, now)
        .await?;
    session.wake.schedule = true;
    Ok(())
}

async fn plan_update(
    session: &mut Session<'_>,
    incident: &Incident,
    due: DateTime<Utc>,
) -> Result<(), EngineError> {
    plan(session, &incident.id, ReminderKind::Update, due, None).await
}

/// Ends the incident's pending reminders of these kinds.
async fn cancel(
    session: &mut Session<'_>,
    incident: &Incident,
    kinds: &[ReminderKind],
) -> Result<(), EngineError> {
    let now = session.now;
    session
        .tx
        .cancel_reminders(&incident.id, kinds, now)
        .await?;
    Ok(())
}

/// A status update was posted: the update clock starts again now.
pub(super) async fn updated(
    session: &mut Session<'_>,
    incident: &Incident,
) -> Result<(), EngineError> {
    cancel(session, incident, &[ReminderKind::Update]).await?;
    if let Some(every) = update_cadence(session, incident) {
        plan_update(session, incident, session.now + every).await?;
    }
    Ok(())
}

/// The status moved without an update: reminders stop or resume as the new
/// status says; a pending one keeps its time.
pub(super) async fn status_moved(
    session: &mut Session<'_>,
    incident: &Incident,
) -> Result<(), EngineError> {
    match update_cadence(session, incident) {
        None => cancel(session, incident, &[ReminderKind::Update]).await?,
        Some(every) => {
            let pending = session.tx.pending_reminders(&incident.id).await?;
            if !pending.iter().any(|r| r.kind == ReminderKind::Update) {
                plan_update(session, incident, session.now + every).await?;
            }
        }
    }
    Ok(())
}

/// Acknowledged: the response check is moot, and live pages are acknowledged.
pub(super) async fn acknowledged(
    session: &mut Session<'_>,
    incident: &Incident,
) -> Result<(), EngineError> {
    cancel(session, incident, &[ReminderKind::Response]).await?;
    move_pages(
        session,
        incident,
        &[PageState::Triggered],
        PageState::Acknowledged,
    )
    .await
}

/// Resolved: nothing more is due, and every live page is resolved.
pub(super) async fn resolved(
    session: &mut Session<'_>,
    incident: &Incident,
) -> Result<(), EngineError> {
    cancel(session, incident, &ReminderKind::ALL).await?;
    move_pages(
        session,
        incident,
        &[PageState::Triggered, PageState::Acknowledged],
        PageState::Resolved,
    )
    .await
}

/// The severity changed: a new plan for the new severity.
pub(super) async fn severity_changed(
    session: &mut Session<'_>,
    incident: &Incident,
) -> Result<(), EngineError> {
    cancel(session, incident, &ReminderKind::ALL).await?;
    let Some(level) = session.config().severity(&incident.severity).cloned() else {
        return Ok(());
    };
    let base = incident.last_update_at.unwrap_or(incident.declared_at);
    plan_all(session, incident, &level, base).await?;
    let paged = session
        .tx
        .pages(&incident.id)
        .await?
        .iter()
        .any(|page| page.target == ON_CALL);
    if level.page && !paged {
        page_on_call(session, incident).await?;
    }
    Ok(())
}

/// `/incident snooze` and the reminder's button.
pub(super) async fn snooze(session: &mut Session<'_>, command: Snooze) -> Result<Reply, Stop> {
    let Snooze { incident, minutes } = command;
    let incident = session.target(incident).await?;
    let me = session.me().clone();
    if !incident.may_steer(&me) && incident.roles_of(&me).next().is_none() {
        return Err(refuse(format!(
            "Only the role holders of {} can snooze its reminders.",
            incident.id
        )));
    }
    let until = session.now + TimeDelta::minutes(i64::from(minutes));
    let moved = session
        .tx
        .postpone_reminders(&incident.id, ReminderKind::Update, until)
        .await?;
    if moved == 0 {
        return Err(refuse(format!(
            "{} has no status-update reminder pending.",
            incident.id
        )));
    }
    session.wake.schedule = true;
    let message = render::snoozed(&incident, &me, until, session.config());
    session.post_in_room(&incident, message).await?;
    Ok(Reply::ephemeral(format!(
        "Snoozed the status-update reminder of {} until {}.",
        incident.id,
        render::clock_time(until, session.config())
    )))
}

impl Engine {
    /// Fires a reminder the scheduler leased as `owner`: in one transaction, ends
    /// the row and queues what it means, as the `warroom` system actor. A row that
    /// was cancelled meanwhile, or whose lease was lost, changes nothing.
    pub async fn fire(&self, reminder: &Reminder, owner: &str) -> Result<Fired, EngineError> {
        let Some((mut session, incident)) =
            Session::as_system(&self.inner, &reminder.incident).await?
        else {
            return Ok(Fired::Dropped);
        };
        let outcome = match reminder.kind {
            ReminderKind::Update => remind(&mut session, &incident, reminder, owner).await?,
            ReminderKind::Response => {
                response_due(&mut session, &incident, reminder, owner).await?
            }
            ReminderKind::Escalate => {
                escalation_due(&mut session, &incident, reminder, owner).await?
            }
        };
        if let Fired::Done(_) = outcome {
            session.commit().await?;
        }
        Ok(outcome)
    }
}

/// Ends the row first: if it is no longer ours, nothing below may happen.
async fn finish(
    session: &mut Session<'_>,
    reminder: &Reminder,
    owner: &str,
    outcome: ReminderOutcome,
    target: Option<&str>,
) -> Result<bool, EngineError> {
    let now = session.now;
    Ok(session
        .tx
        .finish_reminder(reminder.id, owner, now, outcome, target)
        .await?)
}

async fn skip(
    session: &mut Session<'_>,
    reminder: &Reminder,
    owner: &str,
) -> Result<Fired, EngineError> {
    Ok(
        if finish(session, reminder, owner, ReminderOutcome::Skipped, None).await? {
            Fired::Done(ReminderOutcome::Skipped)
        } else {
            Fired::Dropped
        },
    )
}

async fn remind(
    session: &mut Session<'_>,
    incident: &Incident,
    reminder: &Reminder,
    owner: &str,
) -> Result<Fired, EngineError> {
    let Some(every) = update_cadence(session, incident) else {
        return skip(session, reminder, owner).await;
    };
    if !finish(session, reminder, owner, ReminderOutcome::Fired, None).await? {
        return Ok(Fired::Dropped);
    }
    let now = session.now;
    let since_update = incident.last_update_at.map(|at| now - at);
    let since_declared = now - incident.declared_at;
    let silent = since_update.unwrap_or(since_declared);
    let mut mentions: Vec<UserId> = incident
        .holder(Role::Comms)
        .or_else(|| incident.holder(Role::Commander))
        .into_iter()
        .cloned()
        .collect();
    if silent >= every * 2
        && let Some(commander) = incident.holder(Role::Commander)
        && !mentions.contains(commander)
    {
        mentions.push(commander.clone());
    }
    let message = render::update_reminder(incident, since_update, since_declared, &mentions);
    session.post_in_room(incident, message).await?;
    let on_cadence = reminder.due_at + every;
    let next = if on_cadence > now {
        on_cadence
    } else {
        now + every
    };
    plan_update(session, incident, next).await?;
    Ok(Fired::Done(ReminderOutcome::Fired))
}

async fn response_due(
    session: &mut Session<'_>,
    incident: &Incident,
    reminder: &Reminder,
    owner: &str,
) -> Result<Fired, EngineError> {
    if incident.acknowledged_at.is_some() || !incident.status.is_open() {
        return skip(session, reminder, owner).await;
    }
    let Some(level) = session.config().severity(&incident.severity).cloned() else {
        return skip(session, reminder, owner).await;
    };
    let mut next_level = None;
    for step in &level.escalate {
        if !session.tx.level_reached(&incident.id, &step.to).await? {
            next_level = Some(step.to.clone());
            break;
        }
    }
    // The fired row records the level it called in, so the escalation step for
    // that level does not call it in again.
    let target = next_level.as_deref();
    if !finish(session, reminder, owner, ReminderOutcome::Fired, target).await? {
        return Ok(Fired::Dropped);
    }
    let target_time = delta(level.respond_within);
    let commander = incident.holder(Role::Commander).cloned();
    let message = render::response_missed(incident, target_time, commander.as_ref());
    session
        .record_and_post(
            incident,
            EventKind::ResponseMissed,
            format!(
                "Response target of {} missed: not acknowledged",
                render::duration(target_time)
            ),
            message,
        )
        .await?;
    if let Some(level_name) = next_level {
        let reason = format!("not acknowledged within {}", render::duration(target_time));
        call_in(session, incident, &level_name, &reason).await?;
    }
    Ok(Fired::Done(ReminderOutcome::Fired))
}

async fn escalation_due(
    session: &mut Session<'_>,
    incident: &Incident,
    reminder: &Reminder,
    owner: &str,
) -> Result<Fired, EngineError> {
    let Some(level) = reminder.target.clone() else {
        return skip(session, reminder, owner).await;
    };
    if !incident.status.is_open() || session.tx.level_reached(&incident.id, &level).await? {
        return skip(session, reminder, owner).await;
    }
    if !finish(session, reminder, owner, ReminderOutcome::Fired, None).await? {
        return Ok(Fired::Dropped);
    }
    let reason = format!(
        "open for {}",
        render::duration(session.now - incident.declared_at)
    );
    call_in(session, incident, &level, &reason).await?;
    Ok(Fired::Done(ReminderOutcome::Fired))
}

/// Calls an escalation level in: invites and mentions its people, pages it, and
/// records the step on the timeline.
async fn call_in(
    session: &mut Session<'_>,
    incident: &Incident,
    level: &str,
    reason: &str,
) -> Result<(), EngineError> {
    let config = session.config();
    let members: Vec<String> = config
        .level(level)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let mut people = Vec::new();
    let mut unreachable = Vec::new();
    for person in &members {
        match config.person_id(person, incident.platform) {
            Some(user) => people.push(user),
            None => unreachable.push(person.clone()),
        }
    }
    if !people.is_empty() {
        session
            .enqueue(
                incident,
                Operation::Invite {
                    users: people.clone(),
                },
            )
            .await?;
    }
    let summary = format!(
        "[{}] {} ({}) escalated to {level}",
        incident.severity, incident.title, incident.id
    );
    let dedup_key = format!("{}/{level}", incident.id);
    let paging = page(session, incident, level, dedup_key, summary).await?;
    let message = render::escalated(incident, level, reason, &people, &unreachable, paging);
    session.post_in_room(incident, message).await?;
    let who = if members.is_empty() {
        "nobody configured".to_string()
    } else {
        members.join(", ")
    };
    session
        .record(
            &incident.id,
            EventKind::Escalated,
            format!("Escalated to {level} ({reason}): {who}; {paging}"),
        )
        .await
}

async fn page_on_call(session: &mut Session<'_>, incident: &Incident) -> Result<(), EngineError> {
    let summary = format!(
        "[{}] {} ({})",
        incident.severity, incident.title, incident.id
    );
    let dedup_key = incident.id.to_string();
    let paging = page(session, incident, ON_CALL, dedup_key, summary).await?;
    if paging == PAGED {
        let line = vec![Inline::Text(
            "On-call has been paged through PagerDuty.".into(),
        )];
        session
            .post_in_room(incident, crate::render::Message::line(line))
            .await?;
    }
    Ok(())
}

const PAGED: &str = "paged through PagerDuty.";
const DRILL: &str = "drill: nobody was paged.";
const OFF: &str = "not paged: paging is off.";

/// Pages `target` unless this is a drill or paging is off; says which.
pub(super) async fn page(
    session: &mut Session<'_>,
    incident: &Incident,
    target: &str,
    dedup_key: String,
    summary: String,
) -> Result<&'static str, EngineError> {
    let now = session.now;
    let (state, said) = if incident.drill {
        (PageState::Drill, DRILL)
    } else if !session.inner.settings.paging {
        let first = session.tx.pages(&incident.id).await?.is_empty();
        if first {
            session
                .post_in_room(incident, render::paging_off(incident))
                .await?;
        }
        (PageState::Off, OFF)
    } else {
        let event = PageEvent {
            action: EventAction::Trigger,
            dedup_key: dedup_key.clone(),
            summary,
            severity: page_severity(session, incident),
            source: source(incident),
            details: details(session, incident, target),
        };
        let if_refused = render::page_refused(incident, target);
        session
            .enqueue(incident, Operation::Page { event, if_refused })
            .await?;
        (PageState::Triggered, PAGED)
    };
    let page = Page {
        dedup_key,
        target: target.to_string(),
        state,
    };
    session.tx.record_page(&incident.id, &page, now).await?;
    Ok(said)
}

/// Sends `to` (acknowledge or resolve) for every page in one of the `from`
/// states, oldest page first.
async fn move_pages(
    session: &mut Session<'_>,
    incident: &Incident,
    from: &[PageState],
    to: PageState,
) -> Result<(), EngineError> {
    let action = match to {
        PageState::Acknowledged => EventAction::Acknowledge,
        PageState::Resolved => EventAction::Resolve,
        PageState::Off | PageState::Drill | PageState::Triggered => return Ok(()),
    };
    let now = session.now;
    let pages = session.tx.pages(&incident.id).await?;
    for mut page in pages.into_iter().filter(|page| from.contains(&page.state)) {
        page.state = to;
        if session.pager_told.as_deref() == Some(page.dedup_key.as_str()) {
            session.tx.record_page(&incident.id, &page, now).await?;
            continue;
        }
        let event = PageEvent {
            action,
            dedup_key: page.dedup_key.clone(),
            summary: String::new(),
            severity: page_severity(session, incident),
            source: source(incident),
            details: BTreeMap::new(),
        };
        let if_refused = render::page_refused(incident, &page.target);
        session
            .enqueue(incident, Operation::Page { event, if_refused })
            .await?;
        session.tx.record_page(&incident.id, &page, now).await?;
    }
    Ok(())
}

/// The severity's rank in the config, most severe first, as PagerDuty's four levels.
fn page_severity(session: &Session<'_>, incident: &Incident) -> PageSeverity {
    let rank = session
        .config()
        .severities()
        .iter()
        .position(|s| s.name == incident.severity);
    match rank {
        Some(0) => PageSeverity::Critical,
        Some(1) => PageSeverity::Error,
        Some(2) => PageSeverity::Warning,
        _ => PageSeverity::Info,
    }
}

fn source(incident: &Incident) -> String {
    if incident.services.is_empty() {
        "warroom".to_string()
    } else {
        incident.services.join(", ")
    }
}

fn details(session: &Session<'_>, incident: &Incident, target: &str) -> BTreeMap<String, String> {
    let url = format!(
        "{}/incidents/{}",
        session.config().public_url().trim_end_matches('/'),
        incident.id
    );
    BTreeMap::from([
        ("incident".to_string(), incident.id.to_string()),
        ("title".to_string(), incident.title.clone()),
        ("severity".to_string(), incident.severity.to_string()),
        ("target".to_string(), target.to_string()),
        ("incident_url".to_string(), url),
        ("platform".to_string(), incident.platform.to_string()),
    ])
}
