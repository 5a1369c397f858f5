//! Action runs as incident events: `/incident run`, `approve` and `cancel`
//! (and the Approve / Deny buttons), and the results the action worker reports.
//!
//! A run is a row created in the command's transaction; the worker executes it
//! later. Every change is compare-and-set on the run's status, so a replayed
//! request or a double-clicked Approve changes a run once.

use super::action_effects::{self, Effect};
use super::runbooks;
use super::session::{Session, SystemCaller};
use super::{Engine, EngineError, Reply, Stop, mention, refuse};
use crate::actions::{self, Outcome, ParamError, RunResult};
use crate::command::{ButtonAction, Params};
use crate::config::ActionConfig;
use crate::domain::{ActionRun, EventKind, Incident, IncidentId, Role, RunId, RunStatus, UserId};
use crate::render::{Block, Button, Inline, Message};
use crate::store::RunReport;
use std::collections::BTreeMap;

pub(super) async fn run(
    session: &mut Session<'_>,
    named: Option<IncidentId>,
    name: String,
    params: Params,
) -> Result<Reply, Stop> {
    let incident = session.target(named).await?;
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
        let roles: Vec<&str> = action.allowed_roles.iter().map(|r| r.title()).collect();
        return Err(refuse(format!(
            "Only the {} of {} may run `{name}`.",
            roles.join(" or ").to_lowercase(),
            incident.id
        )));
    }
    let given: BTreeMap<String, String> = params.into_iter().collect();
    let params = actions::resolve(action, &given).map_err(|error| {
        let needed: Vec<String> = action
            .params
            .iter()
            .map(|(key, spec)| format!("{key}=… ({})", spec.description))
            .collect();
        refuse(format!(
            "`{name}` was not run ({}). It takes: {}.",
            param_problems(&error),
            needed.join(", ")
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
    session
        .record(
            &incident.id,
            EventKind::ActionRequested,
            format!("run #{id}: {name}{shown} requested by {me}"),
        )
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
            session.actions_queued = true;
            Message::line(line)
        }
    };
    session.post_in_room(&incident, message).await?;
    Ok(Reply::ephemeral(format!(
        "Run #{id} of `{name}` is {}.",
        if status == RunStatus::Queued {
            "queued"
        } else {
            "waiting for approval"
        }
    )))
}

pub(super) async fn approve(
    session: &mut Session<'_>,
    named: Option<IncidentId>,
    run: RunId,
) -> Result<Reply, Stop> {
    let incident = session.target(named).await?;
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
    let expired = action_effects::approval_expired_result(action);
    let past_deadline = run.status == RunStatus::AwaitingApproval
        && session.now >= action_effects::approval_deadline(session.config(), &run);
    if past_deadline || run.result.as_deref() == Some(expired.as_str()) {
        return Err(refuse(format!(
            "Run #{} is not waiting for approval (it is {}: {expired}).",
            run.id,
            RunStatus::Cancelled
        )));
    }
    if !session.tx.approve_action_run(run.id, &me).await? {
        return Err(refuse(format!(
            "Run #{} is not waiting for approval (it is {}).",
            run.id, run.status
        )));
    }
    session
        .record(
            &incident.id,
            EventKind::ActionApproved,
            format!("run #{} approved by {me}", run.id),
        )
        .await?;
    session.actions_queued = true;
    let line = vec![
        Inline::Text(format!("Run #{} (", run.id)),
        Inline::Strong(run.action.clone()),
        Inline::Text(") approved by ".into()),
        mention(&me),
        Inline::Text("; queued.".into()),
    ];
    session.post_in_room(&incident, Message::line(line)).await?;
    Ok(Reply::ephemeral(format!("Run #{} approved.", run.id)))
}

pub(super) async fn cancel(
    session: &mut Session<'_>,
    named: Option<IncidentId>,
    run: RunId,
) -> Result<Reply, Stop> {
    let incident = session.target(named).await?;
    let (run, action) = find(session, &incident, run).await?;
    if let Some(step) = run.step {
        return runbooks::cancel(session, &incident, step).await;
    }
    let me = session.me().clone();
    let approver = action
        .approval
        .is_some_and(|role| incident.holds(&me, role));
    if run.requested_by != me && !incident.may_steer(&me) && !approver {
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
        return Err(refuse(format!(
            "Run #{} cannot be cancelled: it is {}.",
            run.id, run.status
        )));
    }
    session
        .record(
            &incident.id,
            EventKind::ActionCancelled,
            format!("run #{} cancelled by {me}", run.id),
        )
        .await?;
    let line = vec![
        Inline::Text(format!("Run #{} (", run.id)),
        Inline::Strong(run.action.clone()),
        Inline::Text(") cancelled by ".into()),
        mention(&me),
        Inline::Text(".".into()),
    ];
    session.post_in_room(&incident, Message::line(line)).await?;
    Ok(Reply::ephemeral(format!("Run #{} cancelled.", run.id)))
}

/// A drill runs nothing: the room is shown exactly what would be executed.
async fn dry_run(
    session: &mut Session<'_>,
    incident: &Incident,
    action: &ActionConfig,
    params: &BTreeMap<String, String>,
) -> Result<Reply, Stop> {
    let values = with_builtins(incident, params.clone());
    let would = action_effects::describe(session.config(), action, &values);
    session
        .record(
            &incident.id,
            EventKind::ActionRequested,
            format!("dry run of {}: {would}", action.name),
        )
        .await?;
    let line = vec![
        Inline::Text(format!(
            "Dry run of {} (drill), nothing was run. It would execute: ",
            action.name
        )),
        Inline::Strong(would),
    ];
    session.post_in_room(incident, Message::line(line)).await?;
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
    session
        .record(
            &incident.id,
            EventKind::ActionCancelled,
            format!("stop of running run #{} requested by {me}", run.id),
        )
        .await?;
    let line = vec![
        Inline::Text(format!("Stopping run #{} (", run.id)),
        Inline::Strong(run.action.clone()),
        Inline::Text("), as asked by ".into()),
        mention(me),
        Inline::Text(".".into()),
    ];
    session.post_in_room(incident, Message::line(line)).await?;
    Ok(Reply::ephemeral(format!(
        "Run #{} is being stopped.",
        run.id
    )))
}

/// What is wrong with a run's parameters, in one line: `missing: a; not accepted: b`.
pub(super) fn param_problems(error: &ParamError) -> String {
    let mut problems = Vec::new();
    if !error.missing.is_empty() {
        problems.push(format!("missing: {}", error.missing.join(", ")));
    }
    if !error.invalid.is_empty() {
        problems.push(format!("not accepted: {}", error.invalid.join(", ")));
    }
    if !error.unknown.is_empty() {
        problems.push(format!("unknown: {}", error.unknown.join(", ")));
    }
    problems.join("; ")
}

/// `line` followed by the **Approve** / **Deny** buttons of run `run`.
pub(super) fn approval_request(incident: &Incident, run: i64, line: Vec<Inline>) -> Message {
    let button = |action: ButtonAction, label: &str| Button {
        action: action.to_string(),
        value: incident.id.to_string(),
        label: label.into(),
    };
    Message {
        blocks: vec![
            Block::Paragraph(line),
            Block::Buttons(vec![
                button(ButtonAction::Approve(RunId::new(run)), "Approve"),
                button(ButtonAction::Deny(RunId::new(run)), "Deny"),
            ]),
        ],
    }
}

/// Whether `user` holds one of the roles allowed to run `action` (any member
/// of the room when none is listed).
pub(super) fn may_run(incident: &Incident, action: &ActionConfig, user: &UserId) -> bool {
    action.allowed_roles.is_empty()
        || action
            .allowed_roles
            .iter()
            .any(|role| incident.holds(user, *role))
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

/// `params` with the incident's own values for an action's templates
/// (`{incident}`, `{service}`, …) added where a param does not set them, kept
/// with the run so it runs with what was asked for.
pub(super) fn with_builtins(
    incident: &Incident,
    mut params: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let builtins = [
        ("incident", incident.id.to_string()),
        ("title", incident.title.to_string()),
        ("severity", incident.severity.to_string()),
        ("status", incident.status.to_string()),
        (
            "service",
            incident.services.first().cloned().unwrap_or_default(),
        ),
        ("room", incident.room.clone().unwrap_or_default()),
    ];
    for (key, value) in builtins {
        params.entry(key.to_owned()).or_insert(value);
    }
    params
}

fn show_params(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(key, value)| format!(" {key}={value}"))
        .collect()
}

/// How a run came to be reported.
enum RunEnd<'a> {
    /// The worker `owner` that held it ran it to the end.
    Finished {
        owner: &'a str,
        report: &'a RunReport<'a>,
    },
    /// Its worker stopped mid-way and its lease ran out.
    Abandoned { rerun: bool },
}

impl Engine {
    /// Records how a run the worker `owner` held ended and posts it in the war
    /// room; false if the run was no longer the worker's (then nothing changes).
    pub async fn action_finished(
        &self,
        run: &ActionRun,
        owner: &str,
        outcome: &Outcome,
    ) -> Result<bool, EngineError> {
        self.finish_run(run, owner, outcome, None).await
    }

    /// Like [`Engine::action_finished`], writing `effect` (what a page or status
    /// run does) in the same transaction as the run's end.
    pub(super) async fn finish_run(
        &self,
        run: &ActionRun,
        owner: &str,
        outcome: &Outcome,
        effect: Option<&Effect>,
    ) -> Result<bool, EngineError> {
        let status = match outcome.result {
            RunResult::Succeeded => RunStatus::Succeeded,
            RunResult::Failed => RunStatus::Failed,
            RunResult::TimedOut => RunStatus::TimedOut,
            RunResult::Cancelled => RunStatus::Cancelled,
        };
        let report = RunReport {
            status,
            result: &outcome.detail,
            output: &outcome.output,
            output_hash: &outcome.output_hash,
        };
        let end = RunEnd::Finished {
            owner,
            report: &report,
        };
        self.report_run(run, end, &outcome.detail, &outcome.output, effect)
            .await
    }

    /// Ends a run abandoned by a stopped worker (running, its lease run out),
    /// queuing it again when `rerun` (its action's `rerun_on_restart`), and
    /// posts that once; false if it was no longer abandoned.
    pub async fn action_interrupted(
        &self,
        run: &ActionRun,
        rerun: bool,
    ) -> Result<bool, EngineError> {
        let detail = if rerun {
            "interrupted by a restart; running it again"
        } else {
            "interrupted by a restart; not run again"
        };
        self.report_run(run, RunEnd::Abandoned { rerun }, detail, "", None)
            .await
    }

    /// Records how a run ended (only if it still can: the worker still holds
    /// it, or it is still abandoned), writes its `effect`, posts it, and, for a
    /// runbook step, decides what follows, all in one transaction.
    async fn report_run(
        &self,
        run: &ActionRun,
        end: RunEnd<'_>,
        detail: &str,
        output: &str,
        effect: Option<&Effect>,
    ) -> Result<bool, EngineError> {
        let inner = &*self.inner;
        let Some(caller) = SystemCaller::for_incident(inner, &run.incident).await? else {
            return Ok(false);
        };
        let mut session = Session::begin(inner, &caller.actor, &caller.context).await?;
        let Some(incident) = session.tx.lock_incident(&run.incident).await? else {
            return Ok(false);
        };
        if let Some(effect) = effect {
            action_effects::apply(&mut session, &incident, run, effect).await?;
        }
        let now = session.now;
        // What to tell the room, and the run's status now: an interrupted run
        // of a `rerun_on_restart` action is queued again.
        let (status, now_status) = match end {
            RunEnd::Finished { owner, report } => {
                if !session
                    .tx
                    .finish_action_run(run.id, owner, report, now)
                    .await?
                {
                    return Ok(false);
                }
                (report.status, report.status)
            }
            RunEnd::Abandoned { rerun } => {
                let Some(now_status) = session.tx.interrupt_action_run(run.id, now, rerun).await?
                else {
                    return Ok(false);
                };
                (RunStatus::Interrupted, now_status)
            }
        };
        let ended = ActionRun {
            status: now_status,
            ..run.clone()
        };
        session
            .record(
                &incident.id,
                EventKind::ActionFinished,
                format!("run #{} ({}) {status}: {detail}", run.id, run.action),
            )
            .await?;
        let mut blocks = vec![Block::Paragraph(vec![
            Inline::Text(format!("Run #{} (", run.id)),
            Inline::Strong(run.action.clone()),
            Inline::Text(") ".into()),
            Inline::Strong(status.to_string()),
            Inline::Text(format!(": {detail}")),
        ])];
        if !output.is_empty() {
            blocks.push(Block::Paragraph(vec![Inline::Text(output.to_owned())]));
        }
        session.post_in_room(&incident, Message { blocks }).await?;
        runbooks::after_step(&mut session, &incident, &ended).await?;
        let (queued, actions_queued) = (session.queued, session.actions_queued);
        session.tx.commit().await?;
        inner.after_commit(queued, false);
        if actions_queued {
            inner.actions_wakeup.notify_one();
        }
        Ok(true)
    }
}
