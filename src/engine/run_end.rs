//! How action runs end: the worker's report of a program or request, the
//! engine's own carrying out of `page` and `status` runs, a run abandoned by a
//! stopped worker, and an approval that ran out. Each is one transaction as the
//! system user that records the end, tells the room and, for a runbook step,
//! decides what follows.
//!
//! A page or status run has no program or request to wait for: its whole effect
//! is rows (page events in the outbox, a component's state). So the engine, not
//! the runner, carries it out, in the very transaction that finishes the run:
//! the run either happened completely and is reported once, or did not happen
//! at all and may safely be run again after a restart. Delivering the page stays
//! the dispatcher's job; a page PagerDuty refuses is reported in the room from there.
//!
//! A run waiting for approval is cancelled once its action's
//! `approval_expires_after` has passed, by whichever worker gets to it first:
//! the cancel is a compare-and-set in the same transaction as its timeline event
//! and its message, so it is reported once however many workers race for it.

use super::run_policy::{
    about_run, approval_deadline, approval_expired_result, paged_people, people_names,
};
use super::runbooks;
use super::session::Session;
use super::{Engine, EngineError, cadence};
use crate::actions::{Outcome, RunResult};
use crate::config::{ActionKind, ComponentState};
use crate::domain::{ActionRun, EventKind, Incident, RunStatus, UserId};
use crate::outbox::Operation;
use crate::render::{Block, Inline};
use crate::store::RunReport;

/// What a page or status run writes, decided before its transaction.
enum Effect {
    /// Pages each of these people (keys of `[people]`) and invites them.
    Page(Vec<String>),
    Status {
        component: String,
        state: ComponentState,
    },
}

/// Writes `effect` for `run` into the session's transaction.
async fn apply(
    session: &mut Session<'_>,
    incident: &Incident,
    run: &ActionRun,
    effect: &Effect,
) -> Result<(), EngineError> {
    match effect {
        Effect::Page(people) => page(session, incident, run, people).await,
        Effect::Status { component, state } => {
            let by = run.approved_by.as_ref().unwrap_or(&run.requested_by);
            let now = session.now;
            session
                .tx
                .set_component_state(component, *state, Some(&incident.id), by.as_str(), now)
                .await?;
            Ok(())
        }
    }
}

/// One page per person, each its own PagerDuty alert (`<incident>/run-<n>/<person>`)
/// so acknowledging or resolving the incident later reaches every one of them.
async fn page(
    session: &mut Session<'_>,
    incident: &Incident,
    run: &ActionRun,
    people: &[String],
) -> Result<(), EngineError> {
    let config = session.config();
    let users: Vec<UserId> = people
        .iter()
        .filter_map(|person| config.person_id(person, incident.platform))
        .collect();
    if !users.is_empty() {
        session
            .enqueue(incident, Operation::Invite { users })
            .await?;
    }
    let reason = run
        .params
        .get("reason")
        .filter(|reason| !reason.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| format!("paged by run #{} of {}", run.id, run.action));
    let summary = format!(
        "[{}] {} ({}): {reason}",
        incident.severity, incident.title, incident.id
    );
    for person in people {
        let dedup_key = format!("{}/run-{}/{person}", incident.id, run.id);
        cadence::page(session, incident, person, dedup_key, summary.clone()).await?;
    }
    Ok(())
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
    async fn finish_run(
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
        let Some((mut session, incident)) = Session::as_system(&self.inner, &run.incident).await?
        else {
            return Ok(false);
        };
        if let Some(effect) = effect {
            apply(&mut session, &incident, run, effect).await?;
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
        let end = Told {
            kind: EventKind::ActionFinished,
            status,
            now_status,
            detail,
            hint: "",
            output,
        };
        tell_end(session, &incident, run, end).await
    }

    /// Carries out a page or status run the worker `owner` holds and finishes
    /// it, both in one transaction, posting the result like any other run's.
    /// False if the run was no longer the worker's (then nothing happened).
    pub async fn perform_action(&self, run: &ActionRun, owner: &str) -> Result<bool, EngineError> {
        let config = self.config();
        let Some(action) = config.action(&run.action) else {
            return Ok(false);
        };
        let (effect, outcome) = match &action.kind {
            ActionKind::Page(page) => {
                let people = paged_people(config, &page.target);
                if self.inner.settings.paging {
                    let detail = format!("paged {}", people_names(config, &people));
                    (
                        Some(Effect::Page(people)),
                        done(RunResult::Succeeded, detail),
                    )
                } else {
                    let detail =
                        "nobody was paged: paging is off (PAGERDUTY_ROUTING_KEY is not set)";
                    (None, done(RunResult::Failed, detail.to_owned()))
                }
            }
            ActionKind::Status(status) => {
                let detail = format!("{} → {}", status.component, status.state);
                let effect = Effect::Status {
                    component: status.component.clone(),
                    state: status.state,
                };
                (Some(effect), done(RunResult::Succeeded, detail))
            }
            ActionKind::Program(_) | ActionKind::Http(_) => return Ok(false),
        };
        self.finish_run(run, owner, &outcome, effect.as_ref()).await
    }

    /// Cancels `run` if it is still waiting for approval and its time for one
    /// has passed, records it and tells the room; false otherwise (not due yet,
    /// or approved, denied or expired already, possibly by another worker).
    pub async fn approval_expired(&self, run: &ActionRun) -> Result<bool, EngineError> {
        let inner = &*self.inner;
        if inner.clock.now() < approval_deadline(&inner.config, run) {
            return Ok(false);
        }
        let result = match inner.config.action(&run.action) {
            Some(action) => approval_expired_result(action),
            None => format!("approval expired: `{}` is no longer configured", run.action),
        };
        let Some((mut session, incident)) = Session::as_system(inner, &run.incident).await? else {
            return Ok(false);
        };
        let now = session.now;
        if !session.tx.expire_action_run(run.id, &result, now).await? {
            return Ok(false);
        }
        let end = Told {
            kind: EventKind::ActionCancelled,
            status: RunStatus::Cancelled,
            now_status: RunStatus::Cancelled,
            detail: &result,
            hint: ". Run it again if it is still needed.",
            output: "",
        };
        tell_end(session, &incident, run, end).await
    }
}

/// How a run's end is told.
struct Told<'a> {
    /// The timeline event that records it.
    kind: EventKind,
    /// What the run ended as, and its status now: an interrupted run of a
    /// `rerun_on_restart` action is queued again.
    status: RunStatus,
    now_status: RunStatus,
    detail: &'a str,
    /// For the room only, after `detail`: what to do next.
    hint: &'a str,
    /// For the room only, below: what the run printed.
    output: &'a str,
}

/// The close of every transaction that ends a run: the timeline and the room
/// are told how it ended, its runbook (if any) goes on, and it all commits.
async fn tell_end(
    mut session: Session<'_>,
    incident: &Incident,
    run: &ActionRun,
    end: Told<'_>,
) -> Result<bool, EngineError> {
    let Told {
        kind,
        status,
        now_status,
        detail,
        hint,
        output,
    } = end;
    let mut message = about_run(
        "Run",
        run,
        [
            Inline::Text(") ".into()),
            Inline::Strong(status.to_string()),
            Inline::Text(format!(": {detail}{hint}")),
        ],
    );
    if !output.is_empty() {
        message
            .blocks
            .push(Block::Paragraph(vec![Inline::Text(output.to_owned())]));
    }
    session
        .record_and_post(
            incident,
            kind,
            format!("run #{} ({}) {status}: {detail}", run.id, run.action),
            message,
        )
        .await?;
    runbooks::after_step(&mut session, incident, run.step, now_status).await?;
    session.commit().await?;
    Ok(true)
}

fn done(result: RunResult, detail: String) -> Outcome {
    Outcome {
        result,
        detail,
        output: String::new(),
        output_hash: String::new(),
        attempts: 1,
    }
}
