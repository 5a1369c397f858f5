//! The vocabulary of an incident: ids, severities, roles, statuses, timeline events
//! and follow-ups (and the trackers they are filed in), with the rules that hold
//! whatever platform or database is used.
//!
//! Owns: validation on construction and the status state machine.
//! Must not: speak Slack's or Discord's APIs, SQL or the clock (times are passed
//! in). Of each platform it knows only what several layers need: its name, the
//! largest file it takes, and the form of a Discord id.

mod action_run;
mod alert_group;
mod component;
mod followup;
mod hex;
mod incident;
mod incident_id;
mod page;
mod platform;
mod record;
mod role;
mod run_id;
mod runbook_run;
mod severity;
mod stats;
mod status;
mod text;
mod timeline;
mod tracker;
mod word;

pub use action_run::{ActionRun, RunStatus, StepRef};
pub use alert_group::{AlertGroupRecord, AlertGroupState};
pub use component::{
    ComponentSetting, ComponentState, SettingIncident, StatusUpdate, UnknownComponentState,
};
pub use followup::FollowUp;
pub use hex::hex;
pub use incident::{API_USER, Incident, PAGERDUTY_USER, is_service_actor};
pub use incident_id::{IncidentId, InvalidIncidentId};
pub use page::{Page, PageState};
pub use platform::{Platform, UnknownPlatform, UserId, is_snowflake};
pub use record::IncidentRecord;
pub use role::{Role, UnknownRole};
pub use run_id::{InvalidRunId, RunId};
pub use runbook_run::{RunbookRun, RunbookStatus};
pub use severity::Severity;
pub use stats::{
    DURATION_BUCKETS, DurationHistogram, IncidentStats, SeverityTotals, Spread, missed_response,
};
pub use status::{Status, Transition, TransitionError, UnknownStatus};
pub use text::{TextError, Title, UserText};
pub use timeline::{EventKind, TimelineEvent};
pub use tracker::{IssueLink, Tracker};
pub use word::{UnknownWord, parse_word};
