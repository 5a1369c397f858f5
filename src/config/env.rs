//! The process environment: where things are, and the secrets, which never
//! live in the config file. Read through a lookup function so tests need not
//! touch the real environment.

use super::Config;
use super::model::SlackMode;
use super::problem::{ConfigError, Problems};
use crate::domain::Tracker;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Variables holding warroom's own credentials; actions may not pass them on.
pub const SECRET_VARS: [&str; 15] = [
    "DATABASE_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "DISCORD_TOKEN",
    "DISCORD_PUBLIC_KEY",
    "PAGERDUTY_ROUTING_KEY",
    "WARROOM_API_TOKEN",
    "WARROOM_ALERTS_TOKEN",
    "PAGERDUTY_WEBHOOK_SECRET",
    "WARROOM_API_PRIVATE_TOKEN",
    "GITHUB_TOKEN",
    "GITHUB_WEBHOOK_SECRET",
    "JIRA_API_TOKEN",
    "LINEAR_API_KEY",
];

const DEFAULT_CONFIG: &str = "config/warroom.toml";
const DEFAULT_DATABASE_URL: &str = "sqlite://warroom.db";
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api/";
const DEFAULT_DISCORD_API_URL: &str = "https://discord.com";
const DEFAULT_PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";
const DEFAULT_LINEAR_API_URL: &str = "https://api.linear.app/graphql";

/// A credential. Shown as `[redacted]` by `Debug` and `Display`, so it cannot
/// end up in a log line by accident; [`Secret::expose`] is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which database `DATABASE_URL` points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

/// Everything read from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `WARROOM_CONFIG`.
    pub config_path: PathBuf,
    /// `DATABASE_URL`; a secret because it may carry a password.
    pub database_url: Secret,
    pub database_kind: DatabaseKind,
    /// `WARROOM_LISTEN`.
    pub listen: SocketAddr,
    pub slack: SlackSettings,
    pub discord: DiscordSettings,
    pub pagerduty: PagerDutySettings,
    /// `WARROOM_API_TOKEN`: the Bearer token for `/api/*`; `None` turns the API off.
    pub api_token: Option<Secret>,
    /// `WARROOM_ALERTS_TOKEN`: the Bearer token Alertmanager and Grafana send to
    /// `/hooks/*`; `None` turns the alert webhooks off.
    pub alerts_token: Option<Secret>,
    /// `PAGERDUTY_WEBHOOK_SECRET`: the V3 webhook subscription's signing secret;
    /// `None` turns `/hooks/pagerduty` off.
    pub pagerduty_webhook_secret: Option<Secret>,
    /// `WARROOM_API_PRIVATE_TOKEN`: a Bearer token whose scope includes private
    /// incidents, which `WARROOM_API_TOKEN`'s never does.
    pub api_private_token: Option<Secret>,
    pub trackers: TrackerSettings,
}

#[derive(Debug, Clone)]
pub struct SlackSettings {
    pub bot_token: Option<Secret>,
    pub signing_secret: Option<Secret>,
    /// Socket Mode only.
    pub app_token: Option<Secret>,
    /// Web API base, always ending in `/`.
    pub api_url: String,
}

#[derive(Debug, Clone)]
pub struct DiscordSettings {
    pub token: Option<Secret>,
    pub application_id: Option<String>,
    /// Hex Ed25519 key; only needed for the HTTP interactions endpoint.
    pub public_key: Option<String>,
    /// REST base, without a trailing `/`.
    pub api_url: String,
}

#[derive(Debug, Clone)]
pub struct PagerDutySettings {
    pub routing_key: Option<Secret>,
    pub events_url: String,
}

/// The credentials and API bases of the issue trackers; where to file is the
/// config's `[trackers]`.
#[derive(Debug, Clone)]
pub struct TrackerSettings {
    /// `GITHUB_TOKEN`.
    pub github_token: Option<Secret>,
    /// `GITHUB_API_URL`: the REST base, without a trailing `/`.
    pub github_api_url: String,
    /// `GITHUB_WEBHOOK_SECRET`: verifies GitHub's `issues` events; unset, the
    /// webhook endpoint is off.
    pub github_webhook_secret: Option<Secret>,
    /// `JIRA_EMAIL`: the Atlassian account the API token belongs to.
    pub jira_email: Option<String>,
    /// `JIRA_API_TOKEN`.
    pub jira_api_token: Option<Secret>,
    /// `LINEAR_API_KEY`.
    pub linear_api_key: Option<Secret>,
    /// `LINEAR_API_URL`: the GraphQL endpoint.
    pub linear_api_url: String,
}

impl TrackerSettings {
    /// The variables a tracker needs, each with whether it is set.
    fn needed(&self, tracker: Tracker) -> Vec<(&'static str, bool)> {
        match tracker {
            Tracker::GitHub => vec![("GITHUB_TOKEN", self.github_token.is_some())],
            Tracker::Jira => vec![
                ("JIRA_EMAIL", self.jira_email.is_some()),
                ("JIRA_API_TOKEN", self.jira_api_token.is_some()),
            ],
            Tracker::Linear => vec![("LINEAR_API_KEY", self.linear_api_key.is_some())],
        }
    }
}

/// Whether an optional part of warroom runs, with the reason in words for the
/// startup log (`Slack disabled: SLACK_BOT_TOKEN not set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureStatus {
    Enabled(String),
    Disabled(String),
}

impl FeatureStatus {
    pub fn is_enabled(&self) -> bool {
        matches!(self, FeatureStatus::Enabled(_))
    }

    pub fn message(&self) -> &str {
        match self {
            FeatureStatus::Enabled(m) | FeatureStatus::Disabled(m) => m,
        }
    }
}

impl fmt::Display for FeatureStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl Settings {
    /// Reads the real process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; an empty or blank value counts as unset,
    /// as `FOO=` in a compose file means "not configured".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let secret = |name: &str| get(name).map(Secret::new);
        let mut problems = Problems::default();

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let database_kind = match database_url.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => DatabaseKind::Sqlite,
            Some("postgres" | "postgresql") => DatabaseKind::Postgres,
            _ => {
                problems.push("DATABASE_URL", "expected a sqlite:// or postgres:// URL");
                DatabaseKind::Sqlite
            }
        };
        let listen_text = get("WARROOM_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text.parse().unwrap_or_else(|_| {
            problems.push(
                "WARROOM_LISTEN",
                format!("`{listen_text}` is not an address like 127.0.0.1:8080 or [::]:8080"),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let mut url = |name: &str, default: &str| {
            let value = get(name).unwrap_or_else(|| default.to_string());
            if !value.starts_with("http://") && !value.starts_with("https://") {
                problems.push(name, "expected an http:// or https:// URL");
            }
            value
        };
        let mut slack_api_url = url("SLACK_API_URL", DEFAULT_SLACK_API_URL);
        if !slack_api_url.ends_with('/') {
            slack_api_url.push('/');
        }
        let discord_api_url = url("DISCORD_API_URL", DEFAULT_DISCORD_API_URL)
            .trim_end_matches('/')
            .to_string();
        let events_url = url("PAGERDUTY_EVENTS_URL", DEFAULT_PAGERDUTY_EVENTS_URL);
        let github_api_url = url("GITHUB_API_URL", DEFAULT_GITHUB_API_URL)
            .trim_end_matches('/')
            .to_string();
        let linear_api_url = url("LINEAR_API_URL", DEFAULT_LINEAR_API_URL);

        let application_id = get("DISCORD_APPLICATION_ID");
        if application_id
            .as_ref()
            .is_some_and(|id| !id.chars().all(|c| c.is_ascii_digit()))
        {
            problems.push("DISCORD_APPLICATION_ID", "expected a Discord id (digits)");
        }
        let public_key = get("DISCORD_PUBLIC_KEY");
        if public_key
            .as_ref()
            .is_some_and(|k| k.len() != 64 || !k.chars().all(|c| c.is_ascii_hexdigit()))
        {
            problems.push(
                "DISCORD_PUBLIC_KEY",
                "expected the application's public key: 64 hex digits",
            );
        }

        let settings = Settings {
            config_path: PathBuf::from(
                get("WARROOM_CONFIG").unwrap_or_else(|| DEFAULT_CONFIG.to_string()),
            ),
            database_url: Secret::new(database_url),
            database_kind,
            listen,
            slack: SlackSettings {
                bot_token: secret("SLACK_BOT_TOKEN"),
                signing_secret: secret("SLACK_SIGNING_SECRET"),
                app_token: secret("SLACK_APP_TOKEN"),
                api_url: slack_api_url,
            },
            discord: DiscordSettings {
                token: secret("DISCORD_TOKEN"),
                application_id,
                public_key,
                api_url: discord_api_url,
            },
            pagerduty: PagerDutySettings {
                routing_key: secret("PAGERDUTY_ROUTING_KEY"),
                events_url,
            },
            api_token: secret("WARROOM_API_TOKEN"),
            alerts_token: secret("WARROOM_ALERTS_TOKEN"),
            pagerduty_webhook_secret: secret("PAGERDUTY_WEBHOOK_SECRET"),
            api_private_token: secret("WARROOM_API_PRIVATE_TOKEN"),
            trackers: TrackerSettings {
                github_token: secret("GITHUB_TOKEN"),
                github_api_url,
                github_webhook_secret: secret("GITHUB_WEBHOOK_SECRET"),
                jira_email: get("JIRA_EMAIL"),
                jira_api_token: secret("JIRA_API_TOKEN"),
                linear_api_key: secret("LINEAR_API_KEY"),
                linear_api_url,
            },
        };
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems.into_error("environment", &Default::default()))
        }
    }

    /// Slack runs when the config has `[slack]` and the environment holds what
    /// its mode needs: HTTP mode verifies requests with the signing secret,
    /// Socket Mode connects with the app-level token.
    pub fn slack_status(&self, config: &Config) -> FeatureStatus {
        let mode = config.slack().map(|s| s.mode);
        let needed_secret = match mode {
            Some(SlackMode::Socket) => ("SLACK_APP_TOKEN", self.slack.app_token.is_some()),
            _ => ("SLACK_SIGNING_SECRET", self.slack.signing_secret.is_some()),
        };
        let mut reasons = missing(&[
            ("SLACK_BOT_TOKEN", self.slack.bot_token.is_some()),
            needed_secret,
        ]);
        match mode {
            None => reasons.push("the config has no [slack] section".to_string()),
            Some(mode) if reasons.is_empty() => {
                let mode = match mode {
                    SlackMode::Http => "HTTP endpoints",
                    SlackMode::Socket => "Socket Mode",
                };
                return FeatureStatus::Enabled(format!("Slack enabled ({mode})"));
            }
            Some(_) => {}
        }
        FeatureStatus::Disabled(format!("Slack disabled: {}", reasons.join("; ")))
    }

    /// Discord runs on the gateway with a token and application id when the
    /// config has `[discord]`; the HTTP interactions endpoint also needs the public key.
    pub fn discord_status(&self, config: &Config) -> FeatureStatus {
        let mut reasons = missing(&[
            ("DISCORD_TOKEN", self.discord.token.is_some()),
            (
                "DISCORD_APPLICATION_ID",
                self.discord.application_id.is_some(),
            ),
        ]);
        if config.discord().is_none() {
            reasons.push("the config has no [discord] section".to_string());
        }
        if !reasons.is_empty() {
            return FeatureStatus::Disabled(format!("Discord disabled: {}", reasons.join("; ")));
        }
        FeatureStatus::Enabled(if self.discord.public_key.is_some() {
            "Discord enabled (gateway and HTTP interactions endpoint)".to_string()
        } else {
            "Discord enabled (gateway; HTTP interactions endpoint off: DISCORD_PUBLIC_KEY not set)"
                .to_string()
        })
    }

    /// PagerDuty paging needs a routing key.
    pub fn pagerduty_status(&self) -> FeatureStatus {
        match self.pagerduty.routing_key {
            Some(_) => FeatureStatus::Enabled("PagerDuty paging enabled".to_string()),
            None => FeatureStatus::Disabled(
                "PagerDuty paging disabled: PAGERDUTY_ROUTING_KEY not set".to_string(),
            ),
        }
    }

    /// The alert webhooks under `/hooks/*` need a token to check senders against.
    pub fn alerts_status(&self) -> FeatureStatus {
        match self.alerts_token {
            Some(_) => FeatureStatus::Enabled("alert webhooks enabled".to_string()),
            None => FeatureStatus::Disabled(
                "alert webhooks disabled: WARROOM_ALERTS_TOKEN not set".to_string(),
            ),
        }
    }

    /// Follow-ups are filed in the tracker `[trackers]` names when its
    /// credentials are set; otherwise they stay in warroom alone.
    pub fn tracker_status(&self, config: &Config) -> FeatureStatus {
        let Some(tracker) = config.trackers().followups else {
            return FeatureStatus::Disabled(
                "Follow-ups stay in warroom: the config has no [trackers] section".to_string(),
            );
        };
        match missing(&self.trackers.needed(tracker)).first() {
            None => FeatureStatus::Enabled(format!("Follow-ups are filed in {tracker}")),
            Some(reason) => FeatureStatus::Disabled(format!(
                "Follow-ups stay in warroom ({tracker} is configured but {reason})"
            )),
        }
    }

    /// For `check-config`: every configured tracker whose credentials are
    /// missing from the environment.
    pub fn tracker_problems(&self, config: &Config) -> Result<(), ConfigError> {
        let mut problems = Problems::default();
        for tracker in config.trackers().configured() {
            for (name, set) in self.trackers.needed(tracker) {
                if !set {
                    problems.push(
                        name,
                        format!("not set, and [trackers.{}] needs it", tracker.key()),
                    );
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.into_error("environment", &Default::default()))
        }
    }

    /// The JSON API under `/api/*` needs a token to check callers against.
    pub fn api_status(&self) -> FeatureStatus {
        match self.api_token.as_ref().or(self.api_private_token.as_ref()) {
            Some(_) => FeatureStatus::Enabled("JSON API enabled".to_string()),
            None => {
                FeatureStatus::Disabled("JSON API disabled: WARROOM_API_TOKEN not set".to_string())
            }
        }
    }
}

/// `["A and B not set"]` for the variables that are absent.
fn missing(vars: &[(&str, bool)]) -> Vec<String> {
    let absent: Vec<&str> = vars
        .iter()
        .filter(|(_, set)| !set)
        .map(|(name, _)| *name)
        .collect();
    if absent.is_empty() {
        Vec::new()
    } else {
        vec![format!("{} not set", absent.join(" and "))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    fn config(sections: &str) -> Config {
        let text = format!(
            "[bot]\npublic_url = \"https://w.test\"\n[[severity]]\nname = \"sev1\"\nrespond_within = \"15m\"\n\
             [phrases]\ninvestigating = \"a\"\nidentified = \"b\"\nmonitoring = \"c\"\nresolved = \"d\"\n{sections}"
        );
        Config::from_toml_str(&text).unwrap()
    }

    const DISCORD_SECTION: &str = "[discord]\nguild_id = \"1\"\nincidents_channel = \"2\"\n";
    const PUBLIC_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.config_path, PathBuf::from("config/warroom.toml"));
        assert_eq!(s.database_url.expose(), "sqlite://warroom.db");
        assert_eq!(s.database_kind, DatabaseKind::Sqlite);
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.slack.api_url, "https://slack.com/api/");
        assert_eq!(s.discord.api_url, "https://discord.com");
        assert_eq!(
            s.pagerduty.events_url,
            "https://events.pagerduty.com/v2/enqueue"
        );
        assert!(s.slack.bot_token.is_none() && s.discord.token.is_none() && s.api_token.is_none());
    }

    #[test]
    fn overrides_are_read_and_normalised() {
        let s = settings(&[
            ("WARROOM_CONFIG", "/etc/warroom.toml"),
            ("DATABASE_URL", "postgres://u:pw@db/warroom"),
            ("WARROOM_LISTEN", "[::]:9000"),
            ("SLACK_API_URL", "http://127.0.0.1:4000/api"),
            ("DISCORD_API_URL", "http://127.0.0.1:4001/"),
            ("PAGERDUTY_EVENTS_URL", "http://127.0.0.1:4002/enqueue"),
            ("SLACK_BOT_TOKEN", "xoxb-1"),
            ("WARROOM_API_TOKEN", "t0ken"),
            ("DISCORD_TOKEN", "  "),
        ])
        .unwrap();
        assert_eq!(s.config_path, PathBuf::from("/etc/warroom.toml"));
        assert_eq!(s.database_kind, DatabaseKind::Postgres);
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.slack.api_url, "http://127.0.0.1:4000/api/");
        assert_eq!(s.discord.api_url, "http://127.0.0.1:4001");
        assert_eq!(s.pagerduty.events_url, "http://127.0.0.1:4002/enqueue");
        assert_eq!(
            s.slack.bot_token.as_ref().map(Secret::expose),
            Some("xoxb-1")
        );
        assert_eq!(s.api_token.as_ref().map(Secret::expose), Some("t0ken"));
        assert!(s.discord.token.is_none(), "a blank value counts as unset");
    }

    #[test]
    fn bad_values_are_all_reported() {
        let error = settings(&[
            ("DATABASE_URL", "mysql://db/warroom"),
            ("WARROOM_LISTEN", "localhost"),
            ("SLACK_API_URL", "slack.com/api"),
            ("DISCORD_APPLICATION_ID", "app"),
            ("DISCORD_PUBLIC_KEY", "xyz"),
        ])
        .unwrap_err();
        let paths: Vec<&str> = error.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "DATABASE_URL",
                "WARROOM_LISTEN",
                "SLACK_API_URL",
                "DISCORD_APPLICATION_ID",
                "DISCORD_PUBLIC_KEY"
            ]
        );
        assert!(
            error
                .to_string()
                .starts_with("environment: 5 problems\nDATABASE_URL: "),
            "{error}"
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let s = settings(&[
            ("SLACK_BOT_TOKEN", "xoxb-very-secret"),
            ("DATABASE_URL", "postgres://u:hunter2@db/w"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("[redacted]"));
        assert_eq!(Secret::new("x").to_string(), "[redacted]");
        assert_eq!(format!("{:?}", Secret::new("x")), "[redacted]");
    }

    #[test]
    fn slack_needs_its_section_and_the_secrets_of_its_mode() {
        let http = config("[slack]\nmode = \"http\"\n");
        let socket = config("[slack]\nmode = \"socket\"\n");
        let none = settings(&[]).unwrap();
        assert_eq!(
            none.slack_status(&http),
            FeatureStatus::Disabled(
                "Slack disabled: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set".into()
            )
        );
        let bot_only = settings(&[("SLACK_BOT_TOKEN", "b")]).unwrap();
        assert_eq!(
            bot_only.slack_status(&http).message(),
            "Slack disabled: SLACK_SIGNING_SECRET not set"
        );
        assert_eq!(
            bot_only.slack_status(&socket).message(),
            "Slack disabled: SLACK_APP_TOKEN not set"
        );
        let http_ready =
            settings(&[("SLACK_BOT_TOKEN", "b"), ("SLACK_SIGNING_SECRET", "s")]).unwrap();
        assert_eq!(
            http_ready.slack_status(&http),
            FeatureStatus::Enabled("Slack enabled (HTTP endpoints)".into())
        );
        assert!(!http_ready.slack_status(&socket).is_enabled());
        let socket_ready = settings(&[("SLACK_BOT_TOKEN", "b"), ("SLACK_APP_TOKEN", "a")]).unwrap();
        assert_eq!(
            socket_ready.slack_status(&socket).to_string(),
            "Slack enabled (Socket Mode)"
        );
        assert_eq!(
            http_ready.slack_status(&config("")).message(),
            "Slack disabled: the config has no [slack] section"
        );
    }

    #[test]
    fn discord_needs_token_application_id_and_section() {
        let with_section = config(DISCORD_SECTION);
        assert_eq!(
            settings(&[])
                .unwrap()
                .discord_status(&with_section)
                .message(),
            "Discord disabled: DISCORD_TOKEN and DISCORD_APPLICATION_ID not set"
        );
        let ready = settings(&[("DISCORD_TOKEN", "t"), ("DISCORD_APPLICATION_ID", "42")]).unwrap();
        let status = ready.discord_status(&with_section);
        assert!(status.is_enabled());
        assert!(
            status.message().contains("DISCORD_PUBLIC_KEY not set"),
            "{status}"
        );
        assert_eq!(
            ready.discord_status(&config("")).message(),
            "Discord disabled: the config has no [discord] section"
        );
        let with_key = settings(&[
            ("DISCORD_TOKEN", "t"),
            ("DISCORD_APPLICATION_ID", "42"),
            ("DISCORD_PUBLIC_KEY", PUBLIC_KEY),
        ])
        .unwrap();
        assert_eq!(
            with_key.discord_status(&with_section).message(),
            "Discord enabled (gateway and HTTP interactions endpoint)"
        );
    }

    #[test]
    fn trackers_need_their_credentials_which_stay_secret() {
        let github = config("[trackers.github]\nrepository = \"acme/ops\"\n");
        let none = settings(&[]).unwrap();
        assert_eq!(none.trackers.github_api_url, "https://api.github.com");
        assert_eq!(
            none.trackers.linear_api_url,
            "https://api.linear.app/graphql"
        );
        assert_eq!(
            none.tracker_status(&github).message(),
            "Follow-ups stay in warroom (GitHub is configured but GITHUB_TOKEN not set)"
        );
        assert_eq!(
            none.tracker_status(&config("")).message(),
            "Follow-ups stay in warroom: the config has no [trackers] section"
        );
        let error = none.tracker_problems(&github).unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment: 1 problem\nGITHUB_TOKEN: not set, and [trackers.github] needs it"
        );
        let all = config(
            "[trackers]\nfollowups = \"github\"\n[trackers.github]\nrepository = \"acme/ops\"\n\
             [trackers.jira]\nsite = \"https://acme.atlassian.net\"\nproject = \"OPS\"\n\
             [trackers.linear]\nteam = \"t\"\n",
        );
        let paths: Vec<String> = none
            .tracker_problems(&all)
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(
            paths,
            [
                "GITHUB_TOKEN",
                "JIRA_EMAIL",
                "JIRA_API_TOKEN",
                "LINEAR_API_KEY"
            ]
        );
        let set = settings(&[
            ("GITHUB_TOKEN", "github_pat_very-secret"),
            ("GITHUB_API_URL", "http://127.0.0.1:4003/"),
            ("JIRA_EMAIL", "ops@acme.test"),
            ("JIRA_API_TOKEN", "jira-very-secret"),
            ("LINEAR_API_KEY", "lin_api_very-secret"),
        ])
        .unwrap();
        assert!(set.tracker_problems(&all).is_ok());
        assert_eq!(
            set.tracker_status(&github).message(),
            "Follow-ups are filed in GitHub"
        );
        assert_eq!(set.trackers.github_api_url, "http://127.0.0.1:4003");
        let jira =
            config("[trackers.jira]\nsite = \"https://acme.atlassian.net\"\nproject = \"OPS\"\n");
        assert_eq!(
            set.tracker_status(&jira).message(),
            "Follow-ups are filed in Jira"
        );
        assert_eq!(
            set.tracker_status(&config("[trackers.linear]\nteam = \"t\"\n"))
                .message(),
            "Follow-ups are filed in Linear"
        );
        let shown = format!("{set:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(
            settings(&[("GITHUB_API_URL", "api.github.com")])
                .unwrap_err()
                .to_string()
                .contains("GITHUB_API_URL: expected an http:// or https:// URL")
        );
    }

    #[test]
    fn paging_and_api_report_their_switches() {
        let none = settings(&[]).unwrap();
        assert_eq!(
            none.pagerduty_status().message(),
            "PagerDuty paging disabled: PAGERDUTY_ROUTING_KEY not set"
        );
        assert_eq!(
            none.api_status().message(),
            "JSON API disabled: WARROOM_API_TOKEN not set"
        );
        let both = settings(&[("PAGERDUTY_ROUTING_KEY", "r"), ("WARROOM_API_TOKEN", "a")]).unwrap();
        assert!(both.pagerduty_status().is_enabled() && both.api_status().is_enabled());
    }
}
