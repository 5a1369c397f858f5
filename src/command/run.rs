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
    ..Spec::on_incident(Subcommand::Run, parse)
};

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
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
    Ok(Command::RunAction(RunAction {
        incident: ctx.incident,
        name,
        params,
    }))
}
