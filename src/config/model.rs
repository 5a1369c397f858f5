//! The checked, typed config. Every value here has passed validation: names
//! resolve, durations are positive, regexes compile, templates are well formed.

use super::template;
pub use crate::domain::ComponentState;
use crate::domain::{Platform, Role, Severity, Tracker, UserId};
use regex::Regex;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// `[bot]`.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// Base for links in messages, without a trailing `/`.
    pub public_url: String,
    pub timezone: chrono_tz::Tz,
    /// What `/incident declare <title>` uses; `None` means the bot asks.
    pub default_severity: Option<Severity>,
}

/// One `[[severity]]`; their order in the file is their order of gravity.
#[derive(Debug, Clone)]
pub struct SeverityConfig {
    /// Canonical name, lower case.
    pub name: Severity,
    /// Other words for it, lower case.
    pub aliases: Vec<String>,
    pub label: String,
    pub description: String,
    /// Acknowledge target; MTTA is measured against it.
    pub respond_within: Duration,
    /// Status-update cadence; `None` means no reminders.
    pub update_every: Option<Duration>,
    /// Whether update reminders continue once the incident is monitoring.
    pub remind_while_monitoring: bool,
    /// Page on-call when declared.
    pub page: bool,
    /// Every incident of this severity is private, as if declared with `--private`.
    pub private: bool,
    /// In increasing order of `after`.
    pub escalate: Vec<Escalation>,
}

/// Call a level in (invite, mention, page) once the incident has been open
/// `after` declaration, acknowledged or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub after: Duration,
    /// A key of `[levels]`.
    pub to: String,
}

/// `[people.KEY]`: one responder and their ids on each platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub key: String,
    pub name: Option<String>,
    pub slack: Option<UserId>,
    pub discord: Option<UserId>,
    pub email: Option<String>,
    /// Their GitHub login, for the issues their follow-ups become.
    pub github: Option<String>,
    /// Their Atlassian account id, for the Jira issues their follow-ups become.
    pub jira: Option<String>,
    /// Their Linear user id, for the Linear issues their follow-ups become.
    pub linear: Option<String>,
}

impl Person {
    /// How to show the person: their name, or their key.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.key)
    }

    /// Who they are in `tracker`, where the config says: the assignee of the
    /// issues their follow-ups become.
    pub fn tracker_account(&self, tracker: Tracker) -> Option<&str> {
        match tracker {
            Tracker::GitHub => self.github.as_deref(),
            Tracker::Jira => self.jira.as_deref(),
            Tracker::Linear => self.linear.as_deref(),
        }
    }
}

/// `[[service]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    pub name: String,
    /// Recovery time objective.
    pub rto: Option<Duration>,
    /// Recovery point objective.
    pub rpo: Option<Duration>,
}

/// `[actions.NAME]`.
#[derive(Debug, Clone)]
pub struct ActionConfig {
    pub name: String,
    pub description: String,
    pub kind: ActionKind,
    pub params: BTreeMap<String, ParamSpec>,
    /// Per attempt.
    pub timeout: Duration,
    /// Further attempts after a failure.
    pub retries: u32,
    /// Who must approve a run before it starts; `None` runs at once.
    pub approval: Option<Role>,
    /// How long a run waits for that approval before it is cancelled.
    pub approval_expires_after: Duration,
    /// Who may start it; empty means anyone in the war room.
    pub allowed_roles: Vec<Role>,
    /// Whether a run interrupted by a restart is run again (only for idempotent actions).
    pub rerun_on_restart: bool,
}

/// Placeholders every action may use without declaring them: the incident's own values.
pub const BUILTIN_PLACEHOLDERS: [&str; 6] =
    ["incident", "title", "severity", "status", "service", "room"];

impl ActionConfig {
    /// The built-in placeholders (see [`BUILTIN_PLACEHOLDERS`]) its templates use:
    /// what a run takes from the incident (no param may have their names).
    pub fn filled_from_incident(&self) -> Vec<&'static str> {
        let templates: Vec<&str> = match &self.kind {
            ActionKind::Http(http) => [http.url.as_str()]
                .into_iter()
                .chain(http.headers.values().map(String::as_str))
                .chain(http.body.as_deref())
                .collect(),
            ActionKind::Program(program) => program.args.iter().map(String::as_str).collect(),
            ActionKind::Page(_) | ActionKind::Status(_) => Vec::new(),
        };
        BUILTIN_PLACEHOLDERS
            .into_iter()
            .filter(|builtin| {
                templates
                    .iter()
                    .any(|text| template::names(text).any(|name| name == *builtin))
            })
            .collect()
    }
}

/// What an action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    Http(HttpAction),
    Program(ProgramAction),
    Page(PageAction),
    Status(StatusAction),
}

impl ActionKind {
    /// The word used for the kind in config.
    pub fn as_str(&self) -> &'static str {
        match self {
            ActionKind::Http(_) => "http",
            ActionKind::Program(_) => "program",
            ActionKind::Page(_) => "page",
            ActionKind::Status(_) => "status",
        }
    }
}

/// An HTTP request; `url`, header values and `body` are templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAction {
    /// Upper case: GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    /// Header name → environment variable holding its value (for secrets).
    pub header_env: BTreeMap<String, String>,
    pub body: Option<String>,
    /// Statuses that count as success; empty means any 2xx.
    pub success_status: Vec<u16>,
}

/// A program exec'd directly, never through a shell; `args` are templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramAction {
    /// Absolute.
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Environment variables passed through to the program; nothing else is.
    pub env: Vec<String>,
}

/// Pages a person or an escalation level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageAction {
    pub target: PageTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageTarget {
    /// A key of `[people]`.
    Person(String),
    /// A key of `[levels]`.
    Level(String),
}

/// Sets a status-page component's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusAction {
    /// One of `[status_page].components`.
    pub component: String,
    pub state: ComponentState,
}

/// A parameter an action accepts as `key=value`.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    pub description: String,
    /// Whether a run must supply it (never true when there is a default).
    pub required: bool,
    pub default: Option<String>,
    /// Anchored: the whole value must match.
    pub pattern: Option<Regex>,
}

impl ParamSpec {
    /// Whether `value` is acceptable for this parameter.
    pub fn accepts(&self, value: &str) -> bool {
        self.pattern.as_ref().is_none_or(|p| p.is_match(value))
    }
}

/// `[runbooks.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookConfig {
    pub name: String,
    pub description: String,
    pub steps: Vec<RunbookStep>,
}

/// One step of a runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookStep {
    /// A key of `[actions]`.
    pub action: String,
    /// Fixed values for the action's params.
    pub params: BTreeMap<String, String>,
    /// Whether the runbook goes on when this step (and its fallback) fails.
    pub continue_on_failure: bool,
    /// The action to run if this step fails, from `on_failure`.
    pub fallback: Option<String>,
}

/// `[slack]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackConfig {
    pub mode: SlackMode,
    pub channel_prefix: String,
    pub announce_channel: Option<String>,
}

/// How Slack reaches the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackMode {
    /// Slack POSTs to our endpoints; needs a public URL.
    Http,
    /// The bot holds a websocket to Slack; works behind a firewall.
    Socket,
}

/// `[discord]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordConfig {
    pub guild_id: String,
    pub incidents_channel: String,
    pub announce_channel: Option<String>,
    /// Register `/incident` for every server the bot is in, instead of in
    /// `guild_id`'s alone (where it shows at once).
    pub global_commands: bool,
}

/// `[status_page]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPageConfig {
    pub title: String,
    pub components: Vec<String>,
}

/// `[retention]`: how long bookkeeping rows stay before the pruner deletes them.
/// Incidents, their timelines, action runs and postmortem data are kept for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Platform request ids already handled, and the inbox items (clicks,
    /// events) applied; a replay within it is answered again instead of applied again.
    pub processed_requests: Duration,
    /// Chat operations and pages delivered or given up on, and finished reminders.
    pub delivered_operations: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Self {
            processed_requests: Duration::from_secs(7 * DAY),
            delivered_operations: Duration::from_secs(30 * DAY),
        }
    }
}

/// One `[[alert_route]]`: which alerts it takes, and the incident they make.
#[derive(Debug, Clone)]
pub struct AlertRoute {
    pub name: String,
    /// Labels that must have exactly these values.
    pub equal: BTreeMap<String, String>,
    /// Labels whose whole value must match, as in Alertmanager's `=~`.
    pub regex: Vec<(String, Regex)>,
    pub severity: Severity,
    pub services: Vec<String>,
    /// `{name}` is a label, else an annotation, of the alert group.
    pub title: String,
    pub platform: Platform,
    pub mode: AlertMode,
}

impl AlertRoute {
    /// Whether a group with these labels takes this route; a label the group
    /// lacks matches nothing, not even a regex that accepts the empty string.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.equal
            .iter()
            .all(|(name, value)| labels.get(name) == Some(value))
            && self
                .regex
                .iter()
                .all(|(name, regex)| labels.get(name).is_some_and(|value| regex.is_match(value)))
    }
}

/// What a routed alert group does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertMode {
    /// Open the war room at once.
    Declare,
    /// Post the alert in the announce channel with Declare and Dismiss buttons.
    Propose,
}

impl AlertMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertMode::Declare => "declare",
            AlertMode::Propose => "propose",
        }
    }
}

/// `[trackers]`: the issue trackers follow-ups are filed in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackersConfig {
    pub github: Option<GitHubTracker>,
    pub jira: Option<JiraTracker>,
    pub linear: Option<LinearTracker>,
    /// Which configured tracker files follow-ups (`trackers.followups`, or the
    /// only one configured); `None` keeps follow-ups in warroom alone.
    pub followups: Option<Tracker>,
}

impl TrackersConfig {
    /// The trackers that have a table, in the order check-config lists them.
    pub fn configured(&self) -> Vec<Tracker> {
        [
            (Tracker::GitHub, self.github.is_some()),
            (Tracker::Jira, self.jira.is_some()),
            (Tracker::Linear, self.linear.is_some()),
        ]
        .into_iter()
        .filter_map(|(tracker, configured)| configured.then_some(tracker))
        .collect()
    }
}

/// `[trackers.github]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubTracker {
    /// `owner/name`, checked.
    pub repository: String,
    /// Put on every issue warroom files.
    pub labels: Vec<String>,
}

/// `[trackers.jira]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraTracker {
    /// `https://acme.atlassian.net`, without a trailing `/`: the base of every call
    /// and of the links shown.
    pub site: String,
    /// The project key, e.g. `OPS`.
    pub project: String,
    /// e.g. `Task`.
    pub issue_type: String,
}

/// `[trackers.linear]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinearTracker {
    /// The team's id, as Linear's API takes it.
    pub team: String,
}
