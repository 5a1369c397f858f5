//! Filing follow-ups as issues: the issue the engine queues, and the contract
//! of the tracker clients the dispatcher files it through.
//!
//! Owns: [`IssueDraft`] and the [`IssueTracker`] trait. The clients themselves
//! (GitHub's REST API, …) are the `trackers` module's.
//! Must not: decide what an issue says (the engine wrote the draft) or hold a
//! tracker's credentials.

use super::{Attempt, DeliveryError};
use crate::domain::{IssueLink, Tracker};
use serde::{Deserialize, Serialize};

/// An issue to file for a follow-up, as the engine queued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueDraft {
    pub tracker: Tracker,
    /// The follow-up's number in its incident; the issue's link is kept on it.
    pub followup: i64,
    pub title: String,
    /// Markdown, with the link back to the incident.
    pub body: String,
    /// The owner as the tracker knows them (a GitHub login), when `[people]` says.
    pub assignee: Option<String>,
    /// `YYYY-MM-DD`, as the trackers that have a due date take it.
    pub due: Option<String>,
    /// Names this follow-up in every database (`INC-20261123-001/3`). The client
    /// writes it into the issue, so a retry after a lost answer finds the issue
    /// instead of filing a second one.
    pub marker: String,
}

/// An issue tracker as the dispatcher sees it.
#[async_trait::async_trait]
pub trait IssueTracker: Send + Sync + 'static {
    fn tracker(&self) -> Tracker;

    /// Files the issue, or, when an earlier attempt of this same operation may
    /// have filed it ([`Attempt::maybe_delivered`]), returns that one.
    async fn file(&self, issue: &IssueDraft, attempt: Attempt) -> Result<IssueLink, DeliveryError>;
}
