//! `/incident update <text>`: post a status update now.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Params, Spec, Subcommand, words};
use crate::domain::{IncidentId, UserText};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostUpdate {
    pub incident: Option<IncidentId>,
    pub text: UserText,
    pub params: Params,
}

pub(super) const UPDATE: Spec = Spec {
    usage: &["/incident update <text> [key=value ...]"],
    summary: "Post a status update now; resets the update clock.",
    help: "Posts a status update to the incident's audiences straight away and starts \
           the update clock again. `key=value` words (one word each) are passed on as \
           parameters; everything else is the update.",
    examples: &[
        "/incident update error rate back under 1%, watching",
        "/incident update INC-20261123-001 failover in progress eta=10m",
    ],
    ..Spec::on_incident(Subcommand::Update, parse)
};

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    let (text, params) = words::split_params(&cursor.rest())?;
    Ok(Command::PostUpdate(PostUpdate {
        incident: ctx.incident,
        text: words::required_text("the update", "the text of the update", &text)?,
        params,
    }))
}
