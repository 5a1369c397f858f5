//! What the engine queues for delivery: chat operations, pages and issues to
//! file, and the contract of whoever delivers them.
//!
//! Owns: the platform-neutral [`Operation`]s, the [`ChatPlatform`] trait that each
//! adapter implements, the [`Pager`] that pages go through, the [`IssueTracker`]
//! that follow-ups are filed through, and why a delivery failed
//! ([`DeliveryError`]). The loop that leases queued rows and delivers them is
//! `workers::Dispatcher`.
//! Must not: decide what to say (the engine wrote that), hold platform types, or
//! touch the store (it sits below it: the store keeps these values).
//!
//! Delivery is at-least-once: a crash between "sent" and "marked delivered" sends
//! again. Where a repeat would be visible (a second room, a second message) the
//! adapter must recognise the earlier attempt: [`ChatPlatform::create_room`]
//! returns the room it made, and posts and uploads carry an [`Attempt`] naming
//! their row, which the platform is given with the message (Slack's message
//! metadata, Discord's `nonce`) so a repeat can find or return the first one.

mod entry;
mod pager;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tracker;

pub use entry::{Delivered, OutboxEntry};
pub use pager::{EventAction, PageEvent, PageSeverity, Pager, PagerDuty, PagerSetupError};
pub use tracker::{IssueDraft, IssueTracker};

use crate::domain::{Platform, UserId};
use crate::render::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One thing to do on a chat platform, queued by the engine inside its transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Open the incident's war room. Everything addressed to [`Destination::Room`]
    /// after it waits for it.
    CreateRoom(RoomSpec),
    /// Bring people into the war room.
    Invite { users: Vec<UserId> },
    /// The one-line state of the incident shown at the top of the room.
    SetTopic {
        #[serde(deserialize_with = "crate::render::message_or_text")]
        topic: Message,
    },
    /// Post a message; with a `handle`, remember it so it can be edited or pinned later.
    Post {
        to: Destination,
        message: Message,
        handle: Option<String>,
    },
    /// Edit, in place, the message posted earlier under `handle`.
    Edit { handle: String, message: Message },
    /// Pin the message posted earlier under `handle` in the war room.
    Pin { handle: String },
    /// Share a file with a summary message introducing it, as one post where the
    /// platform allows (the postmortem draft).
    Upload {
        to: Destination,
        file: UploadFile,
        summary: Message,
    },
    /// Send an event to the paging service. If the service refuses it for good,
    /// `if_refused` is posted in the war room with the service's reason, because
    /// people who were meant to be paged were not.
    Page {
        event: PageEvent,
        if_refused: Message,
    },
    /// File a follow-up as an issue in the team's tracker. Once filed, the war
    /// room is posted `if_filed` followed by the issue's link; if the tracker
    /// refuses it for good, `if_refused` with the tracker's reason.
    FileIssue {
        /// Boxed: the largest operation by far, it would widen every other.
        issue: Box<IssueDraft>,
        if_filed: Message,
        if_refused: Message,
    },
}

impl Operation {
    /// Pages go to the paging service.
    pub fn is_page(&self) -> bool {
        matches!(self, Operation::Page { .. })
    }

    /// Pages and issues go to services other than the chat platform, each in a
    /// lane of its own beside the incident's chat lane (see the store): a paging
    /// service or tracker that is down must not hold up the war room, nor the
    /// reverse. `None` for chat operations.
    pub fn side_lane(&self) -> Option<&'static str> {
        match self {
            Operation::Page { .. } => Some("pager"),
            Operation::FileIssue { .. } => Some("tracker"),
            _ => None,
        }
    }

    /// The name it is stored under.
    pub fn kind(&self) -> &'static str {
        match self {
            Operation::CreateRoom(_) => "create_room",
            Operation::Invite { .. } => "invite",
            Operation::SetTopic { .. } => "set_topic",
            Operation::Post { .. } => "post",
            Operation::Edit { .. } => "edit",
            Operation::Pin { .. } => "pin",
            Operation::Upload { .. } => "upload",
            Operation::Page { .. } => "page",
            Operation::FileIssue { .. } => "file_issue",
        }
    }

    /// What the war room is told when `what` was set aside for good, so that the
    /// people in it know something they expect will not come. Written here, beside
    /// the operations, because it is about delivery, which the engine never sees.
    pub fn set_aside_notice(what: &str, reason: &str) -> Operation {
        Operation::Post {
            to: Destination::Room,
            message: Message::text(format!(
                "warroom could not deliver {what} and set it aside: {reason}. Everything else goes on."
            )),
            handle: None,
        }
    }
}

/// A text file to share; its content is already within the platform's size limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadFile {
    /// e.g. `postmortem-INC-20261123-001.md`.
    pub filename: String,
    /// What the platform shows instead of the file name, where it shows one.
    pub title: String,
    pub content: String,
}

/// What a new war room looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSpec {
    /// A name derived from the incident id and title; each adapter applies its
    /// platform's naming rules (Slack's lowercase slug, Discord's 100 characters).
    pub name: String,
    #[serde(deserialize_with = "crate::render::message_or_text")]
    pub topic: Message,
    pub purpose: String,
    /// Only the people invited see it (a private channel, a private thread).
    #[serde(default)]
    pub private: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// The incident's war room.
    Room,
    /// A channel id on the incident's platform (the announce channel, the channel a
    /// command came from).
    Channel(String),
}

/// A message the platform posted, as the platform identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: String,
    pub id: String,
}

/// A message to post, as the dispatcher hands it to a platform.
#[derive(Debug, Clone, Copy)]
pub struct Post<'a> {
    pub channel: &'a str,
    pub message: &'a Message,
    /// The name later operations find it under, to edit or pin it. The
    /// dispatcher remembers it itself; adapters may ignore it (the testing
    /// platform keeps it, so tests can look messages up by handle).
    pub handle: Option<&'a str>,
    pub attempt: Attempt,
}

/// A file to share with the message introducing it, as one post where the
/// platform allows.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub channel: &'a str,
    pub file: &'a UploadFile,
    pub summary: &'a Message,
    pub attempt: Attempt,
}

/// Which queued operation a platform call delivers, so that the adapter can tell
/// a repeat of it from a new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// The outbox row: the same on every attempt of the operation.
    pub row: i64,
    /// When the row was queued; with the row, it tells this database's
    /// operation from another one's that happens to have the same row number.
    pub queued_at: DateTime<Utc>,
    /// An earlier attempt may have reached the platform without its outcome being
    /// recorded (the process died during it, or the call timed out or failed
    /// with a 5xx): the adapter looks for what it made before making it again.
    pub maybe_delivered: bool,
}

impl Attempt {
    pub fn of(entry: &OutboxEntry) -> Self {
        Self {
            row: entry.id,
            queued_at: entry.created_at,
            maybe_delivered: entry.maybe_delivered,
        }
    }

    /// `<row>.<queued at, in ms>`: what adapters attach to a message to find it again.
    pub fn marker(&self) -> String {
        format!("{}.{}", self.row, self.queued_at.timestamp_millis())
    }
}

/// Why a delivery did not happen, which decides what the dispatcher does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The platform asked us to wait (HTTP 429 with `Retry-After` / `retry_after`).
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// Worth another try with backoff (5xx, a timeout, a dropped connection).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Will never succeed as it is (bad request, missing permission, unknown channel).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// A chat platform as the outbox sees it. The Slack and Discord adapters implement
/// this; so does the in-process `testing::TestingPlatform` of the tests and benches.
#[async_trait::async_trait]
pub trait ChatPlatform: Send + Sync + 'static {
    fn platform(&self) -> Platform;

    /// Creates the room, or returns the one with this name that an earlier attempt
    /// already created (at-least-once delivery must not open two rooms).
    async fn create_room(&self, spec: &RoomSpec) -> Result<String, DeliveryError>;

    async fn invite(&self, room: &str, users: &[UserId]) -> Result<(), DeliveryError>;

    async fn set_topic(&self, room: &str, topic: &Message) -> Result<(), DeliveryError>;

    /// Posts a message, or returns the one an earlier attempt of this same
    /// operation posted where the platform lets us find it.
    async fn post(&self, post: &Post<'_>) -> Result<MessageRef, DeliveryError>;

    async fn edit(&self, posted: &MessageRef, message: &Message) -> Result<(), DeliveryError>;

    async fn pin(&self, posted: &MessageRef) -> Result<(), DeliveryError>;

    /// Shares a file with the summary introducing it. A retry after a failure
    /// part-way must not leave two visible copies where the platform lets us avoid it.
    async fn upload(&self, upload: &Upload<'_>) -> Result<(), DeliveryError>;

    /// A link that opens the room, for pages; `None` if the platform has none.
    fn room_url(&self, _room: &str) -> Option<String> {
        None
    }
}
