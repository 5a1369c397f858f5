//! Due work on the clock: status-update reminders, response-time checks and
//! escalation steps.
//!
//! Owns: the [`Reminder`] vocabulary: what a reminder row is for and how it ended.
//! `workers::Scheduler` leases due rows (the store's one lease mechanism, so
//! Postgres replicas share the work and each row fires once) and hands each to
//! the engine as a system actor.
//! Must not: decide what a reminder means or post anything: planning rows and
//! firing them is the engine's (`Engine::fire`), delivering the result is the
//! dispatcher's. It sits below the store, which keeps these values.
//!
//! A reminder is a row with a `due_at`, written by the engine in the same
//! transaction as the state change that planned it. Nothing is kept in memory:
//! after a restart the scheduler simply finds what is due, and a reminder that
//! fell due while the bot was down fires once, at start.

use crate::domain::{IncidentId, UnknownWord, parse_word};
use chrono::{DateTime, Utc};
use std::str::FromStr;

/// What a reminder row is for. Stored by name, so the names are a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderKind {
    /// A status update is due (the severity's `update_every`).
    Update,
    /// The acknowledge target (`respond_within`) ends.
    Response,
    /// An escalation step (`escalate`) is reached; `target` names the level.
    Escalate,
}

/// How a reminder row ended. Stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderOutcome {
    /// The engine acted on it.
    Fired,
    /// The state change that made it moot cancelled it (an update, an ack, resolve…).
    Cancelled,
    /// It came due but there was nothing left to do (the level was already called in).
    Skipped,
}

impl ReminderKind {
    pub const ALL: [ReminderKind; 3] = [
        ReminderKind::Update,
        ReminderKind::Response,
        ReminderKind::Escalate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::Update => "update",
            ReminderKind::Response => "response",
            ReminderKind::Escalate => "escalate",
        }
    }
}

impl ReminderOutcome {
    pub const ALL: [ReminderOutcome; 3] = [
        ReminderOutcome::Fired,
        ReminderOutcome::Cancelled,
        ReminderOutcome::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReminderOutcome::Fired => "fired",
            ReminderOutcome::Cancelled => "cancelled",
            ReminderOutcome::Skipped => "skipped",
        }
    }
}

impl FromStr for ReminderKind {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, UnknownWord> {
        parse_word(word, &Self::ALL, Self::as_str, "reminder kind")
    }
}

impl FromStr for ReminderOutcome {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, UnknownWord> {
        parse_word(word, &Self::ALL, Self::as_str, "reminder outcome")
    }
}

/// One reminder row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub id: i64,
    pub incident: IncidentId,
    pub kind: ReminderKind,
    pub due_at: DateTime<Utc>,
    /// The escalation level an `escalate` row calls in; for a `response` row that
    /// fired, the level it paged.
    pub target: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub outcome: Option<ReminderOutcome>,
}
