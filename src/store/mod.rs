//! Persistence: every row warroom keeps, on SQLite or Postgres through one code path.
//!
//! Owns: the connection pool, migrations (`migrations/sqlite`, `migrations/postgres`),
//! the queries, and leases (claiming work so one worker, or one replica, does it).
//! Must not: hold business rules. What to write is decided by the engine; the store
//! only writes it, inside the transaction the engine opened ([`Tx`]).
//!
//! Everything goes through sqlx's `Any` driver, which carries only integers, floats,
//! text and bytes: times are stored as unix milliseconds, JSON as text, flags as
//! integers. Queries use `$1…$N` placeholders, which both backends understand.
//!
//! SQLite means one process: [`Store::connect`] holds an OS lock on `<file>.lock`
//! for the store's lifetime, and write transactions start with `BEGIN IMMEDIATE`, so
//! concurrent writers queue on SQLite's busy timeout instead of failing when a
//! reader tries to upgrade. On Postgres, several replicas share one database; rows
//! are claimed through the lease columns (see `lease`).

/// `SELECT` of incidents joined with their roles; `$where` filters the incidents,
/// `$tail` follows the ordering (a limit, or Postgres' row lock).
macro_rules! incidents_with_roles {
    ($where:literal, $tail:literal) => {
        concat!(
            "SELECT i.id, i.title, i.severity, i.status, i.drill, i.services, i.platform, ",
            "i.origin_channel, i.room, i.declared_by, i.declared_at, i.acknowledged_at, ",
            "i.identified_at, i.mitigated_at, i.resolved_at, i.last_update_at, i.summary, ",
            "r.role, r.user_id ",
            "FROM incidents i LEFT JOIN incident_roles r ON r.incident_id = i.id ",
            "WHERE ",
            $where,
            " ORDER BY i.declared_at DESC, i.id DESC, r.role",
            $tail
        )
    };
}

mod action_runs;
mod incidents;
mod lease;
mod outbox;
mod reads;
mod reminders;
mod requests;
mod rows;
mod runbook_runs;
mod status_page;

pub use action_runs::{RunReport, StepRun};
pub use reads::DeclaredAfter;

use crate::domain::{
    ActionRun, ComponentSetting, ComponentState, FollowUp, Incident, IncidentId, IncidentRecord,
    Page, Platform, RunStatus, RunbookRun, RunbookStatus, Severity, SeverityTotals, StatusUpdate,
    TimelineEvent, UserId,
};
use crate::outbox::{MessageRef, Operation};
use crate::schedule::{Reminder, ReminderKind, ReminderOutcome};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sqlx::any::{Any, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection};
use std::collections::BTreeMap;
use std::fs::{File, TryLockError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedMutexGuard, watch};

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
    #[error("cannot use lock file {path}: {source}")]
    LockFile {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot encode {what} for storage: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How long a SQLite writer waits for the write lock before giving up. Write
/// transactions are short, so this only runs out if something is badly stuck.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// SQLite has one writer at a time; a few connections let reads run beside it.
const SQLITE_POOL_SIZE: u32 = 8;

const POSTGRES_POOL_SIZE: u32 = 16;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How often the WAL is copied back into a SQLite database file.
const SQLITE_CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The handle everyone shares; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only; released when the last clone is dropped.
    sqlite: Option<Arc<SqliteFile>>,
}

/// What one process holds while it owns a SQLite file.
struct SqliteFile {
    /// The single-process lock on `<db>.lock`.
    _lock: File,
    /// SQLite admits one writer at a time. Writers queue here, in order, instead of
    /// spinning in SQLite's busy handler, whose back-off sleeps (up to 100 ms a
    /// try) would make a command wait far longer than the writer ahead of it.
    writers: Arc<tokio::sync::Mutex<()>>,
    /// Dropping it stops the background checkpointer.
    _checkpoints: watch::Sender<()>,
}

/// One transaction: everything a command changes is written through it, then committed at once.
pub struct Tx {
    tx: sqlx::Transaction<'static, Any>,
    backend: Backend,
    /// SQLite: this transaction's turn as the writer, held until commit or rollback.
    _turn: Option<OwnedMutexGuard<()>>,
}

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
    Resolved,
    All,
}

/// A database URL taken apart just enough to choose the backend and, for SQLite,
/// find the file to lock.
struct Target {
    backend: Backend,
    /// The URL handed to sqlx (SQLite: with `mode=rwc` unless a mode was given).
    url: String,
    sqlite_file: Option<PathBuf>,
}

impl Target {
    fn parse(url: &str) -> Result<Target, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target {
                backend: Backend::Postgres,
                url: url.to_string(),
                sqlite_file: None,
            });
        }
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::UnsupportedUrl(url.to_string()))?;
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        // A pool of in-memory connections would be a pool of separate databases.
        let in_memory = path.is_empty()
            || path == ":memory:"
            || query.is_some_and(|q| q.split('&').any(|pair| pair == "mode=memory"));
        if in_memory {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        }
        let url = match query {
            Some(q) if q.split('&').any(|pair| pair.starts_with("mode=")) => url.to_string(),
            Some(_) => format!("{url}&mode=rwc"),
            None => format!("{url}?mode=rwc"),
        };
        Ok(Target {
            backend: Backend::Sqlite,
            url,
            sqlite_file: Some(PathBuf::from(path)),
        })
    }
}

/// Copies the WAL back into the database file every second, beside the writers
/// rather than inside a commit, until the store is dropped or closed. A passive
/// checkpoint never blocks writers; what it cannot copy yet waits for the next round.
async fn checkpoint_sqlite(pool: AnyPool, mut stopped: watch::Receiver<()>) {
    let mut every = tokio::time::interval(SQLITE_CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.changed() => return,
        }
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(%error, "SQLite checkpoint failed; retrying in a second");
        }
    }
}

/// Takes the single-process lock next to a SQLite file.
fn lock_sqlite_file(db: &std::path::Path) -> Result<File, StoreError> {
    let mut lock_path = db.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let shown = lock_path.display().to_string();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StoreError::LockFile {
            path: shown.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked(db.display().to_string())),
        Err(TryLockError::Error(source)) => Err(StoreError::LockFile {
            path: shown,
            source,
        }),
    }
}

impl Store {
    /// Connects (`sqlite://path`, created if missing; `postgres://…`) and applies
    /// the per-connection settings (SQLite: WAL, busy timeout, foreign keys).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let target = Target::parse(url)?;
        let lock = match &target.sqlite_file {
            Some(file) => Some(lock_sqlite_file(file)?),
            None => None,
        };
        let pool = match target.backend {
            Backend::Sqlite => {
                // WAL is a property of the file; switching to it needs a lock that the
                // busy timeout does not cover, so do it once before the pool opens.
                let mut first = sqlx::AnyConnection::connect(&target.url).await?;
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&mut first)
                    .await?;
                first.close().await?;
                AnyPoolOptions::new()
                    .max_connections(SQLITE_POOL_SIZE)
                    // A file connection never goes stale; not reaping also keeps the pool
                    // from arming long timers that a paused test clock would jump to.
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            sqlx::query(sqlx::AssertSqlSafe(format!(
                                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"
                            )))
                            .execute(&mut *conn)
                            .await?;
                            sqlx::query("PRAGMA synchronous = NORMAL")
                                .execute(&mut *conn)
                                .await?;
                            // Checkpoints run in the background (see `checkpoint_sqlite`),
                            // not inside whichever commit crosses the WAL threshold.
                            sqlx::query("PRAGMA wal_autocheckpoint = 0")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA foreign_keys = ON")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&target.url)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(POSTGRES_POOL_SIZE)
                    .connect(&target.url)
                    .await?
            }
        };
        let sqlite = lock.map(|lock| {
            let (stop, stopped) = watch::channel(());
            tokio::spawn(checkpoint_sqlite(pool.clone(), stopped));
            Arc::new(SqliteFile {
                _lock: lock,
                writers: Arc::new(tokio::sync::Mutex::new(())),
                _checkpoints: stop,
            })
        });
        Ok(Store {
            pool,
            backend: target.backend,
            sqlite,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection; the store is unusable afterwards. The SQLite lock is
    /// released once the last clone of the store is dropped.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// SQLite: waits for this process's turn to write. Postgres has row locks and
    /// needs no turn.
    async fn writer_turn(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.sqlite {
            Some(file) => Some(file.writers.clone().lock_owned().await),
            None => None,
        }
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let turn = self.writer_turn().await;
        let tx = match self.backend {
            // Take the write lock up front: a deferred transaction that reads and then
            // writes fails with SQLITE_BUSY, without waiting, if another writer got in
            // between.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            tx,
            backend: self.backend,
            _turn: turn,
        })
    }

    pub async fn incident(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        incidents::by_id(&mut *self.pool.acquire().await?, id, false).await
    }

    pub async fn incident_by_room(
        &self,
        platform: Platform,
        room: &str,
    ) -> Result<Option<Incident>, StoreError> {
        incidents::by_room(&mut *self.pool.acquire().await?, platform, room, false).await
    }

    /// Newest first.
    pub async fn incidents(
        &self,
        filter: IncidentFilter,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError> {
        incidents::list(&mut *self.pool.acquire().await?, filter, limit).await
    }

    /// Oldest first (by `at`, then by insertion).
    pub async fn timeline(&self, id: &IncidentId) -> Result<Vec<TimelineEvent>, StoreError> {
        incidents::timeline(&mut *self.pool.acquire().await?, id).await
    }

    pub async fn followups(&self, id: &IncidentId) -> Result<Vec<FollowUp>, StoreError> {
        incidents::followups(&mut *self.pool.acquire().await?, id).await
    }

    /// An incident with its updates, timeline, follow-ups and action runs.
    pub async fn incident_record(
        &self,
        id: &IncidentId,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        reads::record(&mut *self.pool.acquire().await?, id).await
    }

    /// A page of incidents in declaration order (oldest first), drills included:
    /// those declared after `after` (all, without it), at most `limit`.
    pub async fn incidents_declared(
        &self,
        filter: IncidentFilter,
        after: Option<&DeclaredAfter>,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError> {
        reads::page(&mut *self.pool.acquire().await?, filter, after, limit).await
    }

    /// Incidents declared at `since` or later (drills left out) whose postmortem was posted.
    pub async fn incidents_with_postmortem(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<IncidentId>, StoreError> {
        reads::with_postmortem(&mut *self.pool.acquire().await?, since).await
    }

    /// How many incidents are open per severity, drills left out; severities
    /// without an open incident are absent.
    pub async fn open_incidents_by_severity(&self) -> Result<Vec<(Severity, u64)>, StoreError> {
        reads::open_by_severity(&mut *self.pool.acquire().await?).await
    }

    /// The KPI totals of every incident per severity, drills left out, for the
    /// series on `/metrics`; `respond_within` gives the severities' response targets.
    pub async fn severity_totals(
        &self,
        respond_within: &[(Severity, TimeDelta)],
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<Severity, SeverityTotals>, StoreError> {
        reads::severity_totals(&mut *self.pool.acquire().await?, respond_within, now).await
    }

    /// An incident's public status updates, oldest first.
    pub async fn status_updates(&self, id: &IncidentId) -> Result<Vec<StatusUpdate>, StoreError> {
        status_page::updates_of(&mut *self.pool.acquire().await?, id).await
    }

    /// What the public status page lists: every open incident and those resolved at
    /// or after `resolved_since`, newest first, at most `limit`, each with its
    /// status updates (oldest first). Never a drill. Both reads share one connection
    /// but not one snapshot: an update committed in between may show on an incident
    /// listed in its earlier state, which the next page load corrects.
    pub async fn public_incidents(
        &self,
        resolved_since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Incident, Vec<StatusUpdate>)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let incidents = status_page::public_incidents(&mut conn, resolved_since, limit).await?;
        let mut updates: BTreeMap<IncidentId, Vec<StatusUpdate>> = BTreeMap::new();
        for (id, update) in status_page::public_updates(&mut conn, resolved_since, limit).await? {
            updates.entry(id).or_default().push(update);
        }
        Ok(incidents
            .into_iter()
            .map(|incident| {
                let own = updates.remove(&incident.id).unwrap_or_default();
                (incident, own)
            })
            .collect())
    }

    /// One incident as the public may see it, with its status updates; `None` for
    /// an unknown id and for a drill alike.
    pub async fn public_incident(
        &self,
        id: &IncidentId,
    ) -> Result<Option<(Incident, Vec<StatusUpdate>)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(incident) = status_page::public_incident(&mut conn, id).await? else {
            return Ok(None);
        };
        let updates = status_page::updates_of(&mut conn, id).await?;
        Ok(Some((incident, updates)))
    }

    /// Component states set explicitly, by component name.
    pub async fn component_settings(&self) -> Result<Vec<ComponentSetting>, StoreError> {
        status_page::component_settings(&mut *self.pool.acquire().await?).await
    }

    /// Every outbox row of an incident in queue order (delivered or not).
    pub async fn outbox_of(&self, incident: &IncidentId) -> Result<Vec<OutboxEntry>, StoreError> {
        outbox::of_incident(&mut *self.pool.acquire().await?, incident).await
    }

    /// Rows not yet delivered or failed, and the age of the oldest, for `/readyz` and metrics.
    pub async fn outbox_backlog(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(u64, Option<Duration>), StoreError> {
        outbox::backlog(&mut *self.pool.acquire().await?, now).await
    }

    /// Leases up to `limit` operations that are due: for each lane (incident), only
    /// its oldest undelivered operation, so a lane is delivered strictly in order.
    /// A lease expires after `lease`, so work held by a crashed process is picked up again.
    pub async fn claim_outbox(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let _turn = self.writer_turn().await;
        outbox::claim(&self.pool, owner, now, lease, limit).await
    }

    /// Marks a leased operation delivered and records what it produced, atomically.
    /// Returns false if the lease was lost (another worker owns the row now).
    pub async fn complete_outbox(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        delivered: Delivered,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = outbox::complete(&mut tx.tx, id, owner, now, delivered).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Gives a leased operation back for another attempt at `retry_at`; the
    /// attempt counts towards the dispatcher's limit.
    pub async fn retry_outbox(
        &self,
        id: i64,
        owner: &str,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer_turn().await;
        outbox::release(&self.pool, id, owner, retry_at, error, true).await
    }

    /// Gives a leased operation back until `retry_at` because the platform asked us
    /// to wait (a rate limit). Unlike [`Store::retry_outbox`] this is not a failed
    /// attempt: a long 429 storm must not use up an operation's attempts.
    pub async fn postpone_outbox(
        &self,
        id: i64,
        owner: &str,
        retry_at: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer_turn().await;
        outbox::release(&self.pool, id, owner, retry_at, reason, false).await
    }

    /// Gives up on a leased operation; the lane moves on to its next operation.
    pub async fn fail_outbox(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let _turn = self.writer_turn().await;
        outbox::fail(&mut *self.pool.acquire().await?, id, owner, now, error).await
    }

    /// Leases up to `limit` reminder rows that are due, earliest first. A lease
    /// expires after `lease`, so rows held by a crashed process fire elsewhere.
    pub async fn claim_reminders(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Reminder>, StoreError> {
        let _turn = self.writer_turn().await;
        reminders::claim(&self.pool, owner, now, lease, limit).await
    }

    /// Leases up to `limit` queued action runs, oldest first, and marks them
    /// running. A lease expires after `lease`; the holder must finish before.
    pub async fn claim_action_runs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ActionRun>, StoreError> {
        let _turn = self.writer_turn().await;
        action_runs::claim(&self.pool, owner, now, lease, limit).await
    }

    /// The running action runs whose holder stopped (their lease ran out by
    /// `now`); each is ended with [`Tx::interrupt_action_run`].
    pub async fn abandoned_action_runs(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<ActionRun>, StoreError> {
        action_runs::abandoned(&mut *self.pool.acquire().await?, now).await
    }

    /// The action runs still waiting for an approval that were requested at or
    /// before `before`, oldest first.
    pub async fn action_runs_awaiting_approval(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<ActionRun>, StoreError> {
        action_runs::awaiting_approval(&mut *self.pool.acquire().await?, before).await
    }

    /// Whether someone asked to stop action run `id` while it ran.
    pub async fn action_run_stop_requested(&self, id: i64) -> Result<bool, StoreError> {
        action_runs::stop_requested(&mut *self.pool.acquire().await?, id).await
    }

    /// Every action run of an incident, oldest first.
    pub async fn action_runs_of(
        &self,
        incident: &IncidentId,
    ) -> Result<Vec<ActionRun>, StoreError> {
        action_runs::of_incident(&mut *self.pool.acquire().await?, incident).await
    }

    /// Every runbook run of an incident, oldest first.
    pub async fn runbook_runs_of(
        &self,
        incident: &IncidentId,
    ) -> Result<Vec<RunbookRun>, StoreError> {
        runbook_runs::of_incident(&mut *self.pool.acquire().await?, incident).await
    }

    /// When the next pending reminder that no scheduler holds at `now` falls due.
    pub async fn next_reminder_due(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        reminders::next_due(&mut *self.pool.acquire().await?, now).await
    }

    /// Every reminder row of an incident (pending and done), in the order planned.
    pub async fn reminders_of(&self, incident: &IncidentId) -> Result<Vec<Reminder>, StoreError> {
        reminders::of_incident(&mut *self.pool.acquire().await?, incident).await
    }

    /// Every page of an incident, oldest first.
    pub async fn pages_of(&self, incident: &IncidentId) -> Result<Vec<Page>, StoreError> {
        reminders::pages(&mut *self.pool.acquire().await?, incident).await
    }

    /// Marks a leased operation failed and, in the same transaction, queues
    /// `report` behind the incident's other chat operations, so a failure the room
    /// must hear about cannot be recorded without the report.
    pub async fn fail_outbox_reporting(
        &self,
        entry: &OutboxEntry,
        owner: &str,
        now: DateTime<Utc>,
        error: &str,
        report: &Operation,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if !outbox::fail(&mut tx.tx, entry.id, owner, now, error).await? {
            return Ok(false);
        }
        outbox::enqueue(
            &mut tx.tx,
            entry.incident.as_ref(),
            entry.platform,
            report,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The message posted under `handle` for an incident, if it was delivered.
    pub async fn message_ref(
        &self,
        incident: &IncidentId,
        handle: &str,
    ) -> Result<Option<MessageRef>, StoreError> {
        outbox::message_ref(&mut *self.pool.acquire().await?, incident, handle).await
    }
}

impl Tx {
    /// Records a platform request id (Slack retry, Discord interaction id, button
    /// click). Returns the reply given the first time if it was seen before, so a
    /// replayed request changes nothing and gets the same answer. A request seen
    /// before whose reply was never saved answers `Some("")`.
    pub async fn claim_request(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        requests::claim(&mut self.tx, key, now).await
    }

    /// Stores the reply for a request claimed in this transaction.
    pub async fn save_reply(&mut self, key: &str, reply: &str) -> Result<(), StoreError> {
        requests::save_reply(&mut self.tx, key, reply).await
    }

    /// The next incident number of a UTC day; unique even under concurrent declares.
    pub async fn next_incident_number(&mut self, day: NaiveDate) -> Result<u32, StoreError> {
        incidents::next_number(&mut self.tx, day).await
    }

    pub async fn insert_incident(&mut self, incident: &Incident) -> Result<(), StoreError> {
        incidents::insert(&mut self.tx, incident).await
    }

    /// Loads an incident and locks it until commit (Postgres `FOR UPDATE`; SQLite
    /// transactions are already serialised), so concurrent commands on one incident
    /// apply one after the other and its outbox rows keep their order.
    pub async fn lock_incident(&mut self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        let lock = self.backend == Backend::Postgres;
        incidents::by_id(&mut self.tx, id, lock).await
    }

    /// The incident whose war room is `room`, locked like [`Tx::lock_incident`].
    pub async fn lock_incident_by_room(
        &mut self,
        platform: Platform,
        room: &str,
    ) -> Result<Option<Incident>, StoreError> {
        let lock = self.backend == Backend::Postgres;
        incidents::by_room(&mut self.tx, platform, room, lock).await
    }

    /// Like [`Store::incident_record`], seeing what this transaction wrote.
    pub async fn incident_record(
        &mut self,
        id: &IncidentId,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        reads::record(&mut self.tx, id).await
    }

    /// Writes every field of the incident (roles included) as it is now.
    pub async fn update_incident(&mut self, incident: &Incident) -> Result<(), StoreError> {
        incidents::update(&mut self.tx, incident).await
    }

    pub async fn record_event(
        &mut self,
        incident: &IncidentId,
        event: &TimelineEvent,
    ) -> Result<(), StoreError> {
        incidents::record_event(&mut self.tx, incident, event).await
    }

    /// Adds a follow-up and returns its number within the incident (1, 2, …).
    /// Call it with the incident locked, which serialises numbering.
    pub async fn add_followup(
        &mut self,
        incident: &IncidentId,
        text: &str,
        owner: Option<&UserId>,
        due: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        incidents::add_followup(&mut self.tx, incident, text, owner, due, now).await
    }

    /// Marks follow-up `number` done; false if the incident has no such follow-up.
    pub async fn complete_followup(
        &mut self,
        incident: &IncidentId,
        number: i64,
    ) -> Result<bool, StoreError> {
        incidents::complete_followup(&mut self.tx, incident, number).await
    }

    /// Publishes a status update of an incident (the status page and feed show it).
    pub async fn record_status_update(
        &mut self,
        incident: &IncidentId,
        update: &StatusUpdate,
    ) -> Result<(), StoreError> {
        status_page::insert_update(&mut self.tx, incident, update).await
    }

    /// Sets a status-page component's state explicitly, replacing what was set
    /// before. With an incident, the state holds while that incident is open.
    pub async fn set_component_state(
        &mut self,
        component: &str,
        state: ComponentState,
        incident: Option<&IncidentId>,
        set_by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        status_page::set_component_state(&mut self.tx, component, state, incident, set_by, now)
            .await
    }

    /// Queues an operation behind every operation already queued for the incident.
    pub async fn enqueue(
        &mut self,
        incident: Option<&IncidentId>,
        platform: Platform,
        operation: &Operation,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        outbox::enqueue(&mut self.tx, incident, platform, operation, now).await
    }

    /// Plans a reminder row due at `due_at`.
    pub async fn plan_reminder(
        &mut self,
        incident: &IncidentId,
        kind: ReminderKind,
        due_at: DateTime<Utc>,
        target: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        reminders::plan(&mut self.tx, incident, kind, due_at, target, now).await
    }

    /// Cancels the incident's pending reminders of these kinds; returns how many.
    pub async fn cancel_reminders(
        &mut self,
        incident: &IncidentId,
        kinds: &[ReminderKind],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        reminders::cancel(&mut self.tx, incident, kinds, now).await
    }

    /// Moves the incident's pending reminders of a kind to `due_at`; returns how many.
    pub async fn postpone_reminders(
        &mut self,
        incident: &IncidentId,
        kind: ReminderKind,
        due_at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        reminders::postpone(&mut self.tx, incident, kind, due_at).await
    }

    /// The incident's pending reminders, earliest first.
    pub async fn pending_reminders(
        &mut self,
        incident: &IncidentId,
    ) -> Result<Vec<Reminder>, StoreError> {
        reminders::pending(&mut self.tx, incident).await
    }

    /// Whether a fired reminder already called in `level` for the incident.
    pub async fn level_reached(
        &mut self,
        incident: &IncidentId,
        level: &str,
    ) -> Result<bool, StoreError> {
        reminders::level_reached(&mut self.tx, incident, level).await
    }

    /// Whether a reminder of this kind already fired for the incident.
    pub async fn has_fired(
        &mut self,
        incident: &IncidentId,
        kind: ReminderKind,
    ) -> Result<bool, StoreError> {
        reminders::has_fired(&mut self.tx, incident, kind).await
    }

    /// Ends a reminder `owner` leased, with its outcome (and, for a response
    /// check, the level it called in). False if it was cancelled meanwhile or the
    /// lease went elsewhere: then the caller must roll back what it did for it.
    pub async fn finish_reminder(
        &mut self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        outcome: ReminderOutcome,
        target: Option<&str>,
    ) -> Result<bool, StoreError> {
        reminders::finish(&mut self.tx, id, owner, now, outcome, target).await
    }

    /// Records a requested action run; returns its number.
    pub async fn request_action_run(
        &mut self,
        incident: &IncidentId,
        action: &str,
        params: &BTreeMap<String, String>,
        status: RunStatus,
        requested_by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        action_runs::request(
            &mut self.tx,
            incident,
            action,
            params,
            status,
            requested_by,
            now,
        )
        .await
    }

    /// Run `id` of an incident, if there is one.
    pub async fn action_run(
        &mut self,
        incident: &IncidentId,
        id: i64,
    ) -> Result<Option<ActionRun>, StoreError> {
        action_runs::get(&mut self.tx, incident, id).await
    }

    /// Approves a run awaiting approval; false if it no longer was.
    pub async fn approve_action_run(&mut self, id: i64, by: &UserId) -> Result<bool, StoreError> {
        action_runs::approve(&mut self.tx, id, by).await
    }

    /// Denies or cancels a run that has not started; false if it had.
    pub async fn cancel_action_run(
        &mut self,
        id: i64,
        by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        action_runs::cancel(&mut self.tx, id, by, now).await
    }

    /// Cancels a run whose approval did not come in time; false if it was no
    /// longer waiting for one.
    pub async fn expire_action_run(
        &mut self,
        id: i64,
        result: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        action_runs::expire(&mut self.tx, id, result, now).await
    }

    /// Asks the worker running run `id` to stop it; false if it is not running
    /// or a stop was asked for already.
    pub async fn request_stop_action_run(
        &mut self,
        id: i64,
        by: &UserId,
    ) -> Result<bool, StoreError> {
        action_runs::request_stop(&mut self.tx, id, by).await
    }

    /// Ends an abandoned run (running, its lease run out by `now`): queued again
    /// when `rerun`, else interrupted. The new status, or `None` if it was no
    /// longer abandoned.
    pub async fn interrupt_action_run(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        rerun: bool,
    ) -> Result<Option<RunStatus>, StoreError> {
        action_runs::interrupt(&mut self.tx, id, now, rerun).await
    }

    /// Ends a running run `owner` holds; false if its lease went elsewhere.
    pub async fn finish_action_run(
        &mut self,
        id: i64,
        owner: &str,
        report: &RunReport<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        action_runs::finish(&mut self.tx, id, owner, report, now).await
    }

    /// Records a requested runbook run; returns its number.
    pub async fn request_runbook_run(
        &mut self,
        incident: &IncidentId,
        runbook: &str,
        params: &BTreeMap<String, String>,
        status: RunbookStatus,
        requested_by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        runbook_runs::request(
            &mut self.tx,
            incident,
            runbook,
            params,
            status,
            requested_by,
            now,
        )
        .await
    }

    /// Runbook run `id` of an incident, if there is one.
    pub async fn runbook_run(
        &mut self,
        incident: &IncidentId,
        id: i64,
    ) -> Result<Option<RunbookRun>, StoreError> {
        runbook_runs::get(&mut self.tx, incident, id).await
    }

    /// Approves a runbook run awaiting approval; false if it no longer was.
    pub async fn start_runbook_run(
        &mut self,
        id: i64,
        by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        runbook_runs::start(&mut self.tx, id, by, now).await
    }

    /// Records a cancel of a runbook run whose step is running; false if it is
    /// over or a cancel was asked for already.
    pub async fn request_cancel_runbook_run(
        &mut self,
        id: i64,
        by: &UserId,
    ) -> Result<bool, StoreError> {
        runbook_runs::request_cancel(&mut self.tx, id, by).await
    }

    /// Ends a runbook run that was not over; false if it already was.
    pub async fn finish_runbook_run(
        &mut self,
        id: i64,
        status: RunbookStatus,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        runbook_runs::finish(&mut self.tx, id, status, now).await
    }

    /// Records the run of a runbook step or of its fallback; returns its number.
    pub async fn request_step_run(
        &mut self,
        incident: &IncidentId,
        run: &StepRun<'_>,
        requested_by: &UserId,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        action_runs::request_step(&mut self.tx, incident, run, requested_by, now).await
    }

    /// The runs of a runbook run's steps, in step order, each before its fallback.
    pub async fn step_runs(&mut self, runbook_run: i64) -> Result<Vec<ActionRun>, StoreError> {
        action_runs::of_runbook_run(&mut self.tx, runbook_run).await
    }

    /// Queues a pending runbook step; false if it was no longer pending.
    pub async fn queue_pending_step(&mut self, id: i64) -> Result<bool, StoreError> {
        action_runs::queue_pending(&mut self.tx, id).await
    }

    /// Marks a runbook run's pending steps skipped; returns how many.
    pub async fn skip_pending_steps(
        &mut self,
        runbook_run: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        action_runs::skip_pending(&mut self.tx, runbook_run, now).await
    }

    /// Records a page, or moves the one with the same dedup key to a new state.
    pub async fn record_page(
        &mut self,
        incident: &IncidentId,
        page: &Page,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        reminders::record_page(&mut self.tx, incident, page, now).await
    }

    /// The incident's pages, oldest first.
    pub async fn pages(&mut self, incident: &IncidentId) -> Result<Vec<Page>, StoreError> {
        reminders::pages(&mut self.tx, incident).await
    }

    /// The incident's public status updates, oldest first.
    pub async fn status_updates(
        &mut self,
        incident: &IncidentId,
    ) -> Result<Vec<StatusUpdate>, StoreError> {
        status_page::updates_of(&mut self.tx, incident).await
    }

    /// The incident's timeline, oldest first.
    pub async fn timeline(
        &mut self,
        incident: &IncidentId,
    ) -> Result<Vec<TimelineEvent>, StoreError> {
        incidents::timeline(&mut self.tx, incident).await
    }

    /// The incident's follow-ups, by number.
    pub async fn followups(&mut self, incident: &IncidentId) -> Result<Vec<FollowUp>, StoreError> {
        incidents::followups(&mut self.tx, incident).await
    }

    /// Component states set explicitly, by component name.
    pub async fn component_settings(&mut self) -> Result<Vec<ComponentSetting>, StoreError> {
        status_page::component_settings(&mut self.tx).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &Migrator| {
            m.iter()
                .map(|migration| (migration.version, migration.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert!(!names(&SQLITE_MIGRATIONS).is_empty());
        assert_eq!(names(&SQLITE_MIGRATIONS), names(&POSTGRES_MIGRATIONS));
    }

    #[test]
    fn sqlite_urls_are_created_if_missing_and_memory_is_refused() {
        let target = Target::parse("sqlite://data/warroom.db").unwrap();
        assert_eq!(target.backend, Backend::Sqlite);
        assert_eq!(target.url, "sqlite://data/warroom.db?mode=rwc");
        assert_eq!(target.sqlite_file, Some(PathBuf::from("data/warroom.db")));
        let target = Target::parse("sqlite:///tmp/w.db?mode=ro").unwrap();
        assert_eq!(target.url, "sqlite:///tmp/w.db?mode=ro");
        assert_eq!(target.sqlite_file, Some(PathBuf::from("/tmp/w.db")));
        assert!(matches!(
            Target::parse("sqlite::memory:"),
            Err(StoreError::UnsupportedUrl(_))
        ));
        assert!(matches!(
            Target::parse("mysql://x"),
            Err(StoreError::UnsupportedUrl(_))
        ));
        assert_eq!(
            Target::parse("postgresql://h/db").unwrap().backend,
            Backend::Postgres
        );
    }
}
