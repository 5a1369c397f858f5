//! The `/incident` grammar: text in, [`Command`] out.
//!
//! Owns: parsing, the error a user sees for a malformed command (with a did-you-mean
//! suggestion), and the help text, which is rendered from the same definitions the
//! parser uses so it cannot drift.
//! Must not: touch the store or decide anything about an incident; that is the engine's.
//!
//! Slack sends the whole text; Discord sends subcommands and options, which its
//! adapter maps onto these same types, so nothing is parsed twice.
//!
//! Each subcommand lives in its own file as a `Subcommand`: usage, help and parser
//! together. [`parse()`] reads the text the way Slack sends it: `<…>` is markup
//! (mentions) and `&amp;`, `&lt;`, `&gt;` are entities, decoded only in the text and
//! values a command carries, after the words are split; see [`decode_slack_text`].

mod ack;
mod actions;
mod approve;
mod button;
mod cancel;
mod declare;
mod error;
mod followup;
mod help;
mod list;
mod note;
mod parse;
mod postmortem;
mod resolve;
mod role;
mod run;
mod severity;
mod snooze;
mod stats;
mod status;
mod suggest;
#[cfg(test)]
mod tests;
mod timeline;
mod update;
mod words;

pub use button::{ButtonAction, ButtonError, from_button};
pub use error::{ErrorKind, ParseError};
pub use suggest::nearest;
pub use words::decode_slack_text;

use crate::domain::{IncidentId, Role, Severity, Status, Title, UserId, UserText};
use chrono::{NaiveDate, NaiveTime};
use parse::Cursor;

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
    /// Push the pending status-update reminder `minutes` from now.
    Snooze {
        incident: Option<IncidentId>,
        minutes: u32,
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

impl Command {
    /// The subcommand a user typed, e.g. for the `kind` label of metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Declare { .. } => "declare",
            Command::AssignRole { .. } => "role",
            Command::Ack { .. } => "ack",
            Command::SetStatus { .. } => "status",
            Command::PostUpdate { .. } => "update",
            Command::ChangeSeverity { .. } => "severity",
            Command::AddNote { .. } => "note",
            Command::RunAction { .. } => "run",
            Command::Approve { .. } => "approve",
            Command::Cancel { .. } => "cancel",
            Command::ListActions { .. } => "actions",
            Command::AddFollowUp { .. } => "followup",
            Command::ListFollowUps { .. } => "followups",
            Command::CompleteFollowUp { .. } => "followup_done",
            Command::Resolve { .. } => "resolve",
            Command::Postmortem { .. } => "postmortem",
            Command::Timeline { .. } => "timeline",
            Command::List => "list",
            Command::Stats { .. } => "stats",
            Command::Snooze { .. } => "snooze",
            Command::Help { .. } => "help",
        }
    }
}

/// One subcommand: what help shows and how it parses, in one place so they cannot drift.
struct Subcommand {
    name: &'static str,
    usage: &'static [&'static str],
    summary: &'static str,
    help: &'static str,
    /// Each one is checked to parse, so help never shows a command that fails.
    examples: &'static [&'static str],
    /// Whether it acts on one incident, which may then be named right after it.
    names_incident: bool,
    /// The `--flags` it accepts; any other subcommand's flag is an error here.
    flags: &'static [&'static str],
    parse: fn(&mut Cursor<'_>, Context<'_>) -> Result<Command, ErrorKind>,
}

/// What a subcommand's parser needs besides its words.
struct Context<'a> {
    /// The incident named after the subcommand, if it takes one and one was named.
    incident: Option<IncidentId>,
    severities: &'a dyn SeverityWords,
}

/// Every subcommand, in the order help lists them.
const SUBCOMMANDS: &[&Subcommand] = &[
    &declare::DECLARE,
    &role::ROLE,
    &ack::ACK,
    &status::STATUS,
    &update::UPDATE,
    &snooze::SNOOZE,
    &severity::SEVERITY,
    &note::NOTE,
    &run::RUN,
    &approve::APPROVE,
    &cancel::CANCEL,
    &actions::ACTIONS,
    &followup::FOLLOWUP,
    &followup::FOLLOWUPS,
    &resolve::RESOLVE,
    &postmortem::POSTMORTEM,
    &timeline::TIMELINE,
    &list::LIST,
    &stats::STATS,
    &help::HELP,
];

/// The subcommand called `word`, ignoring case.
fn find(word: &str) -> Option<&'static Subcommand> {
    SUBCOMMANDS
        .iter()
        .copied()
        .find(|sub| sub.name.eq_ignore_ascii_case(word))
}

/// Parses the text of an `/incident` command (a leading `/incident` is allowed).
///
/// Keywords ignore case and extra whitespace. Subcommand names win over severity
/// words, so a team cannot configure a severity that hides a subcommand.
pub fn parse(text: &str, severities: &dyn SeverityWords) -> Result<Command, ParseError> {
    let mut cursor = Cursor::new(text);
    cursor.take_if(|word| word.eq_ignore_ascii_case("/incident"));
    let Some(first) = cursor.peek() else {
        return Err(ParseError::general(ErrorKind::Empty));
    };
    let sub = match find(first) {
        Some(sub) => {
            cursor.take();
            sub
        }
        None if severities.resolve(first).is_some() || declare::is_flag(first) => &declare::DECLARE,
        None => return Err(ParseError::general(unknown_first_word(first, severities))),
    };
    sub.run(&mut cursor, severities)
        .map_err(|kind| ParseError::in_subcommand(kind, sub))
}

impl Subcommand {
    fn run(
        &self,
        cursor: &mut Cursor<'_>,
        severities: &dyn SeverityWords,
    ) -> Result<Command, ErrorKind> {
        self.reject_foreign_flags(cursor)?;
        let incident = if self.names_incident {
            cursor.incident()?
        } else {
            None
        };
        let command = (self.parse)(
            cursor,
            Context {
                incident,
                severities,
            },
        )?;
        cursor.finish()?;
        Ok(command)
    }

    /// `--drill` on `/incident note` is a mistake worth pointing out, not note text.
    fn reject_foreign_flags(&self, cursor: &Cursor<'_>) -> Result<(), ErrorKind> {
        for flag in cursor
            .remaining()
            .iter()
            .filter_map(|word| words::flag(word))
        {
            if self.flags.contains(&flag.as_str()) {
                continue;
            }
            if let Some(owner) = SUBCOMMANDS
                .iter()
                .find(|sub| sub.flags.contains(&flag.as_str()))
            {
                return Err(ErrorKind::FlagNotHere {
                    flag,
                    only: owner.name,
                });
            }
        }
        Ok(())
    }
}

/// A first word that is neither a subcommand nor a severity: the nearest of either.
fn unknown_first_word(word: &str, severities: &dyn SeverityWords) -> ErrorKind {
    let severity_words = severities.words();
    let candidates = SUBCOMMANDS
        .iter()
        .map(|sub| sub.name)
        .chain(severity_words.iter().map(String::as_str));
    let suggestion = suggest::nearest(word, candidates);
    let meant_severity = suggestion.is_some_and(|near| severities.resolve(near).is_some());
    if meant_severity || severity::looks_like_severity(word) {
        severity::unknown(word, suggestion.map(str::to_string), severities)
    } else {
        ErrorKind::UnknownSubcommand {
            word: word.to_string(),
            suggestion: suggestion.map(str::to_string),
        }
    }
}

/// The help a user asked for: an overview, or one subcommand in detail (`topic`).
pub fn help(topic: Option<&str>, severities: &dyn SeverityWords) -> Result<String, ParseError> {
    match topic.map(str::trim).filter(|topic| !topic.is_empty()) {
        None => Ok(help::overview(severities)),
        Some(topic) => help::topic(topic, severities)
            .map_err(|kind| ParseError::in_subcommand(kind, &help::HELP)),
    }
}
