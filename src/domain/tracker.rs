use serde::{Deserialize, Serialize};
use std::fmt;

/// An issue tracker a follow-up can be filed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tracker {
    GitHub,
    Jira,
    Linear,
}

impl Tracker {
    /// The key of its `[trackers.*]` table.
    pub fn key(self) -> &'static str {
        match self {
            Tracker::GitHub => "github",
            Tracker::Jira => "jira",
            Tracker::Linear => "linear",
        }
    }

    /// Its name as people write it.
    pub fn name(self) -> &'static str {
        match self {
            Tracker::GitHub => "GitHub",
            Tracker::Jira => "Jira",
            Tracker::Linear => "Linear",
        }
    }
}

impl fmt::Display for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The tracker's issue a follow-up was filed as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueLink {
    /// As the tracker names it: `#12` on GitHub, `OPS-12` on Jira and Linear.
    pub key: String,
    /// Where people open it.
    pub url: String,
}
