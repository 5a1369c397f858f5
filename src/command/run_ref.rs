//! What `approve` and `cancel` carry: a run of an incident. Each keeps its own file
//! for its help entry; they share this one type and parser.

use super::parse::Cursor;
use super::{Context, ErrorKind, words};
use crate::domain::{IncidentId, RunId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub incident: Option<IncidentId>,
    pub run: RunId,
}

impl RunRef {
    /// The run as its messages name it; `missing` says what it is for when it is not given.
    pub(super) fn parse(
        cursor: &mut Cursor<'_>,
        ctx: Context<'_>,
        missing: &'static str,
    ) -> Result<Self, ErrorKind> {
        let word = cursor.take_required(missing)?;
        Ok(Self {
            incident: ctx.incident,
            run: words::run(word)?,
        })
    }
}
