//! `[[alert_route]]`: which alerts open or propose which incidents.

use super::{Builder, unknown};
use crate::config::model::{AlertMode, AlertRoute, DiscordConfig, SlackConfig};
use crate::config::problem::join;
use crate::config::raw::RawAlertRoute;
use crate::config::template::{Braces, placeholders};
use crate::domain::{Platform, Severity};
use regex::Regex;
use std::collections::BTreeSet;
use toml::Value;

/// What a route's incident is called when the route gives no title.
const DEFAULT_TITLE: &str = "{alertname}";

const MODES: [&str; 2] = ["declare", "propose"];

impl Builder<'_> {
    pub(super) fn alert_routes(
        &mut self,
        value: Option<Value>,
        slack: Option<&SlackConfig>,
        discord: Option<&DiscordConfig>,
    ) -> Vec<AlertRoute> {
        let mut out: Vec<AlertRoute> = Vec::new();
        // Names of routes that failed to read count too, so a copy is still reported.
        let mut names = BTreeSet::new();
        for (i, item) in self
            .array_of_tables(value, "alert_route", "[[alert_route]]")
            .into_iter()
            .enumerate()
        {
            let path = format!("alert_route[{i}]");
            let Some(raw) = self.read::<RawAlertRoute>(item, &path) else {
                continue;
            };
            if self.check_name(&join(&path, "name"), &raw.name, "route")
                && !names.insert(raw.name.clone())
            {
                self.problem(
                    join(&path, "name"),
                    format!("route `{}` is defined twice", raw.name),
                );
            }
            let mut regex = Vec::new();
            for (label, pattern) in &raw.match_re {
                // Anchored, as Alertmanager anchors its `=~` matchers.
                match Regex::new(&format!("^(?:{pattern})$")) {
                    Ok(compiled) => regex.push((label.clone(), compiled)),
                    Err(error) => self.problem(
                        join(&join(&path, "match_re"), label),
                        format!("invalid regex: {}", super::actions::regex_message(&error)),
                    ),
                }
            }
            let severity = match self.resolve_severity(&raw.severity) {
                Some(canonical) => Some(Severity::new(canonical)),
                None => {
                    let message = self.unknown_severity(&raw.severity);
                    self.problem(join(&path, "severity"), message);
                    None
                }
            };
            for (j, service) in raw.services.iter().enumerate() {
                self.check_name(&format!("{path}.services[{j}]"), service, "service");
            }
            let title = raw.title.unwrap_or_else(|| DEFAULT_TITLE.to_string());
            if let Err(message) = placeholders(&title, Braces::PlaceholdersOnly) {
                self.problem(join(&path, "title"), message);
            }
            let platform = self.route_platform(&path, &raw.platform, slack, discord);
            let mode = match raw.mode.as_str() {
                "declare" => Some(AlertMode::Declare),
                "propose" => Some(AlertMode::Propose),
                other => {
                    self.problem(
                        join(&path, "mode"),
                        unknown("mode", other, MODES.into_iter()),
                    );
                    None
                }
            };
            if let (Some(AlertMode::Propose), Some((platform, false))) = (mode, platform) {
                self.problem(
                    join(&path, "mode"),
                    format!(
                        "propose posts the alert in the announce channel: set {platform}.announce_channel"
                    ),
                );
            }
            if let (Some(severity), Some((platform, _)), Some(mode)) = (severity, platform, mode) {
                out.push(AlertRoute {
                    name: raw.name,
                    equal: raw.equal,
                    regex,
                    severity,
                    services: raw.services,
                    title,
                    platform,
                    mode,
                });
            }
        }
        out
    }

    /// The route's platform, and whether it has an announce channel; the
    /// platform's section must be in the config.
    fn route_platform(
        &mut self,
        path: &str,
        word: &str,
        slack: Option<&SlackConfig>,
        discord: Option<&DiscordConfig>,
    ) -> Option<(Platform, bool)> {
        let at = join(path, "platform");
        let (platform, announce) = match word {
            "slack" => (Platform::Slack, slack.map(|s| s.announce_channel.is_some())),
            "discord" => (
                Platform::Discord,
                discord.map(|d| d.announce_channel.is_some()),
            ),
            other => {
                self.problem(
                    at,
                    unknown("platform", other, ["slack", "discord"].into_iter()),
                );
                return None;
            }
        };
        match announce {
            Some(announce) => Some((platform, announce)),
            None => {
                self.problem(at, format!("the config has no [{word}] section"));
                None
            }
        }
    }
}
