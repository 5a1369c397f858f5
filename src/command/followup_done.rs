//! `/incident followup done <N>`: mark a follow-up done. A form of `followup`, which
//! reads the `done` and explains both in its help.

use super::parse::Cursor;
use super::{Context, ErrorKind};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteFollowUp {
    pub incident: Option<IncidentId>,
    /// As `/incident followups` numbers them, from 1.
    pub number: u32,
}

impl CompleteFollowUp {
    /// The words after `done`.
    pub(super) fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        let word =
            cursor.take_required("the number of the follow-up (see `/incident followups`)")?;
        Ok(Self {
            incident: ctx.incident,
            number: number(word)?,
        })
    }
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
