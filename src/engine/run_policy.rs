//! What the engine's action rules say, before any transaction: who may run
//! what, the values an action's templates get from the incident, what a run
//! would do, when an approval expires, how a run asks for one, and the words
//! the room and a refused user are told about a run.
//!
//! Owns: those rules as plain functions of the config and the incident.
//! Must not: take a session, read or write the store, or call back into the
//! commands and reports built on it (`actions`, `runbooks`, `run_end`).

use super::{Stop, refuse};
use crate::actions::{self, ParamError};
use crate::command::ButtonAction;
use crate::config::{ActionConfig, ActionKind, Config, PageTarget};
use crate::domain::{ActionRun, Incident, Role, RunId, UserId};
use crate::render::{Block, Button, Inline, Message};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// Whether `user` holds one of the roles allowed to run `action` (any member
/// of the room when none is listed).
pub(super) fn may_run(incident: &Incident, action: &ActionConfig, user: &UserId) -> bool {
    action.allowed_roles.is_empty()
        || action
            .allowed_roles
            .iter()
            .any(|role| incident.holds(user, *role))
}

/// The roles allowed to run `action`, as a refusal names them: `commander or scribe`.
pub(super) fn allowed_roles(action: &ActionConfig) -> String {
    let roles: Vec<&str> = action.allowed_roles.iter().map(|r| r.title()).collect();
    roles.join(" or ").to_lowercase()
}

/// Whether `user` may cancel what `requested_by` started (a run or a runbook):
/// they themselves, whoever steers the incident, or whoever would approve it.
pub(super) fn may_cancel(
    incident: &Incident,
    requested_by: &UserId,
    approval: Option<Role>,
    user: &UserId,
) -> bool {
    requested_by == user
        || incident.may_steer(user)
        || approval.is_some_and(|role| incident.holds(user, role))
}

/// What an action or runbook takes, for a refusal, in words: its parameters
/// (`key=… (what it is)` each, or that it takes none), then where each of the
/// incident's own values that its templates use comes from.
pub(super) fn takes_in_words<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    from_incident: &[&str],
) -> String {
    let params: Vec<String> = params
        .into_iter()
        .map(|(key, description)| format!("{key}=… ({description})"))
        .collect();
    let mut words = if params.is_empty() {
        "It takes no parameters".to_owned()
    } else {
        format!("It takes: {}", params.join(", "))
    };
    let filled: Vec<String> = from_incident
        .iter()
        .map(|key| format!("{{{key}}} is {}", incident_value(key)))
        .collect();
    if !filled.is_empty() {
        words.push_str(&format!("; {}", filled.join(", ")));
    }
    words.push('.');
    words
}

/// Where the value of a built-in placeholder comes from, as [`with_builtins`] fills it.
fn incident_value(key: &str) -> &'static str {
    match key {
        "incident" => "the incident's id",
        "title" => "the incident's title",
        "severity" => "the incident's severity",
        "status" => "the incident's status",
        "service" => "the incident's first service= (empty without one)",
        "room" => "the incident's war room",
        _ => "the incident's",
    }
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

/// `params` as typed after an action's name: ` key=value` each.
pub(super) fn show_params(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(key, value)| format!(" {key}={value}"))
        .collect()
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

/// How the room hears what happened to a run: `{lead} #N (`**action**, then
/// `rest`, which goes on from the action's name (`) cancelled by …`).
pub(super) fn about_run(
    lead: &str,
    run: &ActionRun,
    rest: impl IntoIterator<Item = Inline>,
) -> Message {
    let mut line = vec![
        Inline::Text(format!("{lead} #{} (", run.id)),
        Inline::Strong(run.action.clone()),
    ];
    line.extend(rest);
    Message::line(line)
}

/// How the room hears what happened to a runbook: `Runbook `**name**, then `rest`.
pub(super) fn about_runbook(name: &str, rest: impl IntoIterator<Item = Inline>) -> Message {
    let mut line = vec![
        Inline::Text("Runbook ".into()),
        Inline::Strong(name.to_owned()),
    ];
    line.extend(rest);
    Message::line(line)
}

/// The refusal for approving a run that no longer waits for approval.
pub(super) fn not_awaiting_approval(run: &ActionRun) -> Stop {
    refuse(format!(
        "Run #{} is not waiting for approval (it is {}).",
        run.id, run.status
    ))
}

/// The refusal for cancelling a run that is past cancelling.
pub(super) fn cannot_cancel(run: &ActionRun) -> Stop {
    refuse(format!(
        "Run #{} cannot be cancelled: it is {}.",
        run.id, run.status
    ))
}

/// Whether runs of `action` are carried out by the engine rather than the runner.
pub fn performed_by_engine(action: &ActionConfig) -> bool {
    matches!(action.kind, ActionKind::Page(_) | ActionKind::Status(_))
}

/// The people a page action reaches: the person, or every member of the level.
pub(super) fn paged_people(config: &Config, target: &PageTarget) -> Vec<String> {
    match target {
        PageTarget::Person(person) => vec![person.clone()],
        PageTarget::Level(level) => config
            .level(level)
            .map(<[String]>::to_vec)
            .unwrap_or_default(),
    }
}

/// The configured names of `people` (keys of `[people]`), for a message.
pub(super) fn people_names(config: &Config, people: &[String]) -> String {
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
                people_names(config, &paged_people(config, &page.target))
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

/// A step's parameters before checking: the step's fixed `params`, then those
/// given on the command that the action takes and the step does not fix.
pub(super) fn step_params(
    action: &ActionConfig,
    fixed: &BTreeMap<String, String>,
    given: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut params = fixed.clone();
    for (key, value) in given {
        if action.params.contains_key(key) && !fixed.contains_key(key) {
            params.insert(key.clone(), value.clone());
        }
    }
    params
}
