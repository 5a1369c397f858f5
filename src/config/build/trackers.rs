//! `[trackers]`: the GitHub repository, Jira project and Linear team follow-ups
//! are filed in, and which of them files them. The tokens are the environment's
//! (see `env`); only where to file is written here.

use super::{Builder, is_http_url, is_word, unknown};
use crate::config::model::{GitHubTracker, JiraTracker, LinearTracker, TrackersConfig};
use crate::config::raw::{RawGitHub, RawJira, RawLinear, RawTrackers};
use crate::domain::Tracker;
use toml::Value;

const TRACKERS: [Tracker; 3] = [Tracker::GitHub, Tracker::Jira, Tracker::Linear];

/// GitHub refuses longer label names.
const GITHUB_LABEL_LIMIT: usize = 50;

impl Builder<'_> {
    pub(super) fn trackers(&mut self, value: Value) -> TrackersConfig {
        let Some(raw) = self.read::<RawTrackers>(value, "trackers") else {
            return TrackersConfig::default();
        };
        let mut trackers = TrackersConfig {
            github: raw.github.map(|raw| self.github(raw)),
            jira: raw.jira.map(|raw| self.jira(raw)),
            linear: raw.linear.map(|raw| self.linear(raw)),
            followups: None,
        };
        let configured = trackers.configured();
        trackers.followups = match (raw.followups.as_deref(), configured.as_slice()) {
            (None, []) => None,
            (None, [only]) => Some(*only),
            (None, _) => {
                self.problem(
                    "trackers.followups",
                    "several trackers are configured: say which one files follow-ups \
                     (followups = \"github\", \"jira\" or \"linear\")",
                );
                None
            }
            (Some(word), _) => match configured.iter().find(|t| t.key() == word) {
                Some(tracker) => Some(*tracker),
                None if TRACKERS.iter().any(|t| t.key() == word) => {
                    self.problem(
                        "trackers.followups",
                        format!("`{word}` has no [trackers.{word}] table"),
                    );
                    None
                }
                None => {
                    let message = unknown("tracker", word, TRACKERS.iter().map(|t| t.key()));
                    self.problem("trackers.followups", message);
                    None
                }
            },
        };
        trackers
    }

    fn github(&mut self, raw: RawGitHub) -> GitHubTracker {
        let well_formed = raw
            .repository
            .split_once('/')
            .is_some_and(|(owner, name)| is_github_login(owner) && is_word(name, "-_."));
        if !well_formed {
            self.problem(
                "trackers.github.repository",
                format!(
                    "`{}` is not a repository like `acme/ops` (owner/name)",
                    raw.repository
                ),
            );
        }
        for (i, label) in raw.labels.iter().enumerate() {
            if label.trim().is_empty() || label.chars().count() > GITHUB_LABEL_LIMIT {
                self.problem(
                    format!("trackers.github.labels[{i}]"),
                    format!("a label has 1 to {GITHUB_LABEL_LIMIT} characters"),
                );
            }
        }
        GitHubTracker {
            repository: raw.repository,
            labels: raw.labels,
        }
    }

    fn jira(&mut self, raw: RawJira) -> JiraTracker {
        if !is_http_url(&raw.site) {
            self.problem(
                "trackers.jira.site",
                "expected the site's https:// URL, like https://acme.atlassian.net",
            );
        }
        let key_like = raw.project.starts_with(|c: char| c.is_ascii_uppercase())
            && raw
                .project
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !key_like {
            self.problem(
                "trackers.jira.project",
                format!(
                    "`{}` is not a project key (capital letters, digits and `_`, like OPS)",
                    raw.project
                ),
            );
        }
        let issue_type = raw.issue_type.unwrap_or_else(|| "Task".to_string());
        if issue_type.trim().is_empty() {
            self.problem(
                "trackers.jira.issue_type",
                "must not be empty; leave it out for Task",
            );
        }
        JiraTracker {
            site: raw.site.trim_end_matches('/').to_string(),
            project: raw.project,
            issue_type,
        }
    }

    fn linear(&mut self, raw: RawLinear) -> LinearTracker {
        if raw.team.trim().is_empty() {
            self.problem("trackers.linear.team", "must not be empty");
        }
        LinearTracker { team: raw.team }
    }
}

/// A GitHub user or organisation name: letters, digits and single hyphens, not
/// at either end, at most 39 characters.
pub(super) fn is_github_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 39
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !login.starts_with('-')
        && !login.ends_with('-')
        && !login.contains("--")
}
