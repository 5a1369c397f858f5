//! The file as written: serde shapes with unknown keys refused. Durations,
//! roles and names stay text here and are judged in `build`, so one bad value
//! costs a problem, not the rest of the check.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Value;

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with public_url, timezone and default_severity"
)]
pub(super) struct RawBot {
    pub public_url: String,
    pub timezone: Option<String>,
    pub default_severity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a severity table")]
pub(super) struct RawSeverity {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub label: Option<String>,
    pub description: Option<String>,
    pub respond_within: Value,
    pub update_every: Option<Value>,
    pub remind_while_monitoring: Option<bool>,
    #[serde(default)]
    pub page: bool,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub escalate: Vec<RawEscalation>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { after = \"30m\", to = \"level2\" }"
)]
pub(super) struct RawEscalation {
    pub after: Value,
    pub to: String,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with slack, discord, email, github, jira, linear and name"
)]
pub(super) struct RawPerson {
    pub name: Option<String>,
    pub slack: Option<String>,
    pub discord: Option<String>,
    pub email: Option<String>,
    pub github: Option<String>,
    pub jira: Option<String>,
    pub linear: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a service table")]
pub(super) struct RawService {
    pub name: String,
    pub rto: Option<Value>,
    pub rpo: Option<Value>,
}

/// Every kind's keys are optional here so a key that does not belong to the
/// action's kind can be named as such instead of as an unknown key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an action table")]
pub(super) struct RawAction {
    pub kind: String,
    pub description: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, RawParam>,
    pub method: Option<String>,
    pub url: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub header_env: Option<BTreeMap<String, String>>,
    pub body: Option<String>,
    pub success_status: Option<Vec<u16>>,
    pub program: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub target: Option<String>,
    pub component: Option<String>,
    pub state: Option<String>,
    pub timeout: Option<Value>,
    pub retries: Option<u32>,
    pub approval: Option<String>,
    pub approval_expires_after: Option<Value>,
    pub allowed_roles: Option<Vec<String>>,
    pub rerun_on_restart: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with required, default, pattern and description"
)]
pub(super) struct RawParam {
    #[serde(default)]
    pub required: bool,
    pub default: Option<String>,
    pub pattern: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a runbook table")]
pub(super) struct RawRunbook {
    pub description: Option<String>,
    /// Each an action name or a [`RawStep`] table.
    pub steps: Vec<Value>,
    #[serde(default)]
    pub on_failure: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { action = \"name\", params = { key = \"value\" } }"
)]
pub(super) struct RawStep {
    pub action: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default)]
    pub continue_on_failure: bool,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with mode, channel_prefix and announce_channel"
)]
pub(super) struct RawSlack {
    pub mode: Option<String>,
    pub channel_prefix: Option<String>,
    pub announce_channel: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with guild_id, incidents_channel, announce_channel and global_commands"
)]
pub(super) struct RawDiscord {
    pub guild_id: String,
    pub incidents_channel: String,
    pub announce_channel: Option<String>,
    #[serde(default)]
    pub global_commands: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with title and components")]
pub(super) struct RawStatusPage {
    pub title: String,
    #[serde(default)]
    pub components: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with processed_requests and delivered_operations"
)]
pub(super) struct RawRetention {
    pub processed_requests: Option<Value>,
    pub delivered_operations: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an alert route table")]
pub(super) struct RawAlertRoute {
    pub name: String,
    #[serde(default, rename = "match")]
    pub equal: BTreeMap<String, String>,
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    pub severity: String,
    #[serde(default)]
    pub services: Vec<String>,
    pub title: Option<String>,
    pub platform: String,
    pub mode: String,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with github, jira, linear and followups"
)]
pub(super) struct RawTrackers {
    pub followups: Option<String>,
    pub github: Option<RawGitHub>,
    pub jira: Option<RawJira>,
    pub linear: Option<RawLinear>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with repository and labels")]
pub(super) struct RawGitHub {
    pub repository: String,
    #[serde(default)]
    pub labels: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with site, project and issue_type"
)]
pub(super) struct RawJira {
    pub site: String,
    pub project: String,
    pub issue_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with team")]
pub(super) struct RawLinear {
    pub team: String,
}
