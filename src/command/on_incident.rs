//! What the commands that name nothing but their incident carry: `ack`, `actions`,
//! `followups`, `postmortem` and `timeline`. Each keeps its own file for its help
//! entry; they share this one type and parser.

use super::parse::Cursor;
use super::{Context, ErrorKind};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnIncident {
    pub incident: Option<IncidentId>,
}

impl OnIncident {
    /// There is nothing left to read: the incident, if named, is already in `ctx`.
    pub(super) fn parse(_: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        Ok(Self {
            incident: ctx.incident,
        })
    }
}
