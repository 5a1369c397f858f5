//! What the public sees of incidents: the state of each status-page component,
//! the impact of an incident, and an incident's public history.
//!
//! Owns: the status page's rules — which incidents touch which component, how a
//! severity shows as a component state, when an explicitly set state holds.
//! Must not: read the store or render anything; callers pass what they read and
//! draw what comes back.
//!
//! The rules, in full:
//! - An incident touches a component when one of its services (`service=` on
//!   declare) equals the component's name, ignoring case.
//! - An open incident's impact follows the order of `[[severity]]` in config, most
//!   severe first: the first severity is a major outage, the second a partial
//!   outage, any other (or one no longer configured) degraded performance.
//! - A component's state is the worst impact of the open incidents touching it,
//!   or operational if there are none.
//! - A state set explicitly (a `status` action) replaces that while it holds: for
//!   good if it was set outside an incident, while its incident is open if set in
//!   one. It speaks for what was known when it was set, so an incident declared
//!   later still makes the component worse, never better.
//! - The overall state is the worst of the components' states and of the impact of
//!   open incidents that touch no component (they are listed on the page too).
//! - Drills count for nothing.

use crate::config::Config;
use crate::domain::{ComponentSetting, ComponentState, Incident, Severity, Status, StatusUpdate};

/// Shown for the moment an incident was declared, before anyone wrote an update.
pub const DECLARED_TEXT: &str = "We are investigating this issue.";

/// Shown for the moment an incident was resolved without a closing update.
pub const RESOLVED_TEXT: &str = "This incident has been resolved.";

/// One component of `[status_page]` and its state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentStatus {
    pub name: String,
    pub state: ComponentState,
}

/// The state of everything the status page shows at the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSummary {
    pub overall: ComponentState,
    pub components: Vec<ComponentStatus>,
}

/// How an open incident of `severity` shows on the components it touches.
pub fn impact(config: &Config, severity: &Severity) -> ComponentState {
    match config
        .severities()
        .iter()
        .position(|level| &level.name == severity)
    {
        Some(0) => ComponentState::MajorOutage,
        Some(1) => ComponentState::PartialOutage,
        _ => ComponentState::Degraded,
    }
}

/// The components (as `[status_page]` names them) that an incident touches.
pub fn affected_components<'a>(config: &'a Config, incident: &Incident) -> Vec<&'a str> {
    components(config)
        .iter()
        .map(String::as_str)
        .filter(|component| touches(incident, component))
        .collect()
}

/// The states of the components and the overall state, from the incidents that
/// are open now and the explicitly set states (see the module's rules).
pub fn summary(
    config: &Config,
    open: &[&Incident],
    settings: &[ComponentSetting],
) -> StatusSummary {
    let open: Vec<&Incident> = open
        .iter()
        .copied()
        .filter(|incident| incident.status.is_open() && !incident.drill)
        .collect();
    let components: Vec<ComponentStatus> = components(config)
        .iter()
        .map(|name| {
            let setting = settings
                .iter()
                .find(|setting| setting.component.eq_ignore_ascii_case(name))
                .filter(|setting| holds(setting));
            let counted = open.iter().filter(|incident| {
                touches(incident, name)
                    && setting.is_none_or(|setting| incident.declared_at > setting.set_at)
            });
            let base = setting.map_or(ComponentState::Operational, |setting| setting.state);
            let state = counted.fold(base, |state, incident| {
                state.worst(impact(config, &incident.severity))
            });
            ComponentStatus {
                name: name.clone(),
                state,
            }
        })
        .collect();
    let unlisted = open
        .iter()
        .filter(|incident| affected_components(config, incident).is_empty())
        .map(|incident| impact(config, &incident.severity));
    let overall = components
        .iter()
        .map(|component| component.state)
        .chain(unlisted)
        .fold(ComponentState::Operational, ComponentState::worst);
    StatusSummary {
        overall,
        components,
    }
}

/// An incident's public history, newest first: its status updates, plus the
/// moments it was declared and resolved when no update says so.
pub fn history(incident: &Incident, updates: &[StatusUpdate]) -> Vec<StatusUpdate> {
    let mut entries = vec![StatusUpdate {
        at: incident.declared_at,
        status: Status::Investigating,
        text: DECLARED_TEXT.to_string(),
    }];
    entries.extend(updates.iter().cloned());
    if let Some(resolved_at) = incident.resolved_at {
        let said = updates
            .iter()
            .any(|update| update.status == Status::Resolved && update.at >= resolved_at);
        if !said {
            entries.push(StatusUpdate {
                at: resolved_at,
                status: Status::Resolved,
                text: RESOLVED_TEXT.to_string(),
            });
        }
    }
    // Stable: entries of the same instant keep the order they were written in.
    entries.sort_by_key(|entry| entry.at);
    entries.reverse();
    entries
}

fn components(config: &Config) -> &[String] {
    config
        .status_page()
        .map(|page| page.components.as_slice())
        .unwrap_or_default()
}

fn touches(incident: &Incident, component: &str) -> bool {
    incident
        .services
        .iter()
        .any(|service| service.eq_ignore_ascii_case(component))
}

/// Whether an explicitly set state still holds.
fn holds(setting: &ComponentSetting) -> bool {
    setting
        .incident
        .as_ref()
        .is_none_or(|incident| incident.status.is_open() && !incident.drill)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{IncidentId, Platform, SettingIncident, UserId};
    use chrono::{DateTime, TimeZone, Utc};
    use std::collections::BTreeMap;

    const CONFIG: &str = r#"
[bot]
public_url = "https://status.test"
timezone = "UTC"

[[severity]]
name = "sev1"
label = "Critical"
description = "Complete outage"
respond_within = "15m"

[[severity]]
name = "sev2"
label = "Major"
description = "Partial outage"
respond_within = "30m"

[[severity]]
name = "sev3"
label = "Minor"
description = "Degraded"
respond_within = "2h"

[phrases]
investigating = "Investigating {service}."
identified = "Identified: {cause}."
monitoring = "Monitoring {service}."
resolved = "Resolved {service}."

[status_page]
title = "Test Status"
components = ["API", "Database", "Auth"]
"#;

    fn config() -> Config {
        Config::from_toml_str(CONFIG).unwrap()
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 10, minute, 0).unwrap()
    }

    fn incident(number: u32, severity: &str, services: &[&str], minute: u32) -> Incident {
        Incident {
            id: IncidentId::new(at(0).date_naive(), number),
            title: format!("incident {number}"),
            severity: Severity::new(severity),
            status: Status::Investigating,
            drill: false,
            private: false,
            services: services.iter().map(|s| s.to_string()).collect(),
            platform: Platform::Testing,
            origin_channel: "C1".into(),
            room: None,
            declared_by: UserId::new("alice"),
            declared_at: at(minute),
            acknowledged_at: None,
            identified_at: None,
            mitigated_at: None,
            resolved_at: None,
            last_update_at: None,
            summary: None,
            roles: BTreeMap::new(),
            detected_at: None,
        }
    }

    fn states(summary: &StatusSummary) -> Vec<(&str, ComponentState)> {
        summary
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.state))
            .collect()
    }

    #[test]
    fn severity_order_sets_the_impact() {
        use ComponentState::*;
        let config = config();
        for (severity, state) in [
            ("sev1", MajorOutage),
            ("sev2", PartialOutage),
            ("sev3", Degraded),
            ("gone", Degraded),
        ] {
            assert_eq!(
                impact(&config, &Severity::new(severity)),
                state,
                "{severity}"
            );
        }
    }

    #[test]
    fn open_incidents_set_the_components_they_touch_ignoring_case() {
        use ComponentState::*;
        let config = config();
        let sev2 = incident(1, "sev2", &["api"], 0);
        let sev3 = incident(2, "sev3", &["API", "database"], 1);
        let mut drill = incident(3, "sev1", &["auth"], 2);
        drill.drill = true;
        let mut resolved = incident(4, "sev1", &["auth"], 3);
        resolved.status = Status::Resolved;
        let summary = summary(&config, &[&sev2, &sev3, &drill, &resolved], &[]);
        assert_eq!(
            states(&summary),
            [
                ("API", PartialOutage),
                ("Database", Degraded),
                ("Auth", Operational)
            ]
        );
        assert_eq!(summary.overall, PartialOutage);
        assert_eq!(affected_components(&config, &sev3), ["API", "Database"]);
    }

    #[test]
    fn incidents_touching_no_component_still_count_overall() {
        let config = config();
        let elsewhere = incident(1, "sev1", &["checkout"], 0);
        let summary = summary(&config, &[&elsewhere], &[]);
        assert!(
            summary
                .components
                .iter()
                .all(|c| c.state == ComponentState::Operational)
        );
        assert_eq!(summary.overall, ComponentState::MajorOutage);
    }

    #[test]
    fn an_explicit_state_holds_while_its_incident_is_open_and_later_incidents_still_count() {
        use ComponentState::*;
        let config = config();
        let first = incident(1, "sev1", &["API"], 0);
        let setting = |state, status| ComponentSetting {
            component: "api".into(),
            state,
            set_by: "alice".into(),
            set_at: at(5),
            incident: Some(SettingIncident {
                id: first.id.clone(),
                status,
                drill: false,
            }),
        };
        // The team says the API is fine again while the incident is monitored.
        let fine = setting(Operational, Status::Monitoring);
        assert_eq!(
            states(&summary(&config, &[&first], std::slice::from_ref(&fine)))[0].1,
            Operational
        );
        // A new incident after the setting makes it worse again.
        let later = incident(2, "sev2", &["API"], 6);
        assert_eq!(
            states(&summary(&config, &[&first, &later], &[fine]))[0].1,
            PartialOutage
        );
        // Once its incident is resolved, the setting no longer holds.
        let over = setting(Maintenance, Status::Resolved);
        assert_eq!(states(&summary(&config, &[], &[over]))[0].1, Operational);
        // Without an incident it holds until set again.
        let planned = ComponentSetting {
            incident: None,
            ..setting(Maintenance, Status::Resolved)
        };
        let summary = summary(&config, &[], &[planned]);
        assert_eq!(states(&summary)[0].1, Maintenance);
        assert_eq!(summary.overall, Maintenance);
    }

    #[test]
    fn history_adds_declared_and_resolved_only_when_no_update_says_so() {
        let mut resolved = incident(1, "sev1", &[], 0);
        resolved.status = Status::Resolved;
        resolved.resolved_at = Some(at(30));
        let update = StatusUpdate {
            at: at(10),
            status: Status::Identified,
            text: "bad deploy".into(),
        };
        let texts: Vec<_> = history(&resolved, std::slice::from_ref(&update))
            .into_iter()
            .map(|entry| (entry.status, entry.text))
            .collect();
        assert_eq!(
            texts,
            [
                (Status::Resolved, RESOLVED_TEXT.to_string()),
                (Status::Identified, "bad deploy".to_string()),
                (Status::Investigating, DECLARED_TEXT.to_string()),
            ]
        );
        let closing = StatusUpdate {
            at: at(30),
            status: Status::Resolved,
            text: "rolled back".into(),
        };
        let entries = history(&resolved, &[update, closing]);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].text, "rolled back");
    }
}
