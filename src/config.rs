//! stub until the config module lands.
use crate::domain::{Platform, Role, Severity, UserId};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SeverityConfig {
    pub name: String,
    pub label: String,
    pub respond_within: Duration,
    pub update_every: Option<Duration>,
    pub page: bool,
}

#[derive(Debug, Clone)]
pub struct SlackConfig {
    pub channel_prefix: String,
    pub announce_channel: Option<String>,
}
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    pub announce_channel: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ActionConfig {
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {}
impl crate::command::SeverityWords for Config {
    fn resolve(&self, _w: &str) -> Option<Severity> {
        todo!()
    }
    fn words(&self) -> Vec<String> {
        todo!()
    }
}

impl Config {
    pub fn severities(&self) -> &[SeverityConfig] {
        todo!()
    }
    pub fn severity(&self, _s: &Severity) -> Option<&SeverityConfig> {
        todo!()
    }
    pub fn default_severity(&self) -> Option<Severity> {
        todo!()
    }
    pub fn assignment(&self, _s: &Severity) -> Vec<(Role, &str)> {
        todo!()
    }
    pub fn person_id(&self, _p: &str, _pl: Platform) -> Option<UserId> {
        todo!()
    }
    pub fn person_by_id(&self, _pl: Platform, _u: &UserId) -> Option<&str> {
        todo!()
    }
    pub fn timezone(&self) -> chrono_tz::Tz {
        todo!()
    }
    pub fn public_url(&self) -> &str {
        todo!()
    }
    pub fn slack(&self) -> Option<&SlackConfig> {
        todo!()
    }
    pub fn discord(&self) -> Option<&DiscordConfig> {
        todo!()
    }
    pub fn actions(&self) -> impl Iterator<Item = (&String, &ActionConfig)> {
        std::iter::empty()
    }
}
