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
//! Each kind of command has its own file with its parser and, when it is typed as a
//! word of its own, its help entry (a `Spec`: usage, help and parser together);
//! `followup done` is a form of `followup`. Most carry a struct of their own; those
//! that carry the same thing share one ([`OnIncident`], [`RunRef`]). [`Subcommand`]
//! is the one list of their names.
//!
//! [`parse()`] reads the text the way Slack sends it: `<…>` is markup (mentions) and
//! `&amp;`, `&lt;`, `&gt;` are entities, decoded only in the text and values a
//! command carries, after the words are split; see [`decode_slack_text`].

mod ack;
mod actions;
mod approve;
mod button;
mod cancel;
mod declare;
mod error;
mod followup;
mod followup_done;
mod followups;
mod help;
mod list;
mod note;
mod on_incident;
mod parse;
mod postmortem;
mod resolve;
mod role;
mod run;
mod run_ref;
mod severity;
mod snooze;
mod stats;
mod status;
mod subcommand;
mod suggest;
mod summary;
#[cfg(test)]
mod tests;
mod timeline;
mod update;
mod words;

pub use button::{AlertDecision, ButtonAction, ButtonError, from_button};
pub use declare::Declare;
pub use error::{ErrorKind, ParseError};
pub use followup::AddFollowUp;
pub use followup_done::CompleteFollowUp;
pub use help::Help;
pub use list::List;
pub use note::AddNote;
pub use on_incident::OnIncident;
pub use resolve::Resolve;
pub use role::AssignRole;
pub use run::RunAction;
pub use run_ref::RunRef;
pub use severity::ChangeSeverity;
pub use snooze::Snooze;
pub use stats::Stats;
pub use status::SetStatus;
pub use subcommand::Subcommand;
pub use suggest::nearest;
pub use update::PostUpdate;
pub use words::decode_slack_text;

use crate::domain::{IncidentId, Severity, UserId};
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

/// A parsed `/incident` command: one variant per kind, each with its parser and help
/// entry in its own file; kinds that carry the same thing share a struct.
/// `incident: None` means "the incident of this war room".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Declare(Declare),
    AssignRole(AssignRole),
    Ack(OnIncident),
    SetStatus(SetStatus),
    PostUpdate(PostUpdate),
    ChangeSeverity(ChangeSeverity),
    Snooze(Snooze),
    AddNote(AddNote),
    RunAction(RunAction),
    Approve(RunRef),
    Cancel(RunRef),
    ListActions(OnIncident),
    AddFollowUp(AddFollowUp),
    ListFollowUps(OnIncident),
    CompleteFollowUp(CompleteFollowUp),
    Resolve(Resolve),
    Postmortem(OnIncident),
    Timeline(OnIncident),
    Summary(OnIncident),
    List(List),
    Stats(Stats),
    Help(Help),
    /// Only a button makes it: Declare or Dismiss on a proposed alert group.
    AlertDecision(AlertDecision),
}

impl Command {
    /// Which subcommand this is.
    pub fn subcommand(&self) -> Subcommand {
        match self {
            Command::Declare(_) => Subcommand::Declare,
            Command::AssignRole(_) => Subcommand::Role,
            Command::Ack(_) => Subcommand::Ack,
            Command::SetStatus(_) => Subcommand::Status,
            Command::PostUpdate(_) => Subcommand::Update,
            Command::ChangeSeverity(_) => Subcommand::Severity,
            Command::AddNote(_) => Subcommand::Note,
            Command::RunAction(_) => Subcommand::Run,
            Command::Approve(_) => Subcommand::Approve,
            Command::Cancel(_) => Subcommand::Cancel,
            Command::ListActions(_) => Subcommand::Actions,
            Command::AddFollowUp(_) => Subcommand::FollowUp,
            Command::ListFollowUps(_) => Subcommand::FollowUps,
            Command::CompleteFollowUp(_) => Subcommand::FollowUpDone,
            Command::Resolve(_) => Subcommand::Resolve,
            Command::Postmortem(_) => Subcommand::Postmortem,
            Command::Timeline(_) => Subcommand::Timeline,
            Command::Summary(_) => Subcommand::Summary,
            Command::List(_) => Subcommand::List,
            Command::Stats(_) => Subcommand::Stats,
            Command::Snooze(_) => Subcommand::Snooze,
            Command::Help(_) => Subcommand::Help,
            // Deciding on a proposed alert is deciding whether to declare.
            Command::AlertDecision(_) => Subcommand::Declare,
        }
    }

    /// The subcommand a user typed, e.g. for the `kind` label of metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::AlertDecision(decision) if decision.declare => "alert_declare",
            Command::AlertDecision(_) => "alert_dismiss",
            _ => self.subcommand().name(),
        }
    }
}

/// How one subcommand is typed and explained, in one place so help and the parser
/// cannot drift. An entry writes its text and takes the rest from
/// [`Spec::on_incident`] or [`Spec::standalone`].
struct Spec {
    /// The subcommand typed to reach it; its other forms (`followup done`) share it.
    subcommand: Subcommand,
    usage: &'static [&'static str],
    summary: &'static str,
    help: &'static str,
    /// Each one is checked to parse, so help never shows a command that fails.
    examples: &'static [&'static str],
    /// Whether it acts on one incident, which may then be named right after it.
    names_incident: bool,
    /// The `--flags` it accepts; any other subcommand's flag is an error here.
    flags: &'static [&'static str],
    parse: Parser,
}

/// Reads a subcommand's words once its name, and the incident if it names one, are taken.
type Parser = fn(&mut Cursor<'_>, Context<'_>) -> Result<Command, ErrorKind>;

/// What a subcommand's parser needs besides its words.
struct Context<'a> {
    /// The incident named after the subcommand, if it takes one and one was named.
    incident: Option<IncidentId>,
    severities: &'a dyn SeverityWords,
}

/// Every subcommand typed as a first word, in the order help lists them.
fn specs() -> impl Iterator<Item = &'static Spec> {
    Subcommand::typed().map(Subcommand::spec)
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
    let sub = match Subcommand::named(first) {
        Some(sub) => {
            cursor.take();
            sub.spec()
        }
        None if severities.resolve(first).is_some() || declare::is_flag(first) => &declare::DECLARE,
        None => return Err(ParseError::general(unknown_first_word(first, severities))),
    };
    sub.run(&mut cursor, severities)
        .map_err(|kind| ParseError::in_subcommand(kind, sub))
}

impl Spec {
    /// How most subcommands are typed: acting on one incident, without flags. The
    /// text is left empty for the entry's own: `Spec { usage, summary, help,
    /// examples, ..Spec::on_incident(…) }`.
    const fn on_incident(subcommand: Subcommand, parse: Parser) -> Self {
        Self {
            names_incident: true,
            ..Self::standalone(subcommand, parse)
        }
    }

    /// A subcommand that acts on no single incident, without flags; the text as above.
    const fn standalone(subcommand: Subcommand, parse: Parser) -> Self {
        Self {
            subcommand,
            usage: &[],
            summary: "",
            help: "",
            examples: &[],
            names_incident: false,
            flags: &[],
            parse,
        }
    }

    fn name(&self) -> &'static str {
        self.subcommand.name()
    }

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
            if let Some(owner) = specs().find(|sub| sub.flags.contains(&flag.as_str())) {
                return Err(ErrorKind::FlagNotHere {
                    flag,
                    only: owner.name(),
                });
            }
        }
        Ok(())
    }
}

/// A first word that is neither a subcommand nor a severity: the nearest of either.
fn unknown_first_word(word: &str, severities: &dyn SeverityWords) -> ErrorKind {
    let severity_words = severities.words();
    let candidates = Subcommand::typed()
        .map(|sub| sub.name())
        .chain(severity_words.iter().map(String::as_str));
    let suggestion = suggest::nearest(word, candidates);
    let meant_severity = suggestion.is_some_and(|near| severities.resolve(near).is_some());
    if meant_severity || severity::looks_like_severity(word) {
        severity::unknown(word, suggestion.map(str::to_string), severities)
    } else {
        ErrorKind::Unknown {
            what: "subcommand",
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
