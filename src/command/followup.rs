//! `/incident followup <text> [@owner] [due:YYYY-MM-DD]`, `/incident followup done <N>`
//! and `/incident followups`: the action items an incident leaves behind.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Subcommand, words};
use crate::domain::UserText;
use chrono::NaiveDate;

pub(super) const FOLLOWUP: Subcommand = Subcommand {
    name: "followup",
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
    names_incident: true,
    flags: &[],
    parse,
};

pub(super) const FOLLOWUPS: Subcommand = Subcommand {
    name: "followups",
    usage: &["/incident followups"],
    summary: "List the incident's follow-ups.",
    help: "Lists the incident's follow-ups with their numbers, owners, due dates and \
           whether they are done.",
    examples: &[
        "/incident followups",
        "/incident followups INC-20261123-001",
    ],
    names_incident: true,
    flags: &[],
    parse: parse_list,
};

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    if cursor
        .take_if(|word| words::is_keyword(word, "done"))
        .is_some()
    {
        let word = cursor.take().ok_or(ErrorKind::Missing {
            what: "the number of the follow-up (see `/incident followups`)",
        })?;
        return Ok(Command::CompleteFollowUp {
            incident: ctx.incident,
            number: number(word)?,
        });
    }
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
    if text.is_empty() {
        return Err(ErrorKind::Missing {
            what: "what needs to be done",
        });
    }
    Ok(Command::AddFollowUp {
        incident: ctx.incident,
        text: UserText::parse("the follow-up", &words::text(&text))?,
        owner,
        due,
    })
}

fn parse_list(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    Ok(Command::ListFollowUps {
        incident: ctx.incident,
    })
}

/// A follow-up number as listed: `3` or `#3`, from 1.
fn number(word: &str) -> Result<u32, ErrorKind> {
    word.strip_prefix('#')
        .unwrap_or(word)
        .parse::<u32>()
        .ok()
        .filter(|number| *number > 0)
        .ok_or_else(|| ErrorKind::InvalidNumber {
            word: word.to_string(),
        })
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
