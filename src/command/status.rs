//! `/incident status <status> [text]`: move the incident along its lifecycle.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Params, Spec, Subcommand, suggest, words};
use crate::domain::{IncidentId, Status, UserText};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetStatus {
    pub incident: Option<IncidentId>,
    pub status: Status,
    pub text: Option<UserText>,
    pub params: Params,
}

pub(super) const STATUS: Spec = Spec {
    subcommand: Subcommand::Status,
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
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| SetStatus::parse(cursor, ctx).map(Command::SetStatus),
};

impl SetStatus {
    fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        let word = cursor.take_required("the status")?;
        let status = word
            .parse::<Status>()
            .map_err(|_| ErrorKind::UnknownStatus {
                word: word.to_string(),
                suggestion: suggest::nearest(word, Status::ALL.map(Status::as_str))
                    .map(str::to_string),
            })?;
        let (text, params) = words::split_params(&cursor.rest())?;
        Ok(Self {
            incident: ctx.incident,
            status,
            text: words::optional_text("the status update", &text)?,
            params,
        })
    }
}
