//! The team's process and the bot's surroundings: `config/warroom.toml` and the
//! environment, loaded and checked once at startup.
//!
//! Owns: parsing and validating the config file (severities, people, roles,
//! escalation levels, services, phrases, actions, runbooks, platform sections,
//! retention, alert routes, trackers)
//! and the environment (addresses, API bases, secrets), reporting every problem
//! in one [`ConfigError`], each located by its key path, so a single
//! `warroom check-config` run lists all that needs fixing; and the process lint
//! ([`lint`]): warnings about what a valid config allows but no team wants.
//! Must not: do I/O beyond reading the config file, or hold incident logic.
//! Secrets come only from the environment and are wrapped in [`Secret`].

mod build;
mod duration;
mod env;
mod lint;
mod model;
mod problem;
mod raw;
mod template;
#[cfg(test)]
mod tests;

pub use duration::{DurationError, parse_duration};
pub use env::{
    DatabaseKind, DiscordSettings, FeatureStatus, PagerDutySettings, SECRET_VARS, Secret, Settings,
    SlackSettings, TrackerSettings,
};
pub use lint::{Warning, lint};
pub use model::{
    ActionConfig, ActionKind, AlertMode, AlertRoute, BUILTIN_PLACEHOLDERS, BotConfig,
    ComponentState, DiscordConfig, Escalation, GitHubTracker, HttpAction, JiraTracker,
    LinearTracker, PageAction, PageTarget, ParamSpec, Person, ProgramAction, RetentionConfig,
    RunbookConfig, RunbookStep, ServiceConfig, SeverityConfig, SlackConfig, SlackMode,
    StatusAction, StatusPageConfig, TrackersConfig,
};
pub use problem::{ConfigError, Problem};
pub use template::render;

use crate::command::SeverityWords;
use crate::domain::{Platform, Role, Severity, UserId};
use problem::{LineIndex, Problems};
use std::collections::BTreeMap;
use std::path::Path;

/// The checked config. Built only through [`Config::load`] or
/// [`Config::from_toml_str`], so every reference in it resolves.
#[derive(Debug, Clone)]
pub struct Config {
    bot: BotConfig,
    /// Most severe first.
    severities: Vec<SeverityConfig>,
    people: BTreeMap<String, Person>,
    assign: BTreeMap<Severity, BTreeMap<Role, String>>,
    levels: BTreeMap<String, Vec<String>>,
    services: Vec<ServiceConfig>,
    phrases: BTreeMap<String, String>,
    actions: BTreeMap<String, ActionConfig>,
    runbooks: BTreeMap<String, RunbookConfig>,
    slack: Option<SlackConfig>,
    discord: Option<DiscordConfig>,
    status_page: Option<StatusPageConfig>,
    retention: RetentionConfig,
    /// In the file's order: the first that matches takes the alert.
    alert_routes: Vec<AlertRoute>,
    trackers: TrackersConfig,
}

impl Config {
    /// Reads and checks the config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::single(&origin, format!("cannot read the config file: {e}"))
        })?;
        Self::parse(&text, &origin)
    }

    /// Checks config text; problems are reported against `config`.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Self::parse(text, "config")
    }

    fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let spanned = match toml::de::DeTable::parse(text) {
            Ok(table) => table,
            Err(e) => return Err(syntax_error(text, origin, &e)),
        };
        let lines = LineIndex::new(text, &spanned);
        let doc: toml::Table = toml::from_str(text).map_err(|e| syntax_error(text, origin, &e))?;
        let mut problems = Problems::default();
        let config = build::build(doc, &mut problems);
        match config {
            Some(config) if problems.is_empty() => Ok(config),
            _ => Err(problems.into_error(origin, &lines)),
        }
    }

    /// All severities, most severe first.
    pub fn severities(&self) -> &[SeverityConfig] {
        &self.severities
    }

    pub fn severity(&self, severity: &Severity) -> Option<&SeverityConfig> {
        self.severities.iter().find(|s| &s.name == severity)
    }

    /// What a declaration without a severity gets; `None` means ask the declarer.
    pub fn default_severity(&self) -> Option<Severity> {
        self.bot.default_severity.clone()
    }

    /// Who takes which role when an incident of this severity is declared, by role.
    pub fn assignment(&self, severity: &Severity) -> Vec<(Role, &str)> {
        self.assign
            .get(severity)
            .map(|roles| {
                roles
                    .iter()
                    .map(|(role, person)| (*role, person.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn person(&self, key: &str) -> Option<&Person> {
        self.people.get(key)
    }

    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.people.values()
    }

    /// A person's id on a platform. On the console and the in-process testing
    /// platform a person's id is their key, so neither needs id tables.
    pub fn person_id(&self, person: &str, platform: Platform) -> Option<UserId> {
        let person = self.people.get(person)?;
        match platform {
            Platform::Slack => person.slack.clone(),
            Platform::Discord => person.discord.clone(),
            Platform::Console => Some(UserId::new(person.key.clone())),
            #[cfg(any(test, feature = "testing"))]
            Platform::Testing => Some(UserId::new(person.key.clone())),
        }
    }

    /// The key of the person with this platform id.
    pub fn person_by_id(&self, platform: Platform, id: &UserId) -> Option<&str> {
        self.people
            .values()
            .find(|p| match platform {
                Platform::Slack => p.slack.as_ref() == Some(id),
                Platform::Discord => p.discord.as_ref() == Some(id),
                Platform::Console => p.key == id.as_str(),
                #[cfg(any(test, feature = "testing"))]
                Platform::Testing => p.key == id.as_str(),
            })
            .map(|p| p.key.as_str())
    }

    /// The people of an escalation level.
    pub fn level(&self, name: &str) -> Option<&[String]> {
        self.levels.get(name).map(Vec::as_slice)
    }

    pub fn services(&self) -> &[ServiceConfig] {
        &self.services
    }

    /// A service by name, ignoring case (users type them).
    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The update wording for a status word (`identified`) or any extra phrase key.
    pub fn phrase(&self, key: &str) -> Option<&str> {
        self.phrases.get(key).map(String::as_str)
    }

    pub fn actions(&self) -> &BTreeMap<String, ActionConfig> {
        &self.actions
    }

    pub fn action(&self, name: &str) -> Option<&ActionConfig> {
        self.actions.get(name)
    }

    pub fn runbooks(&self) -> &BTreeMap<String, RunbookConfig> {
        &self.runbooks
    }

    pub fn runbook(&self, name: &str) -> Option<&RunbookConfig> {
        self.runbooks.get(name)
    }

    /// How times are shown; stored times are UTC.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.bot.timezone
    }

    /// Base URL for links, without a trailing `/`.
    pub fn public_url(&self) -> &str {
        &self.bot.public_url
    }

    pub fn slack(&self) -> Option<&SlackConfig> {
        self.slack.as_ref()
    }

    pub fn discord(&self) -> Option<&DiscordConfig> {
        self.discord.as_ref()
    }

    pub fn status_page(&self) -> Option<&StatusPageConfig> {
        self.status_page.as_ref()
    }

    /// How long bookkeeping rows are kept; the defaults when `[retention]` is left out.
    pub fn retention(&self) -> RetentionConfig {
        self.retention
    }

    pub fn alert_routes(&self) -> &[AlertRoute] {
        &self.alert_routes
    }

    /// The first `[[alert_route]]` that takes an alert group with these labels.
    pub fn alert_route(&self, labels: &BTreeMap<String, String>) -> Option<&AlertRoute> {
        self.alert_routes.iter().find(|route| route.matches(labels))
    }

    /// Where follow-ups are filed; empty when `[trackers]` is left out.
    pub fn trackers(&self) -> &TrackersConfig {
        &self.trackers
    }
}

impl SeverityWords for Config {
    fn resolve(&self, word: &str) -> Option<Severity> {
        self.severities
            .iter()
            .find(|s| {
                s.name.as_str().eq_ignore_ascii_case(word)
                    || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(word))
            })
            .map(|s| s.name.clone())
    }

    fn words(&self) -> Vec<String> {
        self.severities
            .iter()
            .flat_map(|s| {
                std::iter::once(s.name.as_str().to_string()).chain(s.aliases.iter().cloned())
            })
            .collect()
    }
}

fn syntax_error(text: &str, origin: &str, error: &toml::de::Error) -> ConfigError {
    let index = LineIndex::for_text(text);
    let message = error.message().trim();
    let message = match error.span().map(|s| index.position(s.start)) {
        Some((line, column)) => {
            format!("TOML syntax error at line {line}, column {column}: {message}")
        }
        None => format!("TOML syntax error: {message}"),
    };
    ConfigError::single(origin, message)
}
