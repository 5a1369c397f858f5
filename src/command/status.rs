//! `/incident status <status> [text]`: move the incident along its lifecycle.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Params, Spec, Subcommand, words};
use crate::domain::{IncidentId, Status, UserText};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetStatus {
    pub incident: Option<IncidentId>,
    pub status: Status,
    pub text: Option<UserText>,
    pub params: Params,
}

pub(super) const STATUS: Spec = Spec {
    usage: &[
        "/incident status <investigating|identified|monitoring|resolved> [text] [key=value ...]",
    ],
    summary: "Set the status, with an optional update.",
    help: "Moves the incident to a new status (`mitigated` is taken as monitoring). \
           Any words after the status are posted as an update; `key=value` words \
           (one word each, e.g. `eta=15m`) are passed on as parameters.",
    examples: &[
        "/incident status identified bad deploy of checkout-api",
        "/incident status monitoring rollback done eta=15m",
        "/incident status INC-20261123-001 resolved",
    ],
    ..Spec::on_incident(Subcommand::Status, parse)
};

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    let word = cursor.take_required("the status")?;
    let status = words::one_of("status", word, Status::ALL.map(Status::as_str))?;
    let (text, params) = words::split_params(&cursor.rest())?;
    Ok(Command::SetStatus(SetStatus {
        incident: ctx.incident,
        status,
        text: words::optional_text("the status update", &text)?,
        params,
    }))
}
