//! Runbooks as incident events: `/incident run <runbook>`, its approval and
//! cancel; what follows the end of each step is in [`steps`].
//!
//! A runbook run is a row, and each of its steps an ordinary action run linked
//! to it: every step is created `pending` up front (the first one queued, or
//! waiting for approval), so the plan is on record, and the action worker runs
//! them like any run.

mod steps;

pub(in crate::engine) use steps::after_step;

use super::run_policy::{
    self, about_runbook, allowed_roles, approval_request, cannot_cancel, may_cancel, may_run,
    not_awaiting_approval, param_problems, step_params, takes_in_words, with_builtins,
};
use super::session::Session;
use super::{Reply, Stop, mention, refuse};
use crate::actions;
use crate::command::Params;
use crate::config::{ActionConfig, Config, RunbookConfig};
use crate::domain::{
    ActionRun, EventKind, Incident, Role, RunStatus, RunbookRun, RunbookStatus, StepRef, UserId,
};
use crate::render::{self, Block, Inline, Message};
use crate::store::NewRun;
use std::collections::{BTreeMap, BTreeSet};
use steps::record_step_queued;

/// The action names a runbook may run, in order: each step's, then its fallback's.
fn runbook_actions(runbook: &RunbookConfig) -> impl Iterator<Item = &str> {
    runbook
        .steps
        .iter()
        .flat_map(|step| std::iter::once(&step.action).chain(&step.fallback))
        .map(String::as_str)
}

/// Who approves a runbook, if any of its steps or fallbacks needs approval. A
/// runbook is approved once, up front: by the role those actions name, or by
/// the commander when they name different roles.
fn approval_role(config: &Config, runbook: &RunbookConfig) -> Option<Role> {
    let mut roles = runbook_actions(runbook).filter_map(|name| config.action(name)?.approval);
    let first = roles.next()?;
    Some(if roles.all(|role| role == first) {
        first
    } else {
        Role::Commander
    })
}

/// One step as it will run: its action and checked parameters, and its fallback's.
struct Planned<'c> {
    action: &'c ActionConfig,
    params: BTreeMap<String, String>,
    fallback: Option<(&'c ActionConfig, BTreeMap<String, String>)>,
}

/// Checks that `me` may run every step and fallback and that the given
/// parameters fill every one of them; the refusal names what is wrong.
fn plan<'c>(
    config: &'c Config,
    incident: &Incident,
    runbook: &RunbookConfig,
    given: &BTreeMap<String, String>,
    me: &UserId,
) -> Result<Vec<Planned<'c>>, Stop> {
    let name = &runbook.name;
    let mut denied = Vec::new();
    let mut checked = BTreeSet::new();
    for action_name in runbook_actions(runbook) {
        if !checked.insert(action_name) {
            continue;
        }
        let Some(action) = config.action(action_name) else {
            return Err(refuse(format!(
                "Runbook `{name}` names the action `{action_name}`, which is no longer configured."
            )));
        };
        if !may_run(incident, action, me) {
            denied.push(format!("`{action_name}` ({} only)", allowed_roles(action)));
        }
    }
    if !denied.is_empty() {
        return Err(refuse(format!(
            "Runbook `{name}` was not started: in {}, you may not run {}.",
            incident.id,
            denied.join(", ")
        )));
    }

    let mut takes: BTreeMap<&str, &str> = BTreeMap::new();
    let mut from_incident: BTreeSet<&str> = BTreeSet::new();
    let mut problems = Vec::new();
    let mut planned = Vec::new();
    let no_params = BTreeMap::new();
    for (index, step) in runbook.steps.iter().enumerate() {
        let mut check = |action_name: &str, fixed: &BTreeMap<String, String>, what: String| {
            let action = config.action(action_name)?;
            from_incident.extend(action.filled_from_incident());
            for (key, spec) in &action.params {
                if !fixed.contains_key(key) {
                    takes.entry(key).or_insert(&spec.description);
                }
            }
            match actions::resolve(action, &step_params(action, fixed, given)) {
                Ok(params) => Some((action, params)),
                Err(error) => {
                    problems.push(format!(
                        "{what} `{action_name}`: {}",
                        param_problems(&error)
                    ));
                    None
                }
            }
        };
        let main = check(&step.action, &step.params, format!("step {}", index + 1));
        let fallback = step.fallback.as_deref().and_then(|fallback| {
            check(
                fallback,
                &no_params,
                format!("the fallback of step {}", index + 1),
            )
        });
        if let Some((action, params)) = main {
            planned.push(Planned {
                action,
                params,
                fallback,
            });
        }
    }
    let unknown: Vec<&str> = given
        .keys()
        .map(String::as_str)
        .filter(|key| !takes.contains_key(key))
        .collect();
    if !unknown.is_empty() {
        problems.push(format!("unknown: {}", unknown.join(", ")));
    }
    if problems.is_empty() {
        return Ok(planned);
    }
    Err(refuse(format!(
        "Runbook `{name}` was not started ({}). {}",
        problems.join("; "),
        takes_in_words(takes, &from_incident.into_iter().collect::<Vec<_>>())
    )))
}

/// `/incident run <runbook>`: checks permissions and parameters for every step
/// up front, records the runbook run and its steps, and queues the first step,
/// or asks for the approval the runbook needs.
pub(super) async fn start(
    session: &mut Session<'_>,
    incident: Incident,
    runbook: &RunbookConfig,
    params: Params,
) -> Result<Reply, Stop> {
    let config = session.config();
    let me = session.me().clone();
    let given: BTreeMap<String, String> = params.into_iter().collect();
    let planned = plan(config, &incident, runbook, &given, &me)?;
    if incident.drill {
        return dry_run(session, &incident, runbook, &planned).await;
    }
    let approval = approval_role(config, runbook);
    let (status, first_status) = match approval {
        Some(_) => (RunbookStatus::AwaitingApproval, RunStatus::AwaitingApproval),
        None => (RunbookStatus::Running, RunStatus::Queued),
    };
    let now = session.now;
    let runbook_run = session
        .tx
        .request_runbook_run(&incident.id, &runbook.name, &given, status, &me, now)
        .await?;
    let mut first_run = 0;
    for (index, step) in planned.iter().enumerate() {
        let values = with_builtins(&incident, step.params.clone());
        let place = StepRef {
            runbook_run,
            index,
            fallback: false,
        };
        let status = if index == 0 {
            first_status
        } else {
            RunStatus::Pending
        };
        let run = NewRun {
            action: &step.action.name,
            params: &values,
            status,
            step: Some(place),
        };
        let id = session.tx.request_run(&incident.id, &run, &me, now).await?;
        if index == 0 {
            first_run = id;
        }
    }
    let name = &runbook.name;
    let steps = render::runbook_steps(runbook);
    let mut line = vec![
        mention(&me),
        Inline::Text(" started runbook ".into()),
        Inline::Strong(name.clone()),
        Inline::Text(format!(" (#{runbook_run}): {steps}. ")),
    ];
    let message = match approval {
        Some(role) => {
            session
                .record(
                    &incident.id,
                    EventKind::ActionRequested,
                    format!(
                        "runbook {name} (#{runbook_run}) requested by {me}; it needs the {}'s approval",
                        role.title().to_lowercase()
                    ),
                )
                .await?;
            line.push(Inline::Text(format!(
                "It needs the {}'s approval, once, before step 1 (run #{first_run}) starts.",
                role.title().to_lowercase()
            )));
            approval_request(&incident, first_run, line)
        }
        None => {
            session
                .record(
                    &incident.id,
                    EventKind::RunbookStarted,
                    format!("runbook {name} (#{runbook_run}) started by {me}: {steps}"),
                )
                .await?;
            record_step_queued(session, &incident, runbook, runbook_run, 0, first_run).await?;
            session.wake.actions = true;
            line.push(Inline::Text(format!(
                "Step 1 is queued as run #{first_run}."
            )));
            Message::line(line)
        }
    };
    session.post_in_room(&incident, message).await?;
    Ok(Reply::ephemeral(match approval {
        Some(_) => format!("Runbook `{name}` is waiting for approval (run #{first_run})."),
        None => format!("Runbook `{name}` started: step 1 is run #{first_run}."),
    }))
}

/// A drill runs nothing: the room is shown, step by step, exactly what would be
/// executed, fallbacks included.
async fn dry_run(
    session: &mut Session<'_>,
    incident: &Incident,
    runbook: &RunbookConfig,
    planned: &[Planned<'_>],
) -> Result<Reply, Stop> {
    let config = session.config();
    let describe = |action: &ActionConfig, params: &BTreeMap<String, String>| {
        run_policy::describe(config, action, &with_builtins(incident, params.clone()))
    };
    let name = &runbook.name;
    let mut blocks = vec![Block::Paragraph(vec![
        Inline::Text("Dry run of runbook ".into()),
        Inline::Strong(name.clone()),
        Inline::Text(" (drill), nothing was run. Step by step, it would execute:".into()),
    ])];
    let mut recorded = Vec::new();
    for ((index, step), config) in planned.iter().enumerate().zip(&runbook.steps) {
        let would = describe(step.action, &step.params);
        recorded.push(format!("{}. {would}", index + 1));
        let goes_on = if config.continue_on_failure {
            " (the runbook goes on if it fails)"
        } else {
            ""
        };
        blocks.push(Block::Paragraph(vec![
            Inline::Text(format!("{}. {}{goes_on}: ", index + 1, step.action.name)),
            Inline::Strong(would),
        ]));
        if let Some((fallback, params)) = &step.fallback {
            let would = describe(fallback, params);
            recorded.push(format!("if it fails, {would}"));
            blocks.push(Block::Paragraph(vec![
                Inline::Text(format!(
                    "    if step {} fails, its fallback {}: ",
                    index + 1,
                    fallback.name
                )),
                Inline::Strong(would),
            ]));
        }
    }
    session
        .record_and_post(
            incident,
            EventKind::ActionRequested,
            format!("dry run of runbook {name}: {}", recorded.join("; ")),
            Message { blocks },
        )
        .await?;
    Ok(Reply::ephemeral(format!(
        "Drill: runbook `{name}` was not run; the room shows what each step would execute."
    )))
}

/// Approves a runbook through its first step's run. The Approve / Deny buttons
/// and `/incident approve <run>` name that run, so they work exactly as for a
/// single action, and the compare-and-set on the run's status makes a
/// double-clicked Approve start the runbook once; the runbook run follows in
/// the same transaction.
pub(super) async fn approve(
    session: &mut Session<'_>,
    incident: &Incident,
    run: ActionRun,
    step: StepRef,
) -> Result<Reply, Stop> {
    let (runbook_run, runbook) = find(session, incident, step).await?;
    let me = session.me().clone();
    let role = approval_role(session.config(), runbook).unwrap_or(Role::Commander);
    let name = &runbook.name;
    if !incident.holds(&me, role) {
        return Err(refuse(format!(
            "Only the {} of {} approves runbook `{name}` (run #{}).",
            role.title().to_lowercase(),
            incident.id,
            run.id
        )));
    }
    let now = session.now;
    if !session.tx.approve_action_run(run.id, &me).await?
        || !session
            .tx
            .start_runbook_run(runbook_run.id, &me, now)
            .await?
    {
        return Err(not_awaiting_approval(&run));
    }
    let id = runbook_run.id;
    session
        .record(
            &incident.id,
            EventKind::ActionApproved,
            format!("runbook {name} (#{id}) approved by {me}"),
        )
        .await?;
    session
        .record(
            &incident.id,
            EventKind::RunbookStarted,
            format!(
                "runbook {name} (#{id}) started: {}; requested by {}, approved by {me}",
                render::runbook_steps(runbook),
                runbook_run.requested_by
            ),
        )
        .await?;
    record_step_queued(session, incident, runbook, id, 0, run.id).await?;
    session.wake.actions = true;
    let message = about_runbook(
        name,
        [
            Inline::Text(" approved by ".into()),
            mention(&me),
            Inline::Text(format!("; step 1 is queued as run #{}.", run.id)),
        ],
    );
    session.post_in_room(incident, message).await?;
    Ok(Reply::ephemeral(format!(
        "Runbook `{name}` approved; run #{} is queued.",
        run.id
    )))
}

/// Cancelling any run of a runbook cancels the runbook: a step waiting to run
/// is cancelled and the runbook ends at once; a running step is stopped (as a
/// single run is), and whatever it returns, no later step starts.
pub(super) async fn cancel(
    session: &mut Session<'_>,
    incident: &Incident,
    step: StepRef,
) -> Result<Reply, Stop> {
    let (runbook_run, runbook) = find(session, incident, step).await?;
    let me = session.me().clone();
    let name = &runbook.name;
    let approval = approval_role(session.config(), runbook);
    if !may_cancel(incident, &runbook_run.requested_by, approval, &me) {
        return Err(refuse(format!(
            "Only whoever started runbook `{name}` or the commander may cancel it."
        )));
    }
    if runbook_run.status.is_final() {
        return Err(refuse(format!(
            "Runbook `{name}` (#{}) is over: it {}.",
            runbook_run.id, runbook_run.status
        )));
    }
    let steps = session.tx.step_runs(runbook_run.id).await?;
    let Some(active) = steps.into_iter().find(|run| {
        matches!(
            run.status,
            RunStatus::AwaitingApproval | RunStatus::Queued | RunStatus::Running
        )
    }) else {
        return Err(refuse(format!(
            "Runbook `{name}` has no step to cancel right now; try again in a moment."
        )));
    };
    // A running step is asked to stop and ends when its worker reports back; a
    // step that never started ends here, and with it the runbook.
    let running = active.status == RunStatus::Running;
    let (event, message, reply) = if running {
        if !session
            .tx
            .request_cancel_runbook_run(runbook_run.id, &me)
            .await?
        {
            return Err(refuse(format!(
                "Runbook `{name}` is already being cancelled."
            )));
        }
        session.tx.request_stop_action_run(active.id, &me).await?;
        let line = vec![
            Inline::Text("Cancelling runbook ".into()),
            Inline::Strong(name.clone()),
            Inline::Text(format!(": stopping run #{} (", active.id)),
            Inline::Strong(active.action.clone()),
            Inline::Text("); no later step will start. Asked by ".into()),
            mention(&me),
            Inline::Text(".".into()),
        ];
        (
            format!(
                "runbook {name} (#{}) cancelled by {me}; stop of running run #{} requested",
                runbook_run.id, active.id
            ),
            Message::line(line),
            format!(
                "Runbook `{name}` is being cancelled: run #{} is being stopped.",
                active.id
            ),
        )
    } else {
        let now = session.now;
        if !session.tx.cancel_action_run(active.id, &me, now).await? {
            return Err(cannot_cancel(&active));
        }
        let said = [
            Inline::Text(" cancelled by ".into()),
            mention(&me),
            Inline::Text(".".into()),
        ];
        (
            format!("run #{} cancelled by {me}", active.id),
            about_runbook(name, said),
            format!("Runbook `{name}` cancelled."),
        )
    };
    session
        .record_and_post(incident, EventKind::ActionCancelled, event, message)
        .await?;
    if !running {
        after_step(session, incident, active.step, RunStatus::Cancelled).await?;
    }
    Ok(Reply::ephemeral(reply))
}

/// The runbook run a step belongs to, and its config.
async fn find<'c>(
    session: &mut Session<'c>,
    incident: &Incident,
    step: StepRef,
) -> Result<(RunbookRun, &'c RunbookConfig), Stop> {
    let runbook_run = session
        .tx
        .runbook_run(&incident.id, step.runbook_run)
        .await?
        .ok_or_else(|| {
            refuse(format!(
                "There is no runbook run #{} in {}.",
                step.runbook_run, incident.id
            ))
        })?;
    let runbook = session
        .config()
        .runbook(&runbook_run.runbook)
        .ok_or_else(|| {
            refuse(format!(
                "Runbook `{}` is no longer configured.",
                runbook_run.runbook
            ))
        })?;
    Ok((runbook_run, runbook))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunbookStep;

    #[test]
    fn given_params_fill_only_what_the_step_does_not_fix() {
        let config = Config::from_toml_str(
            "[bot]\npublic_url = \"https://w.test\"\n\
             [[severity]]\nname = \"sev1\"\nrespond_within = \"15m\"\n\
             [phrases]\ninvestigating = \"a\"\nidentified = \"b\"\nmonitoring = \"c\"\nresolved = \"d\"\n\
             [actions.restart]\nkind = \"program\"\nprogram = \"/bin/true\"\nargs = [\"{target}\"]\n\
             params = { target = { required = true } }\napproval = \"technical\"\n\
             [actions.flush]\nkind = \"program\"\nprogram = \"/bin/true\"\napproval = \"commander\"\n",
        )
        .unwrap();
        let action = config.action("restart").unwrap();
        let fixed = BTreeMap::from([("target".to_owned(), "db".to_owned())]);
        let given = BTreeMap::from([
            ("target".to_owned(), "api".to_owned()),
            ("other".to_owned(), "x".to_owned()),
        ]);
        assert_eq!(step_params(action, &fixed, &given), fixed);
        assert_eq!(
            step_params(action, &BTreeMap::new(), &given),
            BTreeMap::from([("target".to_owned(), "api".to_owned())])
        );
        let runbook = |actions: &[&str]| RunbookConfig {
            name: "r".into(),
            description: String::new(),
            steps: actions
                .iter()
                .map(|action| RunbookStep {
                    action: (*action).into(),
                    params: BTreeMap::new(),
                    continue_on_failure: false,
                    fallback: None,
                })
                .collect(),
        };
        assert_eq!(
            approval_role(&config, &runbook(&["restart"])),
            Some(Role::Technical)
        );
        assert_eq!(
            approval_role(&config, &runbook(&["restart", "flush"])),
            Some(Role::Commander),
            "different roles: the commander approves"
        );
    }
}
