//! The `/incident` grammar: text in, [`Command`] out.
//!
//! Owns: parsing, the error a user sees for a malformed command (with a did-you-mean
//! suggestion), and the help text, which is rendered from the same definitions the
//! parser uses so it cannot drift.
//! Must not: touch the store or decide anything about an incident; that is the engine's.
//!
//! Slack sends the whole text; Discord sends subcommands and options, which its
//! adapter maps onto these same types, so nothing is parsed twice.

use crate::domain::{IncidentId, Role, Severity, Status, Title, UserId, UserText};
use chrono::{NaiveDate, NaiveTime};

/// Who a command points at: a platform user id from a mention, or a person named in config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// `<@U123>`, `<@U123|carol>` (Slack), `<@123>` / `<@!123>` (Discord).
    Id(UserId),
    /// `@alice` or `alice`: a key of `[people]` in config, resolved by the engine.
    Person(String),
}

/// `key=value` arguments, in the order given (`service=checkout region=eu`).
pub type Params = Vec<(String, String)>;

/// Severities as the team configured them: what the parser accepts as a severity word.
pub trait SeverityWords {
    /// The canonical severity for a name or alias (case-insensitive), if any.
    fn resolve(&self, word: &str) -> Option<Severity>;
    /// Every accepted word, for suggestions and help.
    fn words(&self) -> Vec<String>;
}

/// A parsed `/incident` command. `incident: None` means "the incident of this war room".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Declare {
        severity: Option<Severity>,
        title: Title,
        services: Vec<String>,
        drill: bool,
    },
    AssignRole {
        incident: Option<IncidentId>,
        role: Role,
        user: UserRef,
    },
    Ack {
        incident: Option<IncidentId>,
    },
    SetStatus {
        incident: Option<IncidentId>,
        status: Status,
        text: Option<UserText>,
        params: Params,
    },
    PostUpdate {
        incident: Option<IncidentId>,
        text: UserText,
        params: Params,
    },
    ChangeSeverity {
        incident: Option<IncidentId>,
        severity: Severity,
    },
    AddNote {
        incident: Option<IncidentId>,
        /// The scribe may back-date a note (`/incident note 14:05 rollback started`),
        /// in the configured time zone.
        at: Option<NaiveTime>,
        text: UserText,
    },
    RunAction {
        incident: Option<IncidentId>,
        name: String,
        params: Params,
    },
    Approve {
        incident: Option<IncidentId>,
        run: String,
    },
    Cancel {
        incident: Option<IncidentId>,
        run: String,
    },
    ListActions {
        incident: Option<IncidentId>,
    },
    AddFollowUp {
        incident: Option<IncidentId>,
        text: UserText,
        owner: Option<UserRef>,
        due: Option<NaiveDate>,
    },
    ListFollowUps {
        incident: Option<IncidentId>,
    },
    /// `/incident followup done <number>`.
    CompleteFollowUp {
        incident: Option<IncidentId>,
        number: u32,
    },
    Resolve {
        incident: Option<IncidentId>,
        summary: Option<UserText>,
    },
    Postmortem {
        incident: Option<IncidentId>,
    },
    Timeline {
        incident: Option<IncidentId>,
    },
    List,
    Stats {
        days: u32,
    },
    Help {
        topic: Option<String>,
    },
}

/// Temporary until the parser lands.
pub fn help(
    _topic: Option<&str>,
    _severities: &dyn SeverityWords,
) -> Result<String, std::fmt::Error> {
    todo!()
}
