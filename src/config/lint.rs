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
    // An empty level is a problem already: loading refuses it.
    for (level, people) in &config.levels {
        let key = format!("levels.{level}");
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A paging severity that every check is happy with.
    const CLEAN: &str = r#"
[bot]
public_url = "https://warroom.test"

[[severity]]
name = "sev1"
respond_within = "15m"
update_every = "15m"
page = true
escalate = [{ after = "30m", to = "level2" }]

[people.alice]
slack = "U0ALICE001"
[people.erin]
discord = "100000000000000005"

[assign.sev1]
commander = "alice"
technical = "alice"
comms = "alice"
scribe = "alice"

[levels]
level2 = ["erin"]

[phrases]
investigating = "Looking."
identified = "Found it."
monitoring = "Watching."
resolved = "Fixed."

[actions.page-level2]
kind = "page"
target = "level2"
allowed_roles = ["commander"]
"#;

    fn warnings(text: &str) -> Vec<String> {
        let config = Config::from_toml_str(text).expect("a valid config");
        lint(&config).iter().map(ToString::to_string).collect()
    }

    fn assert_warns(text: &str, key: &str, needle: &str) {
        let found = warnings(text);
        assert!(
            found
                .iter()
                .any(|w| w.starts_with(&format!("warning: {key}: ")) && w.contains(needle)),
            "no warning at `{key}` containing `{needle}` in {found:#?}"
        );
    }

    #[test]
    fn a_config_a_team_would_want_has_no_warnings() {
        assert_eq!(warnings(CLEAN), Vec::<String>::new());
    }

    #[test]
    fn cadences_below_a_minute_are_flagged() {
        let fast = CLEAN
            .replace("update_every = \"15m\"", "update_every = \"30s\"")
            .replace("respond_within = \"15m\"", "respond_within = \"45s\"");
        assert_warns(
            &fast,
            "severity.sev1.update_every",
            "30s is below one minute",
        );
        assert_warns(
            &fast,
            "severity.sev1.respond_within",
            "45s is below one minute",
        );
    }

    #[test]
    fn a_paging_severity_with_nobody_to_call_in_is_flagged() {
        let alone = CLEAN.replace("escalate = [{ after = \"30m\", to = \"level2\" }]", "");
        assert_warns(&alone, "severity.sev1", "nobody else is paged");
    }

    #[test]
    fn level_people_nobody_can_reach_are_flagged() {
        let unreachable = CLEAN.replace("discord = \"100000000000000005\"", "email = \"e@x\"");
        assert_warns(
            &unreachable,
            "levels.level2",
            "erin has no Slack or Discord id",
        );
    }

    #[test]
    fn roles_left_open_at_a_paging_severity_are_flagged() {
        let open = CLEAN.replace("scribe = \"alice\"\n", "");
        assert_warns(&open, "assign.sev1", "nobody is assigned scribe");
        // The same gap at a severity that does not page is a choice, not a warning.
        let quiet = open.replace("page = true", "page = false");
        assert!(
            !warnings(&quiet).iter().any(|w| w.contains("scribe")),
            "{:?}",
            warnings(&quiet)
        );
    }

    #[test]
    fn actions_nobody_may_run_or_approve_are_flagged() {
        let config = CLEAN.replace("scribe = \"alice\"\n", "").replace(
            "allowed_roles = [\"commander\"]",
            "allowed_roles = [\"scribe\"]\napproval = \"scribe\"",
        );
        assert_warns(
            &config,
            "actions.page-level2.allowed_roles",
            "nobody may run it",
        );
        assert_warns(
            &config,
            "actions.page-level2.approval",
            "nobody may approve it",
        );
    }
}
