//! What follows the end of a runbook step: the next step, the step's
//! fallback, or the end of the runbook with its recovery report. Decided in
//! the transaction that records how the step ended, so a crash can neither
//! lose the next step nor start it twice.

use crate::actions;
use crate::config::{RunbookConfig, RunbookStep};
use crate::domain::{EventKind, Incident, RunStatus, RunbookRun, RunbookStatus, StepRef, UserId};
use crate::engine::run_policy::{about_runbook, step_params, with_builtins};
use crate::engine::session::Session;
use crate::engine::{EngineError, SYSTEM_USER};
use crate::render::{self, Inline, Message};
use crate::store::NewRun;
use std::collections::BTreeMap;

/// What follows the end of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Queue step `index` (from 0).
    Step(usize),
    /// Queue the fallback of step `index`.
    Fallback(usize),
    /// Nothing yet: the step has not ended (it was queued again after a restart).
    Wait,
    /// The runbook is over.
    Finish(Ending),
}

/// How a runbook came to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Past its last step; it succeeded if every step did, through its fallback or not.
    Completed,
    /// A step failed (its fallback too, if it had one) and may not be gone past.
    Stopped,
    Cancelled,
    Interrupted,
}

/// The pure decision: what follows step `ended` of a runbook of `steps` ending
/// with `status`. A succeeded step leads to the next; a failed or timed-out one
/// to its fallback, and if there is none (or the fallback failed too) to the
/// next step when `continue_on_failure`, else the runbook stops. A cancel ends
/// the runbook whatever the step did (even one queued again after a restart);
/// an interrupted step ends it as interrupted.
fn next_move(steps: &[RunbookStep], ended: StepRef, status: RunStatus, cancelling: bool) -> Next {
    let after = || {
        if ended.index + 1 < steps.len() {
            Next::Step(ended.index + 1)
        } else {
            Next::Finish(Ending::Completed)
        }
    };
    if cancelling {
        return Next::Finish(Ending::Cancelled);
    }
    if !status.is_final() {
        return Next::Wait;
    }
    match status {
        RunStatus::Succeeded => after(),
        RunStatus::Cancelled | RunStatus::Skipped => Next::Finish(Ending::Cancelled),
        RunStatus::Interrupted => Next::Finish(Ending::Interrupted),
        _ => {
            let Some(step) = steps.get(ended.index) else {
                return Next::Finish(Ending::Stopped);
            };
            if !ended.fallback && step.fallback.is_some() {
                Next::Fallback(ended.index)
            } else if step.continue_on_failure {
                after()
            } else {
                Next::Finish(Ending::Stopped)
            }
        }
    }
}

/// THE place that decides what follows a runbook step's end, whatever ended
/// it: the worker's report, a restart, a cancel or a denial, an approval
/// expiring. Call it in the transaction that records how the run at `step`
/// ended, with `status` the run's status now: it queues the next step or the
/// fallback, or ends the runbook, skips what is left and posts the recovery
/// report. A run that is not a runbook step (`step` is `None`), or a runbook
/// already over, changes nothing.
pub(in crate::engine) async fn after_step(
    session: &mut Session<'_>,
    incident: &Incident,
    step: Option<StepRef>,
    status: RunStatus,
) -> Result<(), EngineError> {
    let Some(step) = step else {
        return Ok(());
    };
    let Some(runbook_run) = session
        .tx
        .runbook_run(&incident.id, step.runbook_run)
        .await?
    else {
        return Ok(());
    };
    if runbook_run.status.is_final() {
        return Ok(());
    }
    let Some(runbook) = session.config().runbook(&runbook_run.runbook) else {
        return finish(session, incident, &runbook_run, Ending::Stopped).await;
    };
    let cancelling = runbook_run.cancel_requested_by.is_some();
    let mut next = next_move(&runbook.steps, step, status, cancelling);
    loop {
        match next {
            Next::Wait => return Ok(()),
            Next::Finish(ending) => return finish(session, incident, &runbook_run, ending).await,
            Next::Step(index) => {
                return queue_step(session, incident, &runbook_run, runbook, index).await;
            }
            Next::Fallback(index) => {
                if queue_fallback(session, incident, &runbook_run, runbook, index).await? {
                    return Ok(());
                }
                let fallback = StepRef {
                    fallback: true,
                    ..step
                };
                next = next_move(&runbook.steps, fallback, RunStatus::Failed, false);
            }
        }
    }
}

/// Moves pending step `index` to the queue.
async fn queue_step(
    session: &mut Session<'_>,
    incident: &Incident,
    runbook_run: &RunbookRun,
    runbook: &RunbookConfig,
    index: usize,
) -> Result<(), EngineError> {
    let steps = session.tx.step_runs(runbook_run.id).await?;
    let Some(next) = steps
        .iter()
        .find(|run| run.step.is_some_and(|at| at.index == index && !at.fallback))
    else {
        return finish(session, incident, runbook_run, Ending::Stopped).await;
    };
    if !session.tx.queue_pending_step(next.id).await? {
        return Ok(());
    }
    session.wake.actions = true;
    record_step_queued(session, incident, runbook, runbook_run.id, index, next.id).await?;
    let message = about_runbook(
        &runbook.name,
        [
            Inline::Text(format!(": step {} of {}, ", index + 1, runbook.steps.len())),
            Inline::Strong(next.action.clone()),
            Inline::Text(format!(", is queued as run #{}.", next.id)),
        ],
    );
    session.post_in_room(incident, message).await?;
    Ok(())
}

/// Queues the fallback of step `index` as a run of its own; false if its
/// parameters no longer check out (the config changed), which counts as the
/// fallback failing.
async fn queue_fallback(
    session: &mut Session<'_>,
    incident: &Incident,
    runbook_run: &RunbookRun,
    runbook: &RunbookConfig,
    index: usize,
) -> Result<bool, EngineError> {
    let config = session.config();
    let Some(name) = runbook
        .steps
        .get(index)
        .and_then(|step| step.fallback.as_deref())
    else {
        return Ok(false);
    };
    let resolved = config.action(name).map(|action| {
        actions::resolve(
            action,
            &step_params(action, &BTreeMap::new(), &runbook_run.params),
        )
    });
    let Some(Ok(resolved)) = resolved else {
        let line = format!(
            "Runbook {}: the fallback {name} of step {} could not be queued: it is no longer \
             configured, or its parameters no longer check out.",
            runbook.name,
            index + 1
        );
        session.post_in_room(incident, Message::text(line)).await?;
        return Ok(false);
    };
    let values = with_builtins(incident, resolved);
    let place = StepRef {
        runbook_run: runbook_run.id,
        index,
        fallback: true,
    };
    let now = session.now;
    let run = NewRun {
        action: name,
        params: &values,
        status: RunStatus::Queued,
        step: Some(place),
    };
    let id = session
        .tx
        .request_run(&incident.id, &run, &runbook_run.requested_by, now)
        .await?;
    session.wake.actions = true;
    let message = about_runbook(
        &runbook.name,
        [
            Inline::Text(format!(": step {} failed; its fallback ", index + 1)),
            Inline::Strong(name.to_owned()),
            Inline::Text(format!(" is queued as run #{id}.")),
        ],
    );
    session
        .record_and_post(
            incident,
            EventKind::ActionRequested,
            format!(
                "run #{id}: {name} queued as the fallback of step {} of runbook {} (#{})",
                index + 1,
                runbook.name,
                runbook_run.id
            ),
            message,
        )
        .await?;
    Ok(true)
}

pub(super) async fn record_step_queued(
    session: &mut Session<'_>,
    incident: &Incident,
    runbook: &RunbookConfig,
    runbook_run: i64,
    index: usize,
    run: i64,
) -> Result<(), EngineError> {
    let action = runbook
        .steps
        .get(index)
        .map(|step| step.action.as_str())
        .unwrap_or_default();
    session
        .record(
            &incident.id,
            EventKind::ActionRequested,
            format!(
                "run #{run}: {action} queued as step {} of {} of runbook {} (#{runbook_run})",
                index + 1,
                runbook.steps.len(),
                runbook.name
            ),
        )
        .await?;
    Ok(())
}

/// Ends the runbook run, cancels its steps still waiting and skips those still
/// pending, and posts the recovery report; nothing if it had ended already.
async fn finish(
    session: &mut Session<'_>,
    incident: &Incident,
    runbook_run: &RunbookRun,
    ending: Ending,
) -> Result<(), EngineError> {
    let steps = session.tx.step_runs(runbook_run.id).await?;
    let status = match ending {
        Ending::Completed if render::every_step_recovered(&steps) => RunbookStatus::Succeeded,
        Ending::Completed | Ending::Stopped => RunbookStatus::Failed,
        Ending::Cancelled => RunbookStatus::Cancelled,
        Ending::Interrupted => RunbookStatus::Interrupted,
    };
    let now = session.now;
    if !session
        .tx
        .finish_runbook_run(runbook_run.id, status, now)
        .await?
    {
        return Ok(());
    }
    // Only a step queued again after a restart can still be waiting here.
    let by = runbook_run
        .cancel_requested_by
        .clone()
        .unwrap_or_else(|| UserId::new(SYSTEM_USER));
    for waiting in steps
        .iter()
        .filter(|run| matches!(run.status, RunStatus::Queued | RunStatus::AwaitingApproval))
    {
        session.tx.cancel_action_run(waiting.id, &by, now).await?;
    }
    session.tx.skip_pending_steps(runbook_run.id, now).await?;
    let steps = session.tx.step_runs(runbook_run.id).await?;
    let outcome = render::runbook_outcome(status, &steps);
    let report = render::recovery_report(&runbook_run.runbook, runbook_run.id, &outcome, &steps);
    session
        .record_and_post(
            incident,
            EventKind::RunbookFinished,
            format!(
                "runbook {} (#{}) {status}: {outcome}",
                runbook_run.runbook, runbook_run.id
            ),
            report,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(action: &str, fallback: Option<&str>, continue_on_failure: bool) -> RunbookStep {
        RunbookStep {
            action: action.into(),
            params: BTreeMap::new(),
            continue_on_failure,
            fallback: fallback.map(str::to_owned),
        }
    }

    fn at(index: usize, fallback: bool) -> StepRef {
        StepRef {
            runbook_run: 1,
            index,
            fallback,
        }
    }

    #[test]
    fn a_succeeded_step_leads_to_the_next_and_the_last_completes() {
        let steps = [step("a", None, false), step("b", None, false)];
        let next = next_move(&steps, at(0, false), RunStatus::Succeeded, false);
        assert_eq!(next, Next::Step(1));
        let next = next_move(&steps, at(1, false), RunStatus::Succeeded, false);
        assert_eq!(next, Next::Finish(Ending::Completed));
    }

    #[test]
    fn a_failed_step_runs_its_fallback_then_goes_on_if_it_succeeds() {
        let steps = [step("a", Some("a2"), false), step("b", None, false)];
        for failed in [RunStatus::Failed, RunStatus::TimedOut] {
            let next = next_move(&steps, at(0, false), failed, false);
            assert_eq!(next, Next::Fallback(0), "{failed}");
        }
        let next = next_move(&steps, at(0, true), RunStatus::Succeeded, false);
        assert_eq!(next, Next::Step(1));
    }

    #[test]
    fn a_failure_without_a_way_out_stops_unless_the_step_may_be_gone_past() {
        let steps = [step("a", Some("a2"), false), step("b", None, true)];
        let next = next_move(&steps, at(0, true), RunStatus::Failed, false);
        assert_eq!(
            next,
            Next::Finish(Ending::Stopped),
            "the fallback failed too"
        );
        let steps = [step("a", None, true), step("b", None, false)];
        let next = next_move(&steps, at(0, false), RunStatus::TimedOut, false);
        assert_eq!(next, Next::Step(1));
        let next = next_move(&steps, at(1, false), RunStatus::Failed, false);
        assert_eq!(next, Next::Finish(Ending::Stopped));
        let steps = [step("a", Some("a2"), true)];
        let next = next_move(&steps, at(0, true), RunStatus::Failed, false);
        assert_eq!(next, Next::Finish(Ending::Completed));
    }

    #[test]
    fn cancels_and_restarts_end_the_runbook_unless_the_step_runs_again() {
        let steps = [step("a", Some("a2"), true), step("b", None, false)];
        let next = next_move(&steps, at(0, false), RunStatus::Cancelled, false);
        assert_eq!(next, Next::Finish(Ending::Cancelled));
        let next = next_move(&steps, at(0, false), RunStatus::Succeeded, true);
        assert_eq!(next, Next::Finish(Ending::Cancelled), "cancelled meanwhile");
        let next = next_move(&steps, at(0, false), RunStatus::Interrupted, false);
        assert_eq!(next, Next::Finish(Ending::Interrupted));
        let next = next_move(&steps, at(0, false), RunStatus::Queued, false);
        assert_eq!(next, Next::Wait, "queued again after a restart");
        let next = next_move(&steps, at(0, false), RunStatus::Queued, true);
        assert_eq!(next, Next::Finish(Ending::Cancelled), "not once cancelled");
    }
}
