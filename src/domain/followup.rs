use super::{IssueLink, UserId};
use chrono::{DateTime, NaiveDate, Utc};

/// An action item recorded during or after an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub number: i64,
    pub text: String,
    pub owner: Option<UserId>,
    pub due: Option<NaiveDate>,
    pub done: bool,
    pub created_at: DateTime<Utc>,
    /// The tracker's issue it was filed as, once the tracker made it.
    pub issue: Option<IssueLink>,
}
