//! What `page` and `status` actions do, and approvals that run out.
//!
//! A page or status run has no program or request to wait for: its whole effect
//! is rows (page events in the outbox, a component's state). So the engine, not
//! the runner, carries it out, in the very transaction that finishes the run:
//! the run either happened completely and is reported once, or did not happen
//! at all and may safely be run again after a restart. Delivering the page stays
//! the outbox's job; a page PagerDuty refuses is reported in the room from there.
//!
//! A run waiting for approval is cancelled once its action's
//! `approval_expires_after` has passed, by whichever worker gets to it first:
//! the cancel is a compare-and-set in the same transaction as its timeline event
//! and its message, so it is reported once however many workers race for it.

use super::runbooks;
use super::session::{Session, SystemCaller};
use super::{Engine, EngineError, cadence};
use crate::actions::{self, Outcome, RunResult};
use crate::config::{ActionConfig, ActionKind, ComponentState, Config, PageTarget};
use crate::domain::{ActionRun, EventKind, Incident, RunStatus, UserId};
use crate::outbox::Operation;
use crate::render::{Inline, Message};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// What a page or status run writes, decided before its transaction.
pub(super) enum Effect {
    /// Pages each of these people (keys of `[people]`) and invites them.
    Page(Vec<String>),
    Status {
        component: String,
        state: ComponentState,
    },
}

/// Whether runs of `action` are carried out by the engine rather than the runner.
pub fn performed_by_engine(action: &ActionConfig) -> bool {
    matches!(action.kind, ActionKind::Page(_) | ActionKind::Status(_))
}

/// The people a page action reaches: the person, or every member of the level.
fn paged_people(config: &Config, target: &PageTarget) -> Vec<String> {
    match target {
        PageTarget::Person(person) => vec![person.clone()],
        PageTarget::Level(level) => config
            .level(level)
            .map(<[String]>::to_vec)
            .unwrap_or_default(),
    }
}

fn names(config: &Config, people: &[String]) -> String {
    let shown: Vec<&str> = people
        .iter()
        .map(|key| {
            config
                .person(key)
                .map_or(key.as_str(), |p| p.display_name())
        })
        .collect();
    shown.join(", ")
}

/// What running `action` with `params` would do, in one line, for a drill.
pub(super) fn describe(
    config: &Config,
    action: &ActionConfig,
    params: &BTreeMap<String, String>,
) -> String {
    match &action.kind {
        ActionKind::Page(page) => {
            format!(
                "page {}",
                names(config, &paged_people(config, &page.target))
            )
        }
        ActionKind::Status(status) => {
            format!(
                "set {} → {} on the status page",
                status.component, status.state
            )
        }
        ActionKind::Program(_) | ActionKind::Http(_) => actions::describe(action, params),
    }
}

/// Writes `effect` for `run` into the session's transaction.
pub(super) async fn apply(
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

/// The result an expired run is left with, and the reason a late approval is refused.
pub(super) fn approval_expired_result(action: &ActionConfig) -> String {
    format!(
        "approval expired after {}",
        humantime::format_duration(action.approval_expires_after)
    )
}

/// When `run`, waiting for approval, expires. A run whose action is no longer
/// configured can never be approved, so it expires at once.
pub(super) fn approval_deadline(config: &Config, run: &ActionRun) -> DateTime<Utc> {
    let after = config
        .action(&run.action)
        .map(|action| TimeDelta::from_std(action.approval_expires_after).unwrap_or(TimeDelta::MAX))
        .unwrap_or_default();
    run.created_at
        .checked_add_signed(after)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Engine {
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
                    let detail = format!("paged {}", names(config, &people));
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
        let Some(caller) = SystemCaller::for_incident(inner, &run.incident).await? else {
            return Ok(false);
        };
        let mut session = Session::begin(inner, &caller.actor, &caller.context).await?;
        let Some(incident) = session.tx.lock_incident(&run.incident).await? else {
            return Ok(false);
        };
        let now = session.now;
        if !session.tx.expire_action_run(run.id, &result, now).await? {
            return Ok(false);
        }
        session
            .record(
                &incident.id,
                EventKind::ActionCancelled,
                format!(
                    "run #{} ({}) {}: {result}",
                    run.id,
                    run.action,
                    RunStatus::Cancelled
                ),
            )
            .await?;
        let line = vec![
            Inline::Text(format!("Run #{} (", run.id)),
            Inline::Strong(run.action.clone()),
            Inline::Text(") ".into()),
            Inline::Strong(RunStatus::Cancelled.to_string()),
            Inline::Text(format!(": {result}. Run it again if it is still needed.")),
        ];
        session.post_in_room(&incident, Message::line(line)).await?;
        let ended = ActionRun {
            status: RunStatus::Cancelled,
            ..run.clone()
        };
        runbooks::after_step(&mut session, &incident, &ended).await?;
        let queued = session.queued;
        session.tx.commit().await?;
        inner.after_commit(queued, false);
        Ok(true)
    }
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
