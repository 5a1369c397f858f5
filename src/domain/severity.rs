use serde::{Deserialize, Serialize};
use std::fmt;

/// A severity by its canonical name from config (`sev1`, `sev2`, …).
///
/// Severities are defined by the team, not by warroom, so this is a name that the
/// config has already resolved (aliases like `p0` map to their canonical name there).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Severity(String);

impl Severity {
    /// Wraps a canonical name. Only config resolution should call this with user input.
    pub fn new(canonical: impl Into<String>) -> Self {
        Self(canonical.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_ascii_uppercase())
    }
}
