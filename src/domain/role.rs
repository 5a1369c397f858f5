use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The four incident roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Commander,
    Technical,
    Comms,
    Scribe,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected commander, technical, comms or scribe)")]
pub struct UnknownRole(pub String);

impl Role {
    pub const ALL: [Role; 4] = [Role::Commander, Role::Technical, Role::Comms, Role::Scribe];

    /// The word used in commands and config.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Commander => "commander",
            Role::Technical => "technical",
            Role::Comms => "comms",
            Role::Scribe => "scribe",
        }
    }

    /// How the role is shown to people.
    pub fn title(self) -> &'static str {
        match self {
            Role::Commander => "Incident commander",
            Role::Technical => "Technical lead",
            Role::Comms => "Communications lead",
            Role::Scribe => "Scribe",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    /// Accepts the canonical words and the usual short forms (`ic`, `tech`, `communications`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "commander" | "ic" | "incident-commander" => Ok(Role::Commander),
            "technical" | "tech" | "tl" | "technical-lead" => Ok(Role::Technical),
            "comms" | "communications" | "cl" | "comms-lead" => Ok(Role::Comms),
            "scribe" | "notes" => Ok(Role::Scribe),
            _ => Err(UnknownRole(s.to_string())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
