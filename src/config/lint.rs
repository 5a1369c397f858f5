//! Process lint: what a valid config makes possible but no team wants, found
//! before an incident finds it. `warroom simulate` prints these warnings, and
//! `warroom check-config --strict` fails on them.
//!
//! Unlike a [`Problem`](super::Problem), a warning never stops warroom from
//! starting: each is a choice a team may have made on purpose.

use super::Config;
use crate::domain::Role;
use std::fmt;
use std::time::Duration;

/// Anything faster is a typo for minutes or hours: nobody can answer it.
const SHORTEST_CADENCE: Duration = Duration::from_secs(60);

/// One finding, located by its key path like a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "warning: {}: {}", self.key, self.message)
    }
}

/// Every warning about `config`, in the order of the file's sections.
pub fn lint(config: &Config) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let mut warn = |key: String, message: String| warnings.push(Warning { key, message });
    for severity in config.severities() {
        let key = format!("severity.{}", severity.name.as_str());
        for (name, every) in [
            ("respond_within", Some(severity.respond_within)),
            ("update_every", severity.update_every),
        ] {
            if let Some(every) = every.filter(|every| *every < SHORTEST_CADENCE) {
                warn(
                    format!("{key}.{name}"),
                    format!(
                        "{} is below one minute; nobody can keep up with it",
                        humantime::format_duration(every)
                    ),
                );
            }
        }
        if !severity.page {
            continue;
        }
        let called_in = severity.escalate.iter().any(|step| {
            config
                .level(&step.to)
                .is_some_and(|people| !people.is_empty())
        });
        if !called_in {
            warn(
                key.clone(),
                "pages on-call when declared, but no escalation level with people follows: \
                 if on-call does not answer, nobody else is paged"
                    .to_owned(),
            );
        }
        let assigned = config.assignment(&severity.name);
        for role in Role::ALL {
            // Without an assignment the declarer becomes commander.
            if role != Role::Commander && !assigned.iter().any(|(held, _)| *held == role) {
                warn(
                    format!("assign.{}", severity.name.as_str()),
                    format!(
                        "nobody is assigned {role} at a severity that pages; the role stays open until someone takes it"
                    ),
                );
            }
        }
    }
    for (level, people) in &config.levels {
        let key = format!("levels.{level}");
        if people.is_empty() {
            warn(key.clone(), "has nobody in it".to_owned());
        }
        for person in people {
            let reachable = config
                .person(person)
                .is_some_and(|person| person.slack.is_some() || person.discord.is_some());
            if !reachable {
                warn(
                    key.clone(),
                    format!(
                        "{person} has no Slack or Discord id, so an escalation can neither invite nor page them by name"
                    ),
                );
            }
        }
    }
    let given = |role: Role| {
        role == Role::Commander
            || config.severities().iter().any(|severity| {
                config
                    .assignment(&severity.name)
                    .iter()
                    .any(|(held, _)| *held == role)
            })
    };
    for action in config.actions().values() {
        let key = format!("actions.{}", action.name);
        if !action.allowed_roles.is_empty() && !action.allowed_roles.iter().any(|role| given(*role))
        {
            warn(
                format!("{key}.allowed_roles"),
                "no [assign] gives anyone these roles, so nobody may run it until someone takes one"
                    .to_owned(),
            );
        }
        if let Some(role) = action.approval.filter(|role| !given(*role)) {
            warn(
                format!("{key}.approval"),
                format!("no [assign] gives anyone the {role} role, so nobody may approve it"),
            );
        }
    }
    warnings
}
