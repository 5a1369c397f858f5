//! From the parsed TOML table to a checked [`Config`], collecting every problem.
//!
//! Each section, and each entry within it, is read on its own, so a mistake in
//! one place never hides a mistake in another. Names are registered before
//! anything refers to them, and an entry that failed to read still registers
//! its name, so a typo in a severity does not also make every `assign` for it
//! look unknown.

use super::Config;
use super::duration::{DURATION_HINT, parse_duration};
use super::model::{
    BotConfig, DiscordConfig, Escalation, Person, RetentionConfig, ServiceConfig, SeverityConfig,
    SlackConfig, SlackMode, StatusPageConfig, TrackersConfig,
};
use super::problem::{Problems, join};
use super::raw::{
    RawBot, RawDiscord, RawEscalation, RawPerson, RawRetention, RawService, RawSeverity, RawSlack,
    RawStatusPage,
};
use super::template::{Braces, placeholders};
use crate::command::{Subcommand, nearest};
use crate::domain::{Role, Severity, Status, UserId, is_snowflake};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use toml::{Table, Value};

mod actions;
mod alert_routes;
mod trackers;

const SECTIONS: [&str; 15] = [
    "bot",
    "severity",
    "people",
    "assign",
    "levels",
    "service",
    "phrases",
    "actions",
    "runbooks",
    "slack",
    "discord",
    "status_page",
    "retention",
    "alert_route",
    "trackers",
];

/// The shortest `retention.processed_requests`: Slack and Discord retry a
/// request within minutes, and a retry must still find it answered.
const MIN_REQUEST_RETENTION: Duration = Duration::from_secs(60 * 60);

/// Builds the config from a parsed document; `None` when something essential
/// could not be read. Callers must treat any recorded problem as failure.
pub(super) fn build(doc: Table, problems: &mut Problems) -> Option<Config> {
    let mut sections = BTreeMap::new();
    for (key, value) in doc {
        if SECTIONS.contains(&key.as_str()) {
            sections.insert(key, value);
        } else {
            let message = unknown("section", &key, SECTIONS.iter().copied());
            problems.push(key, message);
        }
    }
    let mut section = |name: &str| sections.remove(name);

    let mut b = Builder {
        problems,
        severity_words: BTreeMap::new(),
        people: BTreeSet::new(),
        levels: BTreeSet::new(),
        actions: BTreeSet::new(),
        stand_ins: BTreeSet::new(),
    };

    let severity_items = b.array_of_tables(section("severity"), "severity", "[[severity]]");
    b.register_severity_words(&severity_items);
    let people_items = b.table(section("people"), "people");
    b.people = people_items.keys().cloned().collect();
    let level_items = b.table(section("levels"), "levels");
    b.levels = level_items.keys().cloned().collect();
    let action_items = b.table(section("actions"), "actions");
    b.actions = action_items.keys().cloned().collect();

    let bot = b.bot(section("bot"));
    let severities = b.severities(severity_items);
    let people = b.people(people_items);
    let levels = b.levels(level_items);
    let assign = b.assign(section("assign"));
    let services = b.services(section("service"));
    let phrases = b.phrases(section("phrases"));
    let slack = section("slack").and_then(|v| b.slack(v));
    let discord = section("discord").and_then(|v| b.discord(v));
    let status_page = section("status_page").and_then(|v| b.status_page(v));
    let actions = b.actions(action_items, status_page.as_ref());
    let runbooks = b.runbooks(section("runbooks"), &actions);
    let retention = section("retention").map_or_else(RetentionConfig::default, |v| b.retention(v));
    let alert_routes = b.alert_routes(section("alert_route"), slack.as_ref(), discord.as_ref());
    let trackers = section("trackers").map_or_else(TrackersConfig::default, |v| b.trackers(v));

    Some(Config {
        bot: bot?,
        severities,
        people,
        assign,
        levels,
        services,
        phrases,
        actions,
        runbooks,
        slack,
        discord,
        status_page,
        retention,
        alert_routes,
        trackers,
    })
}

struct Builder<'p> {
    problems: &'p mut Problems,
    /// Every severity name and alias, lower case → canonical name.
    severity_words: BTreeMap<String, String>,
    /// Keys of `[people]`, `[levels]` and `[actions]`, including entries that failed to read.
    people: BTreeSet<String>,
    levels: BTreeSet<String>,
    actions: BTreeSet<String>,
    /// Paths of required keys that were missing and stood in for by [`Builder::read`].
    stand_ins: BTreeSet<String>,
}

impl Builder<'_> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        // A stand-in for a missing key is not the user's value: its problems
        // would only repeat that the key is missing.
        if self.stand_ins.contains(&path) {
            return;
        }
        self.problems.push(path, message);
    }

    /// Reads one entry with serde, reporting the first problem inside it at its full path.
    ///
    /// A required key missing from the entry's own table is reported, then stood in
    /// for with an empty string, so that the entry's other values are still read
    /// and checked: a severity without `respond_within` still has its
    /// `update_every` judged. The config fails to load either way.
    fn read<T: DeserializeOwned>(&mut self, mut value: Value, path: &str) -> Option<T> {
        loop {
            let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
                Ok(v) => return Some(v),
                Err(error) => error,
            };
            let inner = error.path().to_string();
            let at = if inner == "." {
                path.to_string()
            } else {
                join(path, &inner)
            };
            let message = error.inner().message().to_owned();
            self.problem(at, serde_message(&message));
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'));
            let stand_in = match (&mut value, missing) {
                (Value::Table(table), Some(key)) if inner == "." && !table.contains_key(key) => {
                    table.insert(key.to_owned(), Value::String(String::new()));
                    join(path, key)
                }
                _ => return None,
            };
            self.stand_ins.insert(stand_in);
        }
    }

    fn table(&mut self, value: Option<Value>, path: &str) -> Table {
        match value {
            None => Table::new(),
            Some(Value::Table(t)) => t,
            Some(other) => {
                self.problem(
                    path,
                    format!("expected a table, found {}", other.type_str()),
                );
                Table::new()
            }
        }
    }

    fn array_of_tables(&mut self, value: Option<Value>, path: &str, header: &str) -> Vec<Value> {
        match value {
            None => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.problem(
                    path,
                    format!("expected an array of tables: write each as {header}"),
                );
                Vec::new()
            }
        }
    }

    fn duration(&mut self, value: &Value, path: &str) -> Option<Duration> {
        let Value::String(text) = value else {
            self.problem(path, format!("{DURATION_HINT} (a quoted string)"));
            return None;
        };
        parse_duration(text)
            .inspect_err(|problem| self.problem(path, problem.to_string()))
            .ok()
    }

    /// Names that people type in commands: letters, digits, `.`, `_`, `-`.
    fn check_name(&mut self, path: &str, name: &str, what: &str) -> bool {
        let ok = is_word(name, "._-");
        if !ok {
            self.problem(
                path,
                format!("`{name}` cannot be a {what} name: use letters, digits, `.`, `_` and `-`"),
            );
        }
        ok
    }

    fn resolve_severity(&self, word: &str) -> Option<&str> {
        self.severity_words
            .get(&word.to_ascii_lowercase())
            .map(String::as_str)
    }

    fn unknown_severity(&self, word: &str) -> String {
        let names: BTreeSet<&str> = self.severity_words.values().map(String::as_str).collect();
        unknown("severity", word, names.iter().copied())
    }

    fn role(&mut self, path: &str, word: &str) -> Option<Role> {
        let role = Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(word));
        if role.is_none() {
            self.problem(
                path,
                format!("unknown role `{word}` (expected commander, technical, comms or scribe)"),
            );
        }
        role
    }

    fn person_ref(&mut self, path: &str, key: &str) {
        if !self.people.contains(key) {
            let message = unknown("person", key, self.people.iter().map(String::as_str));
            self.problem(path, message);
        }
    }

    /// Registers severity names and aliases first, so every later reference can be checked.
    fn register_severity_words(&mut self, items: &[Value]) {
        for (i, item) in items.iter().enumerate() {
            let path = format!("severity[{i}]");
            let Some(name) = item.get("name").and_then(Value::as_str) else {
                continue;
            };
            let canonical = name.to_ascii_lowercase();
            let aliases = item.get("aliases").and_then(Value::as_array);
            let alias_words = aliases
                .into_iter()
                .flatten()
                .enumerate()
                .filter_map(|(j, a)| a.as_str().map(|a| (format!("{path}.aliases[{j}]"), a)));
            let words: Vec<(String, &str)> = std::iter::once((format!("{path}.name"), name))
                .chain(alias_words)
                .collect();
            for (word_path, word) in words {
                self.register_severity_word(&word_path, word, &canonical);
            }
        }
    }

    fn register_severity_word(&mut self, path: &str, word: &str, canonical: &str) {
        let lower = word.to_ascii_lowercase();
        let well_formed = is_word(&lower, "-_");
        if let Some(owner) = self.severity_words.get(&lower) {
            let message = if owner == canonical {
                format!("`{word}` is listed twice for {owner}")
            } else {
                format!("`{word}` is already a name or alias of {owner}")
            };
            self.problem(path, message);
            return;
        }
        if !well_formed {
            self.problem(
                path,
                format!("`{word}` cannot be a severity word: use letters, digits, `-` and `_`"),
            );
        } else if Subcommand::named(&lower).is_some() {
            // `/incident <severity> <title>` would read it as that subcommand.
            self.problem(
                path,
                format!("`{word}` is an /incident subcommand, so it cannot name a severity"),
            );
        }
        // Registered even when unusable, so references to it are not reported twice.
        self.severity_words.insert(lower, canonical.to_string());
    }

    fn bot(&mut self, value: Option<Value>) -> Option<BotConfig> {
        let Some(value) = value else {
            self.problem("bot", "missing section: [bot] with at least public_url");
            return None;
        };
        let raw: RawBot = self.read(value, "bot")?;
        let public_url = raw.public_url.trim_end_matches('/').to_string();
        if !is_http_url(&public_url) {
            self.problem("bot.public_url", "expected an http:// or https:// URL");
        }
        let timezone = match raw.timezone.as_deref() {
            None => chrono_tz::UTC,
            Some(name) => name.parse().unwrap_or_else(|_| {
                self.problem(
                    "bot.timezone",
                    format!(
                        "unknown time zone `{name}`: use an IANA name like UTC or Europe/Berlin"
                    ),
                );
                chrono_tz::UTC
            }),
        };
        let default_severity =
            raw.default_severity
                .and_then(|word| match self.resolve_severity(&word) {
                    Some(canonical) => Some(Severity::new(canonical)),
                    None => {
                        let message = self.unknown_severity(&word);
                        self.problem("bot.default_severity", message);
                        None
                    }
                });
        Some(BotConfig {
            public_url,
            timezone,
            default_severity,
        })
    }

    fn severities(&mut self, items: Vec<Value>) -> Vec<SeverityConfig> {
        if items.is_empty() {
            self.problem("severity", "at least one [[severity]] is needed");
        }
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("severity[{i}]");
            let Some(raw) = self.read::<RawSeverity>(item, &path) else {
                continue;
            };
            if let Some(s) = self.severity(raw, &path) {
                out.push(s);
            }
        }
        out
    }

    fn severity(&mut self, raw: RawSeverity, path: &str) -> Option<SeverityConfig> {
        let respond_within = self.duration(&raw.respond_within, &join(path, "respond_within"));
        let update_every = raw
            .update_every
            .as_ref()
            .map(|v| self.duration(v, &join(path, "update_every")));
        let escalate = self.escalations(raw.escalate, &join(path, "escalate"));
        let update_every = match update_every {
            None => None,
            Some(parsed) => Some(parsed?),
        };
        let name = raw.name.to_ascii_lowercase();
        Some(SeverityConfig {
            label: raw.label.unwrap_or_else(|| name.to_ascii_uppercase()),
            name: Severity::new(name),
            aliases: raw.aliases.iter().map(|a| a.to_ascii_lowercase()).collect(),
            description: raw.description.unwrap_or_default(),
            respond_within: respond_within?,
            update_every,
            remind_while_monitoring: raw.remind_while_monitoring.unwrap_or(true),
            page: raw.page,
            private: raw.private,
            escalate: escalate?,
        })
    }

    fn escalations(&mut self, raw: Vec<RawEscalation>, path: &str) -> Option<Vec<Escalation>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, step) in raw.into_iter().enumerate() {
            let step_path = format!("{path}[{i}]");
            if !self.levels.contains(&step.to) {
                let message = unknown("level", &step.to, self.levels.iter().map(String::as_str));
                self.problem(join(&step_path, "to"), message);
            }
            let Some(after) = self.duration(&step.after, &join(&step_path, "after")) else {
                ok = false;
                continue;
            };
            if out
                .last()
                .is_some_and(|prev: &Escalation| prev.after >= after)
            {
                self.problem(
                    join(&step_path, "after"),
                    "escalation steps must come in increasing order of `after`",
                );
            }
            out.push(Escalation { after, to: step.to });
        }
        ok.then_some(out)
    }

    fn people(&mut self, items: Table) -> BTreeMap<String, Person> {
        let mut out = BTreeMap::new();
        let mut slack_ids: BTreeMap<String, String> = BTreeMap::new();
        let mut discord_ids: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in items {
            let path = join("people", &key);
            self.check_name(&path, &key, "person");
            let Some(raw) = self.read::<RawPerson>(value, &path) else {
                continue;
            };
            if let Some(id) = &raw.slack {
                let well_formed = id.len() > 2
                    && id.starts_with(['U', 'W'])
                    && id
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
                if !well_formed {
                    self.problem(
                        join(&path, "slack"),
                        format!("`{id}` is not a Slack user id (like U012ABCDEF)"),
                    );
                }
                self.unique_id(&mut slack_ids, id, &key, &join(&path, "slack"));
            }
            if let Some(id) = &raw.discord {
                if !is_snowflake(id) {
                    self.problem(
                        join(&path, "discord"),
                        format!(
                            "`{id}` is not a Discord user id (digits, like 123456789012345678)"
                        ),
                    );
                }
                self.unique_id(&mut discord_ids, id, &key, &join(&path, "discord"));
            }
            if raw.email.as_ref().is_some_and(|e| !e.contains('@')) {
                self.problem(join(&path, "email"), "expected an email address");
            }
            if let Some(login) = raw
                .github
                .as_ref()
                .filter(|l| !trackers::is_github_login(l))
            {
                self.problem(
                    join(&path, "github"),
                    format!("`{login}` is not a GitHub login (letters, digits and single hyphens)"),
                );
            }
            if raw.jira.as_ref().is_some_and(|id| !is_word(id, "-:")) {
                self.problem(
                    join(&path, "jira"),
                    "expected an Atlassian account id, like 5b10ac8d82e05b22cc7d4ef5",
                );
            }
            if raw.linear.as_ref().is_some_and(|id| !is_word(id, "-")) {
                self.problem(
                    join(&path, "linear"),
                    "expected a Linear user id, like 2f0e5a4c-8d4b-4f3e-9c55-1b8c2a7d9e10",
                );
            }
            out.insert(
                key.clone(),
                Person {
                    key,
                    name: raw.name,
                    slack: raw.slack.map(UserId::new),
                    discord: raw.discord.map(UserId::new),
                    email: raw.email,
                    github: raw.github,
                    jira: raw.jira,
                    linear: raw.linear,
                },
            );
        }
        out
    }

    /// A platform id must point at one person, or mentions could not be told apart.
    fn unique_id(&mut self, seen: &mut BTreeMap<String, String>, id: &str, key: &str, path: &str) {
        if let Some(owner) = seen.get(id) {
            self.problem(path, format!("`{id}` is also the id of people.{owner}"));
        } else {
            seen.insert(id.to_string(), key.to_string());
        }
    }

    fn levels(&mut self, items: Table) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for (name, value) in items {
            let path = join("levels", &name);
            self.check_name(&path, &name, "level");
            let Some(list) = self.string_list(value, &path, "a list of people") else {
                continue;
            };
            if list.is_empty() {
                self.problem(&path, "a level needs at least one person");
            }
            for (i, person) in list.iter().enumerate() {
                self.person_ref(&format!("{path}[{i}]"), person);
            }
            out.insert(name, list);
        }
        out
    }

    fn string_list(&mut self, value: Value, path: &str, what: &str) -> Option<Vec<String>> {
        let Value::Array(items) = value else {
            self.problem(path, format!("expected {what}"));
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::String(s) => out.push(s),
                other => self.problem(
                    format!("{path}[{i}]"),
                    format!("expected a string, found {}", other.type_str()),
                ),
            }
        }
        Some(out)
    }

    fn assign(&mut self, value: Option<Value>) -> BTreeMap<Severity, BTreeMap<Role, String>> {
        let mut out: BTreeMap<Severity, BTreeMap<Role, String>> = BTreeMap::new();
        let mut written_as: BTreeMap<String, String> = BTreeMap::new();
        for (word, roles) in self.table(value, "assign") {
            let path = join("assign", &word);
            let severity = match self.resolve_severity(&word) {
                Some(canonical) => Some(canonical.to_string()),
                None => {
                    let message = self.unknown_severity(&word);
                    self.problem(&path, message);
                    None
                }
            };
            if let Some(canonical) = &severity {
                if let Some(first) = written_as.get(canonical) {
                    self.problem(
                        &path,
                        format!("{canonical} is already assigned under assign.{first}"),
                    );
                } else {
                    written_as.insert(canonical.clone(), word.clone());
                }
            }
            let Value::Table(roles) = roles else {
                self.problem(&path, "expected a table of role = \"person\"");
                continue;
            };
            let mut assignment = BTreeMap::new();
            for (role_word, person) in roles {
                let role_path = join(&path, &role_word);
                let role = self.role(&role_path, &role_word);
                let Value::String(person) = person else {
                    self.problem(&role_path, "expected a person's key as a string");
                    continue;
                };
                self.person_ref(&role_path, &person);
                if let Some(role) = role {
                    assignment.insert(role, person);
                }
            }
            if let Some(canonical) = severity {
                out.entry(Severity::new(canonical))
                    .or_default()
                    .extend(assignment);
            }
        }
        out
    }

    fn services(&mut self, value: Option<Value>) -> Vec<ServiceConfig> {
        let mut out: Vec<ServiceConfig> = Vec::new();
        for (i, item) in self
            .array_of_tables(value, "service", "[[service]]")
            .into_iter()
            .enumerate()
        {
            let path = format!("service[{i}]");
            let Some(raw) = self.read::<RawService>(item, &path) else {
                continue;
            };
            self.check_name(&join(&path, "name"), &raw.name, "service");
            if out.iter().any(|s| s.name.eq_ignore_ascii_case(&raw.name)) {
                self.problem(
                    join(&path, "name"),
                    format!("service `{}` is defined twice", raw.name),
                );
            }
            let rto = raw
                .rto
                .as_ref()
                .and_then(|v| self.duration(v, &join(&path, "rto")));
            let rpo = raw
                .rpo
                .as_ref()
                .and_then(|v| self.duration(v, &join(&path, "rpo")));
            out.push(ServiceConfig {
                name: raw.name,
                rto,
                rpo,
            });
        }
        out
    }

    fn phrases(&mut self, value: Option<Value>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (key, phrase) in self.table(value, "phrases") {
            let path = join("phrases", &key);
            self.check_name(&path, &key, "phrase");
            let Value::String(text) = phrase else {
                self.problem(&path, "expected a string");
                continue;
            };
            // Phrases are filled from whatever `key=value` the update carries, so
            // any well-formed placeholder may appear.
            if let Err(message) = placeholders(&text, Braces::PlaceholdersOnly) {
                self.problem(&path, message);
            }
            out.insert(key, text);
        }
        for status in Status::ALL {
            if !out.contains_key(status.as_str()) {
                self.problem(
                    join("phrases", status.as_str()),
                    "missing: every status needs a phrase for its updates",
                );
            }
        }
        out
    }

    fn slack(&mut self, value: Value) -> Option<SlackConfig> {
        let raw: RawSlack = self.read(value, "slack")?;
        let mode = match raw.mode.as_deref() {
            None | Some("http") => SlackMode::Http,
            Some("socket") => SlackMode::Socket,
            Some(other) => {
                self.problem(
                    "slack.mode",
                    format!("unknown mode `{other}` (expected http or socket)"),
                );
                SlackMode::Http
            }
        };
        let channel_prefix = raw.channel_prefix.unwrap_or_else(|| "inc".to_string());
        let well_formed = !channel_prefix.is_empty()
            && channel_prefix.len() <= 20
            && channel_prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !well_formed {
            self.problem(
                "slack.channel_prefix",
                "Slack channel names allow lower-case letters, digits, `-` and `_`; use at most 20",
            );
        }
        if raw
            .announce_channel
            .as_ref()
            .is_some_and(|c| c.trim().is_empty())
        {
            self.problem(
                "slack.announce_channel",
                "must not be empty; leave it out instead",
            );
        }
        Some(SlackConfig {
            mode,
            channel_prefix,
            announce_channel: raw.announce_channel,
        })
    }

    fn discord(&mut self, value: Value) -> Option<DiscordConfig> {
        let raw: RawDiscord = self.read(value, "discord")?;
        let ids = [
            ("guild_id", Some(&raw.guild_id)),
            ("incidents_channel", Some(&raw.incidents_channel)),
            ("announce_channel", raw.announce_channel.as_ref()),
        ];
        for (key, id) in ids {
            if let Some(id) = id.filter(|id| !is_snowflake(id)) {
                self.problem(
                    join("discord", key),
                    format!("`{id}` is not a Discord id (digits, like 1100000000000000001)"),
                );
            }
        }
        Some(DiscordConfig {
            guild_id: raw.guild_id,
            incidents_channel: raw.incidents_channel,
            announce_channel: raw.announce_channel,
            global_commands: raw.global_commands,
        })
    }

    fn status_page(&mut self, value: Value) -> Option<StatusPageConfig> {
        let raw: RawStatusPage = self.read(value, "status_page")?;
        if raw.title.trim().is_empty() {
            self.problem("status_page.title", "must not be empty");
        }
        for (i, component) in raw.components.iter().enumerate() {
            let path = format!("status_page.components[{i}]");
            if component.trim().is_empty() {
                self.problem(&path, "must not be empty");
            } else if raw.components[..i]
                .iter()
                .any(|c| c.eq_ignore_ascii_case(component))
            {
                self.problem(&path, format!("component `{component}` is listed twice"));
            }
        }
        Some(StatusPageConfig {
            title: raw.title,
            components: raw.components,
        })
    }

    /// `[retention]`: a value left out, or one that failed its check, keeps its default.
    fn retention(&mut self, value: Value) -> RetentionConfig {
        let mut retention = RetentionConfig::default();
        let Some(raw) = self.read::<RawRetention>(value, "retention") else {
            return retention;
        };
        if let Some(window) = raw
            .processed_requests
            .and_then(|v| self.duration(&v, "retention.processed_requests"))
        {
            if window < MIN_REQUEST_RETENTION {
                self.problem(
                    "retention.processed_requests",
                    "must be at least 1h: platforms retry a request within minutes, \
                     and a retry must still find it answered",
                );
            } else {
                retention.processed_requests = window;
            }
        }
        if let Some(window) = raw
            .delivered_operations
            .and_then(|v| self.duration(&v, "retention.delivered_operations"))
        {
            retention.delivered_operations = window;
        }
        retention
    }
}

/// Whether `text` is a word people can type: it starts with an ASCII letter or
/// digit, and every other character is one too or one of `punctuation`.
fn is_word(text: &str, punctuation: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || punctuation.contains(c))
}

fn is_http_url(url: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        url.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty())
    })
}

/// `unknown person `alcie` (did you mean `alice`?)`, or the known names when there are few.
fn unknown<'a>(what: &str, word: &str, known: impl Iterator<Item = &'a str> + Clone) -> String {
    let hint = suggestion(word, known.clone());
    if !hint.is_empty() {
        return format!("unknown {what} `{word}`{hint}");
    }
    let known: Vec<&str> = known.collect();
    match known.len() {
        0 => format!("unknown {what} `{word}` (none are defined)"),
        1..=12 => format!("unknown {what} `{word}` (known: {})", known.join(", ")),
        _ => format!("unknown {what} `{word}`"),
    }
}

/// ` (did you mean `x`?)` for the name a mistyped word most likely meant, by the
/// same rule the command parser suggests with, or nothing.
fn suggestion<'a>(word: &str, known: impl Iterator<Item = &'a str>) -> String {
    nearest(word, known)
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// serde's wording in config terms; an unknown key gets a did-you-mean when
/// one of the expected keys is close.
fn serde_message(message: &str) -> String {
    let message = message.trim().replace("unknown field", "unknown key");
    let Some((key, expected)) = message
        .strip_prefix("unknown key `")
        .and_then(|rest| rest.split_once("`, expected one of "))
    else {
        return message;
    };
    let expected = expected.split(", ").map(|k| k.trim_matches('`'));
    match suggestion(key, expected) {
        hint if hint.is_empty() => message,
        hint => format!("unknown key `{key}`{hint}"),
    }
}
