//! `/incident role <role> <@user>`: hand someone an incident role.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand, UserRef, suggest, words};
use crate::domain::{IncidentId, Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignRole {
    pub incident: Option<IncidentId>,
    pub role: Role,
    pub user: UserRef,
}

pub(super) const ROLE: Spec = Spec {
    subcommand: Subcommand::Role,
    usage: &["/incident role <commander|technical|comms|scribe> <@user>"],
    summary: "Give someone an incident role.",
    help: "Assigns a role to one person: mention them, or use their name from config. \
           The usual short forms such as `ic` and `tech` work too.",
    examples: &[
        "/incident role commander @alice",
        "/incident role scribe <@U024BE7LH>",
        "/incident role INC-20261123-001 comms bob",
    ],
    names_incident: true,
    flags: &[],
    parse: |cursor, ctx| AssignRole::parse(cursor, ctx).map(Command::AssignRole),
};

impl AssignRole {
    fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Self, ErrorKind> {
        let word = cursor.take_required("the role")?;
        let role = word.parse::<Role>().map_err(|_| ErrorKind::UnknownRole {
            word: word.to_string(),
            suggestion: suggest::nearest(word, Role::ALL.map(Role::as_str)).map(str::to_string),
        })?;
        let user = cursor.take_required("the person to assign (e.g. `@alice`)")?;
        Ok(Self {
            incident: ctx.incident,
            role,
            user: words::user(user)?,
        })
    }
}
