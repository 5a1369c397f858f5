use super::{UnknownWord, parse_word};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// How far a page warroom meant to send got. Stored by name, so the names are a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageState {
    /// Paging is not configured (no routing key): nobody was paged.
    Off,
    /// A drill: everything runs, nobody is paged.
    Drill,
    /// Queued as a `trigger` event.
    Triggered,
    /// Queued as an `acknowledge` event.
    Acknowledged,
    /// Queued as a `resolve` event.
    Resolved,
}

impl PageState {
    pub const ALL: [PageState; 5] = [
        PageState::Off,
        PageState::Drill,
        PageState::Triggered,
        PageState::Acknowledged,
        PageState::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PageState::Off => "off",
            PageState::Drill => "drill",
            PageState::Triggered => "triggered",
            PageState::Acknowledged => "acknowledged",
            PageState::Resolved => "resolved",
        }
    }

    /// Whether someone was really paged and has not been told it is over.
    pub fn is_live(self) -> bool {
        matches!(self, PageState::Triggered | PageState::Acknowledged)
    }
}

impl FromStr for PageState {
    type Err = UnknownWord;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_word(s, &Self::ALL, Self::as_str, "page state")
    }
}

/// One page of an incident: on-call at declaration, or an escalation level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// PagerDuty's `dedup_key`: the incident id for the declaration page,
    /// `<incident id>/<level>` for an escalation level.
    pub dedup_key: String,
    /// `on-call`, or the escalation level's name.
    pub target: String,
    pub state: PageState,
}
