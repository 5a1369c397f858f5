//! Persistence: every row warroom keeps, on SQLite or Postgres through one code path.
//!
//! Owns: the connection pool, migrations (`migrations/sqlite`, `migrations/postgres`),
//! transactions, the queries, and leases (claiming work so one worker, or one
//! replica, does it). This file connects, migrates, begins and commits; each table's
//! file holds its SQL together with the [`Store`] and [`Tx`] methods that run it;
//! `retention` holds the deletes that keep the bookkeeping tables small.
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

mod action_runs;
mod alert_groups;
#[macro_use]
mod incidents;
mod inbox;
mod lease;
mod outbox;
mod queries;
mod reads;
mod reminders;
mod requests;
mod retention;
mod rows;
mod runbook_runs;
mod status_page;

pub use action_runs::{NewRun, RunReport};
pub use alert_groups::NewAlertGroup;
pub use inbox::Received;
pub use incidents::IncidentFilter;
pub use lease::LeasedWork;
pub use reads::DeclaredAfter;
pub use retention::Bookkeeping;

use sqlx::any::{Any, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection, Row};
use std::fs::{File, TryLockError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedMutexGuard, watch};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The connection broke while the commit was under way: the database may or
    /// may not have applied it.
    #[error(
        "the database connection broke during the commit, which may or may not have been applied: {0}"
    )]
    CommitUnconfirmed(sqlx::Error),
    #[error(
        "the disk holding the database has {free} bytes free, less than the {floor} a change may need"
    )]
    LowOnSpace { free: u64, floor: u64 },
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

impl StoreError {
    /// Whether the database refused a change, or would, for lack of disk space.
    pub fn is_out_of_space(&self) -> bool {
        match self {
            StoreError::LowOnSpace { .. } => true,
            StoreError::Database(sqlx::Error::Database(error)) => error
                .code()
                .is_some_and(|code| OUT_OF_SPACE_CODES.contains(&code.as_ref())),
            _ => false,
        }
    }
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

/// How long a command waits for a Postgres connection before it is told that
/// nothing was saved. A database that restarts within it costs a wait, not a
/// refusal; one that stays away fails commands and worker passes this fast,
/// instead of after sqlx's default of 30 s.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Below this much free space on its file system a SQLite database counts as
/// full: the next change may not fit in the write-ahead log.
const SQLITE_FREE_SPACE_FLOOR: u64 = 1 << 20;

/// SQLite's `SQLITE_FULL` and Postgres's `disk_full`: a change did not fit on the disk.
const OUT_OF_SPACE_CODES: [&str; 2] = ["13", "53100"];

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How often the WAL is copied back into a SQLite database file.
const SQLITE_CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// WAL frames (pages written) past which the checkpointer empties the WAL
/// between writers: 16 MiB at SQLite's default 4 KiB pages.
const SQLITE_WAL_FRAMES_LIMIT: i64 = 4096;

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
    /// Where the database and its write-ahead log grow.
    directory: PathBuf,
    /// SQLite admits one writer at a time. Writers queue here, in order, instead of
    /// spinning in SQLite's busy handler, whose back-off sleeps (up to 100 ms a
    /// try) would make a command wait far longer than the writer ahead of it.
    /// The checkpointer takes a turn here too when it empties the WAL.
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
///
/// SQLite starts the WAL over only once every frame in it has been copied, and
/// writers that never pause keep adding frames while a passive checkpoint runs,
/// so under steady load the file would grow without end. Once it holds more than
/// [`SQLITE_WAL_FRAMES_LIMIT`] frames, the checkpointer takes the writers' turn
/// for one checkpoint that copies the rest and empties the file.
async fn checkpoint_sqlite(
    pool: AnyPool,
    writers: Arc<tokio::sync::Mutex<()>>,
    mut stopped: watch::Receiver<()>,
) {
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
        let checkpointed = async {
            let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await?;
            // busy, frames in the WAL, frames copied.
            if row.try_get::<i64, _>(1)? > SQLITE_WAL_FRAMES_LIMIT {
                let _turn = writers.lock().await;
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&pool)
                    .await?;
            }
            Ok::<_, sqlx::Error>(())
        };
        if let Err(error) = checkpointed.await {
            tracing::warn!(%error, "SQLite checkpoint failed; retrying in a second");
        }
    }
}

/// Whether a pooled connection may be handed out: not if a failed commit left
/// sqlx believing it is still inside a transaction, as after `SQLITE_FULL`, when
/// SQLite has already rolled back by itself and sqlx's own rollback fails too.
/// Such a connection would refuse every later `BEGIN`; the pool closes it instead.
async fn outside_transaction(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    Ok(!conn.is_in_transaction())
}

/// The bytes an unprivileged process may still write on the file system holding
/// `path`; `None` if the system cannot tell.
fn free_space(path: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and outlives the call; `stats` is written
    // by `statvfs` before it is read, and only read when the call succeeded.
    let stats = unsafe {
        if libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) != 0 {
            return None;
        }
        stats.assume_init()
    };
    stats.f_bavail.checked_mul(stats.f_frsize)
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
                    .before_acquire(|conn, _meta| Box::pin(outside_transaction(conn)))
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
                    .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                    .before_acquire(|conn, _meta| Box::pin(outside_transaction(conn)))
                    .connect(&target.url)
                    .await?
            }
        };
        let sqlite = lock.zip(target.sqlite_file).map(|(lock, file)| {
            let (stop, stopped) = watch::channel(());
            let writers = Arc::new(tokio::sync::Mutex::new(()));
            tokio::spawn(checkpoint_sqlite(pool.clone(), writers.clone(), stopped));
            let directory = match file.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            Arc::new(SqliteFile {
                _lock: lock,
                directory,
                writers,
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

    /// The connection pool, for the integration tests' readers of whole tables
    /// (every outbox row of an incident, every reminder), which warroom itself never
    /// reads that way and so does not carry. Everything warroom writes goes through [`Tx`].
    pub fn pool(&self) -> &AnyPool {
        &self.pool
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

    /// Whether the database can take a change, for `/readyz`: it answers, and a
    /// SQLite file's disk has room to grow.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        let free = self
            .sqlite
            .as_ref()
            .and_then(|file| free_space(&file.directory));
        match free {
            Some(free) if free < SQLITE_FREE_SPACE_FLOOR => Err(StoreError::LowOnSpace {
                free,
                floor: SQLITE_FREE_SPACE_FLOOR,
            }),
            _ => Ok(()),
        }
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
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(|error| match error {
            // The request may have reached the database before the answer was lost.
            sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => StoreError::CommitUnconfirmed(error),
            other => StoreError::Database(other),
        })
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
