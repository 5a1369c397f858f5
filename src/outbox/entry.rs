//! A queued operation as it is read back from the store, and what delivering it produced.
//!
//! Owns: [`OutboxEntry`] and [`Delivered`], the values the store hands to the
//! dispatcher and takes back from it. Must not: read or write rows (the store does).

use super::{MessageRef, Operation};
use crate::domain::{IncidentId, IssueLink, Platform};
use chrono::{DateTime, Utc};

/// A queued operation as the dispatcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub incident: Option<IncidentId>,
    pub platform: Platform,
    pub operation: Operation,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// For the room's notice that another row was set aside: that row. A notice
    /// that cannot be delivered is not noticed again.
    pub notice_of: Option<i64>,
    /// An earlier attempt may have reached the platform without its outcome being
    /// recorded (see [`super::Attempt::maybe_delivered`]).
    pub maybe_delivered: bool,
}

/// What a delivery produced that later operations need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Nothing,
    /// `create room` made this room: it becomes the incident's room.
    Room(String),
    /// A post under a handle: later edits and pins find it.
    Message {
        handle: String,
        posted: MessageRef,
    },
    /// A follow-up was filed as this issue: it is kept on the follow-up, and
    /// `announce` (its link, for the war room) is queued with it.
    Issue {
        followup: i64,
        link: IssueLink,
        announce: Operation,
    },
}
