//! Action runs as incident events: `/incident run`, `approve` and `cancel`
//! (and the Approve / Deny buttons). How runs end is `run_end`'s.
//!
//! A run is a row created in the command's transaction; the worker executes it
//! later. Every change is compare-and-set on the run's status, so a replayed
//! request or a double-clicked Approve changes a run once.

use super::run_policy::{
    about_run, allowed_roles, approval_deadline, approval_expired_result, approval_request,
    cannot_cancel, describe, may_cancel, may_run, not_awaiting_approval, param_problems,
    show_params, takes_in_words, with_builtins,
};
use super::runbooks;
use super::session::Session;
use super::{Reply, Stop, mention, refuse};
use crate::actions;
use crate::command::{RunAction, RunRef};
use crate::config::ActionConfig;
use crate::domain::{ActionRun, EventKind, Incident, Role, RunId, RunStatus, UserId};
use crate::render::{Inline, Message};
use std::collections::BTreeMap;

pub(super) async fn run(session: &mut Session<'_>, command: RunAction) -> Result<Reply, Stop> {
    let incident = session.target(command.incident).await?;
    let RunAction { name, params, .. } = command;
    let config = session.config();
    let Some(action) = config.action(&name) else {
        if let Some(runbook) = config.runbook(&name) {
            return runbooks::start(session, incident, runbook, params).await;
        }
        return Err(refuse(format!(
            "There is no action `{name}`; `/incident actions` lists what can be run."
        )));
    };
    let me = session.me().clone();
    if !may_run(&incident, action, &me) {
        return Err(refuse(format!(
            "Only the {} of {} may run `{name}`.",
            allowed_roles(action),
            incident.id
        )));
    }
    let given: BTreeMap<String, String> = params.into_iter().collect();
    let params = actions::resolve(action, &given).map_err(|error| {
        let taken = action
            .params
            .iter()
            .map(|(key, spec)| (key.as_str(), spec.description.as_str()));
        refuse(format!(
            "`{name}` was not run ({}). {}",
            param_problems(&error),
            takes_in_words(taken, &action.filled_from_incident())
        ))
    })?;
    if incident.drill {
        return dry_run(session, &incident, action, &params).await;
    }
    let status = if action.approval.is_some() {
        RunStatus::AwaitingApproval
    } else {
        RunStatus::Queued
    };
    let shown = show_params(&params);
    let values = with_builtins(&incident, params);
    let id = session
        .tx
        .request_action_run(&incident.id, &name, &values, status, &me, session.now)
        .await?;
    let mut line = vec![
        mention(&me),
        Inline::Text(" requested run ".into()),
        Inline::Strong(format!("#{id}")),
        Inline::Text(": ".into()),
        Inline::Strong(format!("{name}{shown}")),
    ];
    let message = match action.approval {
        Some(role) => {
            line.push(Inline::Text(format!(
                ". It needs the {}'s approval.",
                role.title().to_lowercase()
            )));
            approval_request(&incident, id, line)
        }
        None => {
            line.push(Inline::Text(". Queued.".into()));
            session.wake.actions = true;
            Message::line(line)
        }
    };
    session
        .record_and_post(
            &incident,
            EventKind::ActionRequested,
            format!("run #{id}: {name}{shown} requested by {me}"),
            message,
        )
        .await?;
    Ok(Reply::ephemeral(format!(
        "Run #{id} of `{name}` is {}.",
        if status == RunStatus::Queued {
            "queued"
        } else {
            "waiting for approval"
        }
    )))
}

pub(super) async fn approve(session: &mut Session<'_>, command: RunRef) -> Result<Reply, Stop> {
    let incident = session.target(command.incident).await?;
    let run = command.run;
    let (run, action) = find(session, &incident, run).await?;
    if let Some(step) = run.step {
        return runbooks::approve(session, &incident, run, step).await;
    }
    let me = session.me().clone();
    let role = action.approval.unwrap_or(Role::Commander);
    if !incident.holds(&me, role) {
        return Err(refuse(format!(
            "Only the {} of {} approves run #{}.",
            role.title().to_lowercase(),
            incident.id,
            run.id
        )));
    }
    let expired = approval_expired_result(action);
    let past_deadline = run.status == RunStatus::AwaitingApproval
        && session.now >= approval_deadline(session.config(), &run);
    if past_deadline || run.result.as_deref() == Some(expired.as_str()) {
        return Err(refuse(format!(
            "Run #{} is not waiting for approval (it is {}: {expired}).",
            run.id,
            RunStatus::Cancelled
        )));
    }
    if !session.tx.approve_action_run(run.id, &me).await? {
        return Err(not_awaiting_approval(&run));
    }
    session.wake.actions = true;
    let kind = EventKind::ActionApproved;
    tell_decision(session, &incident, &run, kind, "approved", "; queued.").await
}

pub(super) async fn cancel(session: &mut Session<'_>, command: RunRef) -> Result<Reply, Stop> {
    let incident = session.target(command.incident).await?;
    let run = command.run;
    let (run, action) = find(session, &incident, run).await?;
    if let Some(step) = run.step {
        return runbooks::cancel(session, &incident, step).await;
    }
    let me = session.me().clone();
    if !may_cancel(&incident, &run.requested_by, action.approval, &me) {
        return Err(refuse(format!(
            "Only whoever requested run #{} or the commander may cancel it.",
            run.id
        )));
    }
    if run.status == RunStatus::Running {
        return stop(session, &incident, &run, &me).await;
    }
    if !session
        .tx
        .cancel_action_run(run.id, &me, session.now)
        .await?
    {
        return Err(cannot_cancel(&run));
    }
    let kind = EventKind::ActionCancelled;
    tell_decision(session, &incident, &run, kind, "cancelled", ".").await
}

/// How an approval or a cancel ends: the timeline records that the user
/// `decided` the run (approved, cancelled), the room is told so with `then`
/// after it, and so is the user.
async fn tell_decision(
    session: &mut Session<'_>,
    incident: &Incident,
    run: &ActionRun,
    kind: EventKind,
    decided: &str,
    then: &str,
) -> Result<Reply, Stop> {
    let me = session.me().clone();
    let message = about_run(
        "Run",
        run,
        [
            Inline::Text(format!(") {decided} by ")),
            mention(&me),
            Inline::Text(then.into()),
        ],
    );
    session
        .record_and_post(
            incident,
            kind,
            format!("run #{} {decided} by {me}", run.id),
            message,
        )
        .await?;
    Ok(Reply::ephemeral(format!("Run #{} {decided}.", run.id)))
}

/// A drill runs nothing: the room is shown exactly what would be executed.
async fn dry_run(
    session: &mut Session<'_>,
    incident: &Incident,
    action: &ActionConfig,
    params: &BTreeMap<String, String>,
) -> Result<Reply, Stop> {
    let values = with_builtins(incident, params.clone());
    let would = describe(session.config(), action, &values);
    let event = format!("dry run of {}: {would}", action.name);
    let line = vec![
        Inline::Text(format!(
            "Dry run of {} (drill), nothing was run. It would execute: ",
            action.name
        )),
        Inline::Strong(would),
    ];
    session
        .record_and_post(
            incident,
            EventKind::ActionRequested,
            event,
            Message::line(line),
        )
        .await?;
    Ok(Reply::ephemeral(format!(
        "Drill: `{}` was not run; the room shows what it would execute.",
        action.name
    )))
}

/// Asks the worker running `run` to stop it (SIGTERM, then SIGKILL); the
/// worker posts the result as usual.
async fn stop(
    session: &mut Session<'_>,
    incident: &Incident,
    run: &ActionRun,
    me: &UserId,
) -> Result<Reply, Stop> {
    if !session.tx.request_stop_action_run(run.id, me).await? {
        return Err(refuse(format!("Run #{} is already being stopped.", run.id)));
    }
    let message = about_run(
        "Stopping run",
        run,
        [
            Inline::Text("), as asked by ".into()),
            mention(me),
            Inline::Text(".".into()),
        ],
    );
    session
        .record_and_post(
            incident,
            EventKind::ActionCancelled,
            format!("stop of running run #{} requested by {me}", run.id),
            message,
        )
        .await?;
    Ok(Reply::ephemeral(format!(
        "Run #{} is being stopped.",
        run.id
    )))
}

/// The run a command names and its action's config.
async fn find<'c>(
    session: &mut Session<'c>,
    incident: &Incident,
    id: RunId,
) -> Result<(ActionRun, &'c ActionConfig), Stop> {
    let run = session
        .tx
        .action_run(&incident.id, id.get())
        .await?
        .ok_or_else(|| refuse(format!("There is no run {id} in {}.", incident.id)))?;
    let action = session.config().action(&run.action).ok_or_else(|| {
        refuse(format!(
            "Run #{id}'s action `{}` is no longer configured.",
            run.action
        ))
    })?;
    Ok((run, action))
}
