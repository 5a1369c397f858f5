//! `/incident run <action|runbook> [key=value ...]`: start an action or runbook.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Params, Spec, Subcommand, words};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAction {
    pub incident: Option<IncidentId>,
    pub name: String,
    pub params: Params,
}

pub(super) const RUN: Spec = Spec {
    subcommand: Subcommand::Run,
    usage: &["/incident run <action|runbook> [key=value ...]"],
    summary: "Run an action or runbook.",
    help: "Starts one of the actions or runbooks configured for this incident (see \
           `/incident actions`). Parameters are `key=value` words, one word each. \
           Actions that need approval wait for `/incident approve`.",
    examples: &[
        "/incident run restart-checkout",
        "/incident run scale-up service=checkout replicas=12",
        "/incident run INC-20261123-001 failover region=eu-west-1",
    ],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| RunAction::parse(cursor, ctx).map(Command::RunAction),
};

impl RunAction {
    fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        let name = cursor.take().ok_or(ErrorKind::Missing {
            what: "the action or runbook to run",
        })?;
        let name = words::name("action name", name)?;
        let (extra, params) = words::split_params(&cursor.rest())?;
        if let Some(word) = extra.first() {
            return Err(ErrorKind::Unexpected {
                word: word.to_string(),
            });
        }
        Ok(Self {
            incident: ctx.incident,
            name,
            params,
        })
    }
}
