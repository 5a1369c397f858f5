//! Buttons are commands too: a click arrives as the button's action id and value,
//! and becomes the same [`Command`] the typed form would, so a click and a command
//! go through one path in the engine.

use super::{AssignRole, Command, OnIncident, Resolve, RunRef, Snooze, UserRef};
use crate::domain::{IncidentId, Role, RunId, UserId};
use std::fmt;

/// What a button does. Its [`Display`](fmt::Display) form is the action id the
/// platform sends back; the button's value is the incident id, except on an
/// alert's Declare and Dismiss, which carry the alert group in the action id and
/// are pressed before there is an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonAction {
    Acknowledge,
    /// "I'll take comms": the clicker takes a role nobody holds.
    TakeRole(Role),
    /// "Snooze 30 m" on a status-update reminder.
    Snooze(u32),
    /// Approve or Deny on a run waiting for approval.
    Approve(RunId),
    Deny(RunId),
    /// "Draft postmortem" on the resolution checklist.
    Postmortem,
    /// "Resolve" on the notice that an incident's alerts all resolved.
    Resolve,
    /// Declare or Dismiss on an alert group proposed in the announce channel.
    DeclareAlert(i64),
    DismissAlert(i64),
}

/// Declare or Dismiss pressed on a proposed alert group: the decision whether to
/// declare an incident for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertDecision {
    /// The alert group's number.
    pub group: i64,
    pub declare: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ButtonError {
    #[error("this button (`{0}`) is not one warroom knows; it may come from an older version")]
    UnknownAction(String),
    #[error(transparent)]
    Incident(#[from] crate::domain::InvalidIncidentId),
}

impl ButtonAction {
    pub fn parse(action: &str) -> Option<Self> {
        match action.split_once(':') {
            None if action == "ack" => Some(ButtonAction::Acknowledge),
            None if action == "postmortem" => Some(ButtonAction::Postmortem),
            None if action == "resolve" => Some(ButtonAction::Resolve),
            Some(("alert-declare", group)) => alert_group(group).map(ButtonAction::DeclareAlert),
            Some(("alert-dismiss", group)) => alert_group(group).map(ButtonAction::DismissAlert),
            Some(("take", role)) => role.parse().ok().map(ButtonAction::TakeRole),
            Some(("snooze", minutes)) => super::snooze::minutes(minutes).map(ButtonAction::Snooze),
            Some(("approve", run)) => run.parse().ok().map(ButtonAction::Approve),
            Some(("deny", run)) => run.parse().ok().map(ButtonAction::Deny),
            _ => None,
        }
    }

    /// The command a click by `clicker` on a button with this `value` means.
    pub fn command(self, value: &str, clicker: &UserId) -> Result<Command, ButtonError> {
        let decision = |group, declare| Command::AlertDecision(AlertDecision { group, declare });
        let incident = || value.parse::<IncidentId>().map(Some);
        Ok(match self {
            ButtonAction::DeclareAlert(group) => decision(group, true),
            ButtonAction::DismissAlert(group) => decision(group, false),
            ButtonAction::Acknowledge => Command::Ack(OnIncident {
                incident: incident()?,
            }),
            ButtonAction::TakeRole(role) => Command::AssignRole(AssignRole {
                incident: incident()?,
                role,
                user: UserRef::Id(clicker.clone()),
            }),
            ButtonAction::Snooze(minutes) => Command::Snooze(Snooze {
                incident: incident()?,
                minutes,
            }),
            ButtonAction::Approve(run) => Command::Approve(RunRef {
                incident: incident()?,
                run,
            }),
            ButtonAction::Deny(run) => Command::Cancel(RunRef {
                incident: incident()?,
                run,
            }),
            ButtonAction::Postmortem => Command::Postmortem(OnIncident {
                incident: incident()?,
            }),
            ButtonAction::Resolve => Command::Resolve(Resolve {
                incident: incident()?,
                summary: None,
            }),
        })
    }
}

impl fmt::Display for ButtonAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ButtonAction::Acknowledge => f.write_str("ack"),
            ButtonAction::TakeRole(role) => write!(f, "take:{role}"),
            ButtonAction::Snooze(minutes) => write!(f, "snooze:{minutes}"),
            ButtonAction::Approve(run) => write!(f, "approve:{run}"),
            ButtonAction::Deny(run) => write!(f, "deny:{run}"),
            ButtonAction::Postmortem => f.write_str("postmortem"),
            ButtonAction::Resolve => f.write_str("resolve"),
            ButtonAction::DeclareAlert(group) => write!(f, "alert-declare:{group}"),
            ButtonAction::DismissAlert(group) => write!(f, "alert-dismiss:{group}"),
        }
    }
}

/// An alert group's number in an action id: a positive whole number.
fn alert_group(text: &str) -> Option<i64> {
    text.parse().ok().filter(|group| *group > 0)
}

/// Translates a click (action id, value) into the command it stands for.
pub fn from_button(action: &str, value: &str, clicker: &UserId) -> Result<Command, ButtonError> {
    ButtonAction::parse(action)
        .ok_or_else(|| ButtonError::UnknownAction(action.chars().take(40).collect()))?
        .command(value, clicker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_buttons_carry_their_group_and_need_no_incident() {
        let carol = UserId::new("UCAROL");
        assert_eq!(
            from_button(&ButtonAction::DeclareAlert(12).to_string(), "", &carol),
            Ok(Command::AlertDecision(AlertDecision {
                group: 12,
                declare: true
            }))
        );
        assert_eq!(
            from_button("alert-dismiss:12", "12", &carol),
            Ok(Command::AlertDecision(AlertDecision {
                group: 12,
                declare: false
            }))
        );
        for bad in ["alert-declare:0", "alert-declare:-3", "alert-dismiss:x"] {
            assert!(
                matches!(
                    from_button(bad, "", &carol),
                    Err(ButtonError::UnknownAction(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            from_button(
                &ButtonAction::Resolve.to_string(),
                "INC-20261123-001",
                &carol
            ),
            Ok(Command::Resolve(Resolve {
                incident: Some("INC-20261123-001".parse().unwrap()),
                summary: None,
            }))
        );
    }

    #[test]
    fn clicks_become_the_commands_they_stand_for() {
        let carol = UserId::new("UCAROL");
        let id: IncidentId = "INC-20261123-001".parse().unwrap();
        assert_eq!(
            from_button("ack", "INC-20261123-001", &carol),
            Ok(Command::Ack(OnIncident {
                incident: Some(id.clone())
            }))
        );
        assert_eq!(
            from_button(
                &ButtonAction::TakeRole(Role::Comms).to_string(),
                "INC-20261123-001",
                &carol
            ),
            Ok(Command::AssignRole(AssignRole {
                incident: Some(id),
                role: Role::Comms,
                user: UserRef::Id(carol.clone()),
            }))
        );
        assert!(matches!(
            from_button("launch", "INC-20261123-001", &carol),
            Err(ButtonError::UnknownAction(_))
        ));
        assert!(matches!(
            from_button("ack", "not-an-id", &carol),
            Err(ButtonError::Incident(_))
        ));
        assert!(matches!(
            from_button("take:janitor", "INC-20261123-001", &carol),
            Err(ButtonError::UnknownAction(_))
        ));
        assert_eq!(
            from_button(
                &ButtonAction::Snooze(30).to_string(),
                "INC-20261123-001",
                &carol
            ),
            Ok(Command::Snooze(Snooze {
                incident: Some("INC-20261123-001".parse().unwrap()),
                minutes: 30,
            }))
        );
        assert!(matches!(
            from_button("snooze:0", "INC-20261123-001", &carol),
            Err(ButtonError::UnknownAction(_))
        ));
        assert_eq!(
            from_button("approve:7", "INC-20261123-001", &carol),
            Ok(Command::Approve(RunRef {
                incident: Some("INC-20261123-001".parse().unwrap()),
                run: RunId::new(7),
            }))
        );
        assert_eq!(
            from_button(
                &ButtonAction::Deny(RunId::new(7)).to_string(),
                "INC-20261123-001",
                &carol
            ),
            Ok(Command::Cancel(RunRef {
                incident: Some("INC-20261123-001".parse().unwrap()),
                run: RunId::new(7),
            }))
        );
        assert!(matches!(
            from_button("approve:seven", "INC-20261123-001", &carol),
            Err(ButtonError::UnknownAction(_))
        ));
        assert_eq!(
            from_button(
                &ButtonAction::Postmortem.to_string(),
                "INC-20261123-001",
                &carol
            ),
            Ok(Command::Postmortem(OnIncident {
                incident: Some("INC-20261123-001".parse().unwrap()),
            }))
        );
    }
}
