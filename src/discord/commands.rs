//! The `/incident` application command: its definition (a subcommand for each
//! entry of [`Subcommand::ALL`] it offers, with typed options, severity choices from
//! config and `run` autocomplete), and the mapping of a used command's options onto
//! the same [`Command`] the text parser produces.
//!
//! Owns: option names and types, and turning option values into domain values
//! with the domain's own checks. Must not: parse `/incident` text (Discord sends
//! the values apart; there is nothing to parse twice) or decide anything.

use super::wire::{BOOLEAN, CommandOption, INTEGER, STRING, SUB_COMMAND, USER};
use crate::command::{self, Command, Params, SeverityWords, Subcommand, UserRef};
use crate::config::Config;
use crate::domain::{IncidentId, Role, RunId, Status, Title, UserId, UserText};
use chrono::{NaiveDate, NaiveTime};
use serde_json::{Value, json};

/// The command's name as users type it.
pub const COMMAND_NAME: &str = "incident";
/// Discord shows at most 25 choices.
const CHOICES_MAX: usize = 25;
/// `/incident stats` windows, in days.
const WINDOWS: [u32; 3] = [7, 30, 90];
const DEFAULT_WINDOW: u32 = 30;

/// The bulk-overwrite body: the `/incident` command with every subcommand.
pub fn definition(config: &Config) -> Value {
    let severity_choices: Vec<Value> = config
        .severities()
        .iter()
        .take(CHOICES_MAX)
        .map(|severity| {
            let name = if severity.label.is_empty() {
                severity.name.as_str().to_string()
            } else {
                format!("{} — {}", severity.name.as_str(), severity.label)
            };
            json!({ "name": clip(&name, 100), "value": severity.name.as_str() })
        })
        .collect();
    let severity = |required| {
        json!({
            "type": STRING, "name": "severity", "description": "How bad it is",
            "required": required, "choices": severity_choices,
        })
    };
    let role_choices: Vec<Value> = Role::ALL
        .iter()
        .map(|role| json!({ "name": role.title(), "value": role.as_str() }))
        .collect();
    let status_choices: Vec<Value> = Status::ALL
        .iter()
        .map(|status| json!({ "name": status.as_str(), "value": status.as_str() }))
        .collect();
    let window_choices: Vec<Value> = WINDOWS
        .iter()
        .map(|days| json!({ "name": format!("last {days} days"), "value": format!("{days}d") }))
        .collect();
    let incident = json!({
        "type": STRING, "name": "incident",
        "description": "The incident (INC-YYYYMMDD-NNN); implied inside its war room",
        "required": false, "max_length": 32,
    });
    let text = |name: &str, description: &str, required: bool, max: usize| {
        json!({
            "type": STRING, "name": name, "description": description,
            "required": required, "max_length": max,
        })
    };
    let offered = |sub: Subcommand| -> Option<(&str, Vec<Value>)> {
        Some(match sub {
            Subcommand::Declare => (
                "Declare an incident and open its war room",
                vec![
                    severity(config.default_severity().is_none()),
                    text("title", "What is wrong", true, Title::MAX_CHARS),
                    text(
                        "services",
                        "Affected services, separated by spaces or commas",
                        false,
                        500,
                    ),
                    json!({ "type": BOOLEAN, "name": "drill", "description": "A practice run", "required": false }),
                    json!({ "type": BOOLEAN, "name": "private", "description": "A private thread; announced without its title", "required": false }),
                ],
            ),
            Subcommand::Role => (
                "Give someone an incident role",
                vec![
                    json!({ "type": STRING, "name": "role", "description": "The role", "required": true, "choices": role_choices }),
                    json!({ "type": USER, "name": "user", "description": "Who takes it", "required": true }),
                ],
            ),
            Subcommand::Ack => ("Acknowledge the page", vec![]),
            Subcommand::Status => (
                "Set the status, with an optional update",
                vec![
                    json!({ "type": STRING, "name": "status", "description": "The new status", "required": true, "choices": status_choices }),
                    text(
                        "text",
                        "An update to post with it",
                        false,
                        UserText::MAX_CHARS,
                    ),
                ],
            ),
            Subcommand::Update => (
                "Post a status update now",
                vec![text("text", "The update", true, UserText::MAX_CHARS)],
            ),
            // Discord snoozes through the reminder's Snooze button only.
            Subcommand::Snooze => return None,
            Subcommand::Severity => ("Change the severity", vec![severity(true)]),
            Subcommand::Note => (
                "Add a timeline entry",
                vec![
                    text("text", "What happened", true, UserText::MAX_CHARS),
                    text(
                        "time",
                        "When, as HH:MM today (scribe or commander)",
                        false,
                        5,
                    ),
                ],
            ),
            Subcommand::Run => (
                "Run an action or runbook",
                vec![
                    json!({ "type": STRING, "name": "action", "description": "The action or runbook", "required": true, "autocomplete": true }),
                    text("params", "Parameters as key=value words", false, 1000),
                ],
            ),
            Subcommand::Approve => (
                "Approve a run that waits for approval",
                vec![text("run", "The run, e.g. 7", true, 64)],
            ),
            Subcommand::Cancel => (
                "Cancel a run",
                vec![text("run", "The run, e.g. 7", true, 64)],
            ),
            Subcommand::Actions => ("What can be run here", vec![]),
            Subcommand::FollowUp => (
                "Record a follow-up",
                vec![
                    text("text", "What needs to be done", true, UserText::MAX_CHARS),
                    json!({ "type": USER, "name": "owner", "description": "Who owns it", "required": false }),
                    text("due", "Due date, YYYY-MM-DD", false, 10),
                ],
            ),
            Subcommand::FollowUpDone => (
                "Mark a follow-up done",
                vec![
                    json!({ "type": INTEGER, "name": "number", "description": "Its number in /incident followups", "required": true, "min_value": 1 }),
                ],
            ),
            Subcommand::FollowUps => ("List the follow-ups", vec![]),
            Subcommand::Resolve => (
                "Resolve the incident",
                vec![text(
                    "summary",
                    "What happened, in a sentence",
                    false,
                    UserText::MAX_CHARS,
                )],
            ),
            Subcommand::Postmortem => ("Draft the postmortem", vec![]),
            Subcommand::Timeline => ("Show the timeline", vec![]),
            Subcommand::Summary => ("The incident's state in one message", vec![]),
            Subcommand::List => ("List open incidents", vec![]),
            Subcommand::Stats => (
                "Incident statistics",
                vec![
                    json!({ "type": STRING, "name": "window", "description": "Over how long (default 30 days)", "required": false, "choices": window_choices }),
                ],
            ),
            Subcommand::Help => (
                "How to use /incident",
                vec![text("topic", "A subcommand to explain", false, 32)],
            ),
        })
    };
    let subcommands: Vec<Value> = Subcommand::ALL
        .into_iter()
        .filter_map(|sub| {
            let (description, mut options) = offered(sub)?;
            if sub.names_incident() {
                options.push(incident.clone());
            }
            // Discord wants required options first.
            options.sort_by_key(|option| !option["required"].as_bool().unwrap_or(false));
            Some(json!({
                "type": SUB_COMMAND, "name": discord_name(sub),
                "description": description, "options": options,
            }))
        })
        .collect();
    json!([{
        "name": COMMAND_NAME,
        "type": 1,
        "description": "Run an incident: declare, staff, update, resolve",
        "contexts": [0],
        "options": subcommands,
    }])
}

/// Why a command's options could not become a [`Command`]; shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error(
        "This is not an `/{COMMAND_NAME}` subcommand warroom knows; the command list may be out of date."
    )]
    UnknownSubcommand,
    #[error("Missing `{0}`.")]
    Missing(&'static str),
    #[error("`{what}`: {reason}")]
    Invalid { what: &'static str, reason: String },
}

/// The subcommand a used `/incident` names, with its options.
pub fn subcommand(options: &[CommandOption]) -> Option<&CommandOption> {
    options.iter().find(|option| option.kind == SUB_COMMAND)
}

/// A subcommand's name on Discord. Discord spells `followup_done` with a hyphen, and
/// registered names are what existing Discord clients send, so it stays that way.
pub fn discord_name(sub: Subcommand) -> String {
    sub.name().replace('_', "-")
}

/// A used `/incident` as the [`Command`] it means.
pub fn to_command(options: &[CommandOption], config: &Config) -> Result<Command, OptionError> {
    let used = subcommand(options).ok_or(OptionError::UnknownSubcommand)?;
    let sub = Subcommand::ALL
        .into_iter()
        .find(|sub| discord_name(*sub) == used.name)
        .ok_or(OptionError::UnknownSubcommand)?;
    let args = Args(&used.options);
    let incident = args.incident()?;
    Ok(match sub {
        Subcommand::Declare => Command::Declare(command::Declare {
            severity: args
                .text("severity")
                .map(|word| severity(&word, config))
                .transpose()?,
            title: Title::parse(&args.required("title")?).map_err(invalid("title"))?,
            services: args.words("services"),
            drill: args.flag("drill"),
            private: args.flag("private"),
        }),
        Subcommand::Role => Command::AssignRole(command::AssignRole {
            incident,
            role: args
                .required("role")?
                .parse::<Role>()
                .map_err(invalid("role"))?,
            user: UserRef::Id(UserId::new(args.required("user")?)),
        }),
        Subcommand::Ack => Command::Ack(command::OnIncident { incident }),
        Subcommand::Status => Command::SetStatus(command::SetStatus {
            incident,
            status: args
                .required("status")?
                .parse::<Status>()
                .map_err(invalid("status"))?,
            text: args.user_text("text", "the status update")?,
            params: Params::new(),
        }),
        Subcommand::Update => Command::PostUpdate(command::PostUpdate {
            incident,
            text: UserText::parse("the update", &args.required("text")?)
                .map_err(invalid("text"))?,
            params: Params::new(),
        }),
        Subcommand::Snooze => return Err(OptionError::UnknownSubcommand),
        Subcommand::Severity => Command::ChangeSeverity(command::ChangeSeverity {
            incident,
            severity: severity(&args.required("severity")?, config)?,
        }),
        Subcommand::Note => Command::AddNote(command::AddNote {
            incident,
            at: args.text("time").map(|time| clock(&time)).transpose()?,
            text: UserText::parse("the note", &args.required("text")?).map_err(invalid("text"))?,
        }),
        Subcommand::Run => Command::RunAction(command::RunAction {
            incident,
            name: args.required("action")?,
            params: params(args.text("params").as_deref().unwrap_or(""))?,
        }),
        Subcommand::Approve => Command::Approve(command::RunRef {
            incident,
            run: args.run()?,
        }),
        Subcommand::Cancel => Command::Cancel(command::RunRef {
            incident,
            run: args.run()?,
        }),
        Subcommand::Actions => Command::ListActions(command::OnIncident { incident }),
        Subcommand::FollowUp => Command::AddFollowUp(command::AddFollowUp {
            incident,
            text: UserText::parse("the follow-up", &args.required("text")?)
                .map_err(invalid("text"))?,
            owner: args.text("owner").map(|id| UserRef::Id(UserId::new(id))),
            due: args.text("due").map(|due| date(&due)).transpose()?,
        }),
        Subcommand::FollowUpDone => Command::CompleteFollowUp(command::CompleteFollowUp {
            incident,
            number: args
                .required("number")?
                .parse::<u32>()
                .ok()
                .filter(|number| *number > 0)
                .ok_or_else(|| OptionError::Invalid {
                    what: "number",
                    reason: "expected a follow-up number from 1".into(),
                })?,
        }),
        Subcommand::FollowUps => Command::ListFollowUps(command::OnIncident { incident }),
        Subcommand::Resolve => Command::Resolve(command::Resolve {
            incident,
            summary: args.user_text("summary", "the summary")?,
        }),
        Subcommand::Postmortem => Command::Postmortem(command::OnIncident { incident }),
        Subcommand::Timeline => Command::Timeline(command::OnIncident { incident }),
        Subcommand::Summary => Command::Summary(command::OnIncident { incident }),
        Subcommand::List => Command::List(command::List),
        Subcommand::Stats => Command::Stats(command::Stats {
            days: args
                .text("window")
                .and_then(|window| window.trim_end_matches('d').parse().ok())
                .filter(|days| WINDOWS.contains(days))
                .unwrap_or(DEFAULT_WINDOW),
        }),
        Subcommand::Help => Command::Help(command::Help {
            topic: args.text("topic"),
        }),
    })
}

/// Choices for the `run` option being typed: configured actions and runbooks
/// containing what was typed, at most 25.
pub fn autocomplete(options: &[CommandOption], config: &Config) -> Vec<Value> {
    let typed = subcommand(options)
        .and_then(|sub| sub.options.iter().find(|option| option.focused))
        .and_then(CommandOption::text)
        .unwrap_or_default()
        .to_lowercase();
    config
        .actions()
        .keys()
        .chain(config.runbooks().keys())
        .filter(|name| name.to_lowercase().contains(&typed))
        .take(CHOICES_MAX)
        .map(|name| json!({ "name": name, "value": name }))
        .collect()
}

/// The options of one subcommand.
struct Args<'a>(&'a [CommandOption]);

impl Args<'_> {
    fn text(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|option| option.name == name)
            .and_then(CommandOption::text)
            .filter(|text| !text.trim().is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, OptionError> {
        self.text(name).ok_or(OptionError::Missing(name))
    }

    fn flag(&self, name: &str) -> bool {
        self.0
            .iter()
            .find(|option| option.name == name)
            .and_then(|option| option.value.as_ref())
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    fn words(&self, name: &str) -> Vec<String> {
        let mut words: Vec<String> = Vec::new();
        for word in self
            .text(name)
            .unwrap_or_default()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|word| !word.is_empty())
        {
            if !words.iter().any(|known| known == word) {
                words.push(word.to_string());
            }
        }
        words
    }

    fn user_text(
        &self,
        name: &'static str,
        what: &'static str,
    ) -> Result<Option<UserText>, OptionError> {
        self.text(name)
            .map(|text| UserText::parse(what, &text).map_err(invalid(name)))
            .transpose()
    }

    fn run(&self) -> Result<RunId, OptionError> {
        self.required("run")?.parse().map_err(invalid("run"))
    }

    fn incident(&self) -> Result<Option<IncidentId>, OptionError> {
        self.text("incident")
            .map(|id| id.trim().parse::<IncidentId>().map_err(invalid("incident")))
            .transpose()
    }
}

fn invalid<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> OptionError {
    move |error| OptionError::Invalid {
        what,
        reason: error.to_string(),
    }
}

fn severity(word: &str, config: &Config) -> Result<crate::domain::Severity, OptionError> {
    config.resolve(word).ok_or_else(|| OptionError::Invalid {
        what: "severity",
        reason: format!("expected one of {}", config.words().join(", ")),
    })
}

fn clock(time: &str) -> Result<NaiveTime, OptionError> {
    NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| OptionError::Invalid {
        what: "time",
        reason: "expected HH:MM, 24-hour, e.g. 14:05".into(),
    })
}

fn date(due: &str) -> Result<NaiveDate, OptionError> {
    NaiveDate::parse_from_str(due.trim(), "%Y-%m-%d").map_err(|_| OptionError::Invalid {
        what: "due",
        reason: "expected YYYY-MM-DD, e.g. 2026-12-01".into(),
    })
}

/// `key=value` words, in order; a word without `=` or with an empty value is refused.
fn params(text: &str) -> Result<Params, OptionError> {
    text.split_whitespace()
        .map(|word| match word.split_once('=') {
            Some((key, value)) if !key.is_empty() && !value.is_empty() => {
                Ok((key.to_string(), value.to_string()))
            }
            _ => Err(OptionError::Invalid {
                what: "params",
                reason: format!("`{}` is not key=value", clip(word, 40)),
            }),
        })
        .collect()
}

fn clip(text: &str, max: usize) -> String {
    super::embeds::truncate(text, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_toml_str(
            "[bot]\npublic_url = \"https://w.test\"\n\
             [[severity]]\nname = \"sev1\"\nlabel = \"Critical\"\nrespond_within = \"15m\"\n\
             [[severity]]\nname = \"sev2\"\nrespond_within = \"15m\"\n\
             [phrases]\ninvestigating = \"a\"\nidentified = \"b\"\nmonitoring = \"c\"\nresolved = \"d\"\n",
        )
        .unwrap()
    }

    fn option(name: &str, kind: u8, value: Value) -> CommandOption {
        CommandOption {
            name: name.into(),
            kind,
            value: Some(value),
            options: vec![],
            focused: false,
        }
    }

    fn sub(name: &str, options: Vec<CommandOption>) -> Vec<CommandOption> {
        vec![CommandOption {
            name: name.into(),
            kind: SUB_COMMAND,
            value: None,
            options,
            focused: false,
        }]
    }

    #[test]
    fn options_become_commands() {
        let config = config();
        let declare = sub(
            "declare",
            vec![
                option("severity", STRING, json!("sev1")),
                option("title", STRING, json!("checkout is down")),
                option("services", STRING, json!("checkout, payments checkout")),
            ],
        );
        assert_eq!(
            to_command(&declare, &config),
            Ok(Command::Declare(command::Declare {
                severity: Some(crate::domain::Severity::new("sev1")),
                title: Title::parse("checkout is down").unwrap(),
                services: vec!["checkout".into(), "payments".into()],
                drill: false,
                private: false,
            }))
        );
        let role = sub(
            "role",
            vec![
                option("role", STRING, json!("comms")),
                option("user", USER, json!("42")),
                option("incident", STRING, json!("INC-20261123-001")),
            ],
        );
        assert_eq!(
            to_command(&role, &config),
            Ok(Command::AssignRole(command::AssignRole {
                incident: Some("INC-20261123-001".parse().unwrap()),
                role: Role::Comms,
                user: UserRef::Id(UserId::new("42")),
            }))
        );
        let bad = sub("status", vec![option("status", STRING, json!("fixed"))]);
        assert!(matches!(
            to_command(&bad, &config),
            Err(OptionError::Invalid { what: "status", .. })
        ));
        let approve = sub("approve", vec![option("run", STRING, json!(" #7 "))]);
        assert_eq!(
            to_command(&approve, &config),
            Ok(Command::Approve(command::RunRef {
                incident: None,
                run: RunId::new(7),
            }))
        );
        let cancel = sub("cancel", vec![option("run", STRING, json!("seven"))]);
        assert!(matches!(
            to_command(&cancel, &config),
            Err(OptionError::Invalid { what: "run", .. })
        ));
        assert_eq!(
            to_command(&sub("snooze", vec![]), &config),
            Err(OptionError::UnknownSubcommand)
        );
        let done = sub("followup-done", vec![option("number", INTEGER, json!(3))]);
        assert_eq!(
            to_command(&done, &config),
            Ok(Command::CompleteFollowUp(command::CompleteFollowUp {
                incident: None,
                number: 3
            }))
        );
    }

    #[test]
    fn every_registered_subcommand_is_a_command_from_the_one_list() {
        let definition = definition(&config());
        let registered: Vec<&str> = definition[0]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sub| sub["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            registered,
            [
                "declare",
                "role",
                "ack",
                "status",
                "update",
                "severity",
                "note",
                "run",
                "approve",
                "cancel",
                "actions",
                "followup",
                "followup-done",
                "followups",
                "resolve",
                "postmortem",
                "timeline",
                "summary",
                "list",
                "stats",
                "help",
            ],
            "registered names are what Discord clients send back"
        );
        for name in &registered {
            let sub = Subcommand::ALL
                .into_iter()
                .find(|sub| discord_name(*sub) == *name)
                .unwrap_or_else(|| panic!("`{name}` is registered but names no command"));
            let options = &definition[0]["options"]
                .as_array()
                .unwrap()
                .iter()
                .find(|registered| registered["name"] == *name)
                .unwrap()["options"];
            let names_incident = options
                .as_array()
                .unwrap()
                .iter()
                .any(|option| option["name"] == "incident");
            assert_eq!(names_incident, sub.names_incident(), "{name}");
        }
        for sub in Subcommand::ALL {
            assert_eq!(
                registered.contains(&discord_name(sub).as_str()),
                sub != Subcommand::Snooze,
                "{}",
                sub.name()
            );
        }
    }

    #[test]
    fn the_definition_offers_configured_severities_and_required_options_first() {
        let definition = definition(&config());
        let subs = definition[0]["options"].as_array().unwrap();
        let declare = &subs[0];
        assert_eq!(declare["name"], "declare");
        assert_eq!(declare["options"][0]["name"], "severity");
        assert_eq!(
            declare["options"][0]["choices"][0],
            json!({ "name": "sev1 — Critical", "value": "sev1" })
        );
        for sub in subs {
            let required: Vec<bool> = sub["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["required"].as_bool().unwrap_or(false))
                .collect();
            assert!(required.windows(2).all(|w| w[0] >= w[1]), "{sub}");
        }
        assert!(subs.len() <= 25);
    }
}
