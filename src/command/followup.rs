//! `/incident followup <text> [@owner] [due:YYYY-MM-DD]`: record an action item the
//! incident leaves behind. Its other form, `followup done <N>`, is
//! [`CompleteFollowUp`](super::CompleteFollowUp).

use super::followup_done::CompleteFollowUp;
use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand, UserRef, words};
use crate::domain::{IncidentId, UserText};
use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddFollowUp {
    pub incident: Option<IncidentId>,
    pub text: UserText,
    pub owner: Option<UserRef>,
    pub due: Option<NaiveDate>,
}

pub(super) const FOLLOWUP: Spec = Spec {
    usage: &[
        "/incident followup <text> [@owner] [due:YYYY-MM-DD]",
        "/incident followup done <N>",
    ],
    summary: "Record a follow-up, or mark one done.",
    help: "Records an action item. An owner mentioned at the end (`@alice`) and a \
           `due:YYYY-MM-DD` word are taken from the text. `followup done <N>` marks \
           follow-up number N (as `/incident followups` lists them) done.",
    examples: &[
        "/incident followup add an alert on checkout latency @alice due:2026-12-01",
        "/incident followup write the vendor escalation runbook",
        "/incident followup done 2",
        "/incident followup INC-20261123-001 done #3",
    ],
    ..Spec::on_incident(Subcommand::FollowUp, parse)
};

/// `done` picks the other form; anything else is a new follow-up.
fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    if cursor
        .take_if(|word| words::is_keyword(word, "done"))
        .is_some()
    {
        return CompleteFollowUp::parse(cursor, ctx).map(Command::CompleteFollowUp);
    }
    AddFollowUp::parse(cursor, ctx).map(Command::AddFollowUp)
}

impl AddFollowUp {
    fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        let mut text = Vec::new();
        let mut due = None;
        for word in cursor.rest() {
            match word
                .get(..4)
                .filter(|head| head.eq_ignore_ascii_case("due:"))
            {
                Some(_) if due.is_some() => {
                    return Err(ErrorKind::Repeated {
                        what: "The due date",
                    });
                }
                Some(_) => due = Some(date(word)?),
                None => text.push(word),
            }
        }
        let owner = match text.last() {
            Some(last) if words::is_user_like(last) => Some(words::user(last)?),
            _ => None,
        };
        if owner.is_some() {
            text.pop();
        }
        Ok(Self {
            incident: ctx.incident,
            text: words::required_text("the follow-up", "what needs to be done", &text)?,
            owner,
            due,
        })
    }
}

fn date(word: &str) -> Result<NaiveDate, ErrorKind> {
    let invalid = || ErrorKind::InvalidDate {
        word: word.to_string(),
    };
    let value = word.get(4..).ok_or_else(invalid)?;
    let well_formed = value.len() == 10
        && value.bytes().enumerate().all(|(at, b)| match at {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !well_formed {
        return Err(invalid());
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| invalid())
}
