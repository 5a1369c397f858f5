//! Persistence: every row warroom keeps, on SQLite or Postgres through one code path.
//!
//! Owns: the connection pool, migrations (`migrations/sqlite`, `migrations/postgres`),
//! the queries, and leases (claiming work so one worker, or one replica, does it).
//! Must not: hold business rules. What to write is decided by the engine; the store
//! only writes it, inside the transaction the engine opened ([`Tx`]).

use crate::domain::{FollowUp, Incident, IncidentId, Platform, TimelineEvent, UserId};
use crate::outbox::{MessageRef, Operation};
use chrono::{DateTime, NaiveDate, Utc};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database url `{0}` (expected sqlite://… or postgres://…)")]
    UnsupportedUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "another warroom process is using {0}; SQLite allows one process (use Postgres for replicas)"
    )]
    Locked(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The handle everyone shares; cheap to clone.
#[derive(Clone)]
pub struct Store {}

/// One transaction: everything a command changes is written through it, then committed at once.
pub struct Tx {}

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
}

/// Which incidents to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentFilter {
    Open,
    All,
}

impl Store {
    /// Connects (`sqlite://path`, created if missing; `postgres://…`) and applies
    /// the per-connection settings (SQLite: WAL, busy timeout, foreign keys).
    pub async fn connect(_url: &str) -> Result<Store, StoreError> {
        todo!()
    }

    pub fn backend(&self) -> Backend {
        todo!()
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        todo!()
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        todo!()
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        todo!()
    }

    pub async fn incident(&self, _id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        todo!()
    }

    pub async fn incident_by_room(
        &self,
        _platform: Platform,
        _room: &str,
    ) -> Result<Option<Incident>, StoreError> {
        todo!()
    }

    /// Newest first.
    pub async fn incidents(
        &self,
        _filter: IncidentFilter,
        _limit: u32,
    ) -> Result<Vec<Incident>, StoreError> {
        todo!()
    }

    /// Oldest first (by `at`, then by insertion).
    pub async fn timeline(&self, _id: &IncidentId) -> Result<Vec<TimelineEvent>, StoreError> {
        todo!()
    }

    pub async fn followups(&self, _id: &IncidentId) -> Result<Vec<FollowUp>, StoreError> {
        todo!()
    }

    /// Every outbox row of an incident in queue order (delivered or not).
    pub async fn outbox_of(&self, _incident: &IncidentId) -> Result<Vec<OutboxEntry>, StoreError> {
        todo!()
    }

    /// Rows not yet delivered or failed, and the age of the oldest, for `/readyz` and metrics.
    pub async fn outbox_backlog(
        &self,
        _now: DateTime<Utc>,
    ) -> Result<(u64, Option<Duration>), StoreError> {
        todo!()
    }

    /// Leases up to `limit` operations that are due: for each lane (incident), only
    /// its oldest undelivered operation, so a lane is delivered strictly in order.
    /// A lease expires after `lease`, so work held by a crashed process is picked up again.
    pub async fn claim_outbox(
        &self,
        _owner: &str,
        _now: DateTime<Utc>,
        _lease: Duration,
        _limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        todo!()
    }

    /// Marks a leased operation delivered and records what it produced, atomically.
    /// Returns false if the lease was lost (another worker owns the row now).
    pub async fn complete_outbox(
        &self,
        _id: i64,
        _owner: &str,
        _now: DateTime<Utc>,
        _delivered: Delivered,
    ) -> Result<bool, StoreError> {
        todo!()
    }

    /// Gives a leased operation back for another attempt at `retry_at`.
    pub async fn retry_outbox(
        &self,
        _id: i64,
        _owner: &str,
        _retry_at: DateTime<Utc>,
        _error: &str,
    ) -> Result<bool, StoreError> {
        todo!()
    }

    /// Gives up on a leased operation; the lane moves on to its next operation.
    pub async fn fail_outbox(
        &self,
        _id: i64,
        _owner: &str,
        _now: DateTime<Utc>,
        _error: &str,
    ) -> Result<bool, StoreError> {
        todo!()
    }

    /// The message posted under `handle` for an incident, if it was delivered.
    pub async fn message_ref(
        &self,
        _incident: &IncidentId,
        _handle: &str,
    ) -> Result<Option<MessageRef>, StoreError> {
        todo!()
    }
}

impl Tx {
    /// Records a platform request id (Slack retry, Discord interaction id, button
    /// click). Returns the reply given the first time if it was seen before, so a
    /// replayed request changes nothing and gets the same answer.
    pub async fn claim_request(
        &mut self,
        _key: &str,
        _now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        todo!()
    }

    /// Stores the reply for a request claimed in this transaction.
    pub async fn save_reply(&mut self, _key: &str, _reply: &str) -> Result<(), StoreError> {
        todo!()
    }

    /// The next incident number of a UTC day; unique even under concurrent declares.
    pub async fn next_incident_number(&mut self, _day: NaiveDate) -> Result<u32, StoreError> {
        todo!()
    }

    pub async fn insert_incident(&mut self, _incident: &Incident) -> Result<(), StoreError> {
        todo!()
    }

    /// Loads an incident and locks it until commit (Postgres `FOR UPDATE`; SQLite
    /// transactions are already serialised), so concurrent commands on one incident
    /// apply one after the other and its outbox rows keep their order.
    pub async fn lock_incident(
        &mut self,
        _id: &IncidentId,
    ) -> Result<Option<Incident>, StoreError> {
        todo!()
    }

    /// The incident whose war room is `room`, locked like [`Tx::lock_incident`].
    pub async fn lock_incident_by_room(
        &mut self,
        _platform: Platform,
        _room: &str,
    ) -> Result<Option<Incident>, StoreError> {
        todo!()
    }

    /// Writes every field of the incident (roles included) as it is now.
    pub async fn update_incident(&mut self, _incident: &Incident) -> Result<(), StoreError> {
        todo!()
    }

    pub async fn record_event(
        &mut self,
        _incident: &IncidentId,
        _event: &TimelineEvent,
    ) -> Result<(), StoreError> {
        todo!()
    }

    /// Adds a follow-up and returns its number within the incident (1, 2, …).
    pub async fn add_followup(
        &mut self,
        _incident: &IncidentId,
        _text: &str,
        _owner: Option<&UserId>,
        _due: Option<NaiveDate>,
        _now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        todo!()
    }

    /// Marks follow-up `number` done; false if the incident has no such follow-up.
    pub async fn complete_followup(
        &mut self,
        _incident: &IncidentId,
        _number: i64,
    ) -> Result<bool, StoreError> {
        todo!()
    }

    /// Queues an operation behind every operation already queued for the incident.
    pub async fn enqueue(
        &mut self,
        _incident: Option<&IncidentId>,
        _platform: Platform,
        _operation: &Operation,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        todo!()
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        todo!()
    }
}
