//! `/incident note [HH:MM] <text>`: add to the timeline.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand, words};
use crate::domain::{IncidentId, UserText};
use chrono::NaiveTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddNote {
    pub incident: Option<IncidentId>,
    /// The scribe may back-date a note (`/incident note 14:05 rollback started`),
    /// in the configured time zone.
    pub at: Option<NaiveTime>,
    pub text: UserText,
}

pub(super) const NOTE: Spec = Spec {
    usage: &["/incident note [HH:MM] <text>"],
    summary: "Add a timeline entry; the scribe may back-date it with HH:MM.",
    help: "Adds a line to the incident's timeline. A leading `HH:MM` (24-hour, in the \
           configured time zone) back-dates it, for the scribe catching up on what \
           happened earlier.",
    examples: &[
        "/incident note restarted the payment workers",
        "/incident note 14:05 rollback started",
        "/incident note INC-20261123-001 vendor confirmed the outage",
    ],
    ..Spec::on_incident(Subcommand::Note, parse)
};

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    let at = match cursor.take_if(looks_like_time) {
        Some(word) => Some(time(word)?),
        None => None,
    };
    Ok(Command::AddNote(AddNote {
        incident: ctx.incident,
        at,
        text: words::required_text("the note", "the text of the note", &cursor.rest())?,
    }))
}

/// `H:MM` or `HH:MM`, valid or not: such a word is meant as a time, so `25:99` is an
/// error rather than the first word of the note.
fn looks_like_time(word: &str) -> bool {
    let Some((hours, minutes)) = word.split_once(':') else {
        return false;
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    (1..=2).contains(&hours.len()) && minutes.len() == 2 && digits(hours) && digits(minutes)
}

fn time(word: &str) -> Result<NaiveTime, ErrorKind> {
    NaiveTime::parse_from_str(word, "%H:%M").map_err(|_| ErrorKind::InvalidTime {
        word: word.to_string(),
    })
}
