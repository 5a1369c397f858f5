//! `/incident role <role> <@user>`: hand someone an incident role.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand, UserRef, words};
use crate::domain::{IncidentId, Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignRole {
    pub incident: Option<IncidentId>,
    pub role: Role,
    pub user: UserRef,
}

pub(super) const ROLE: Spec = Spec {
    usage: &["/incident role <commander|technical|comms|scribe> <@user>"],
    summary: "Give someone an incident role.",
    help: "Assigns a role to one person: mention them, or use their name from config. \
           The usual short forms such as `ic` and `tech` work too.",
    examples: &[
        "/incident role commander @alice",
        "/incident role scribe <@U024BE7LH>",
        "/incident role INC-20261123-001 comms bob",
    ],
    ..Spec::on_incident(Subcommand::Role, parse)
};

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    let word = cursor.take_required("the role")?;
    let role = words::one_of("role", word, Role::ALL.map(Role::as_str))?;
    let user = cursor.take_required("the person to assign (e.g. `@alice`)")?;
    Ok(Command::AssignRole(AssignRole {
        incident: ctx.incident,
        role,
        user: words::user(user)?,
    }))
}
