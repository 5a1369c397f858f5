//! Shared by the integration tests: a fresh database per test on every backend
//! available — always SQLite (a file in a temporary directory), and Postgres when
//! `WARROOM_TEST_POSTGRES_URL` names a server on which the tests may create databases.

pub mod app;
pub mod harness;
pub mod pagerduty;
pub mod seeded;
pub mod served;
pub mod store_reads;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use warroom::domain::{Incident, IncidentId, Platform, Role, Severity, Status, UserId};
use warroom::store::Store;

pub const POSTGRES_URL_VAR: &str = "WARROOM_TEST_POSTGRES_URL";

/// A fresh database on one backend, for one test. Dropping it drops a Postgres
/// test database (best effort); a SQLite database goes with its temporary directory.
pub struct Backend {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<PostgresDb>,
}

struct PostgresDb {
    admin_url: String,
    database: String,
}

/// A fresh database on each available backend: SQLite always, Postgres if configured.
pub async fn test_backends() -> Vec<Backend> {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("warroom.db").display());
    let mut all = vec![Backend {
        name: "sqlite",
        url,
        _dir: Some(dir),
        postgres: None,
    }];
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(admin_url) if !admin_url.is_empty() => all.push(postgres_backend(admin_url).await),
        _ => announce_postgres_skipped(),
    }
    all
}

/// Says once per test binary, past libtest's output capture (which swallows
/// `eprintln!` of passing tests), that the Postgres half did not run.
fn announce_postgres_skipped() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: Postgres — {POSTGRES_URL_VAR} not set \
             (e.g. postgres://postgres@127.0.0.1:5432/postgres); these tests ran on SQLite only"
        );
    });
}

/// The backend's database, connected and migrated. Calling it again (on SQLite,
/// after the previous store is dropped) simulates a restart.
pub async fn fresh_store(backend: &Backend) -> Store {
    let store = Store::connect(&backend.url)
        .await
        .unwrap_or_else(|e| panic!("[{}] connect: {e}", backend.name));
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("[{}] migrate: {e}", backend.name));
    store
}

/// Sets the incident's war room directly, as if `create room` had been delivered.
pub async fn give_room(store: &Store, id: &IncidentId, room: &str) -> String {
    let mut tx = store.begin().await.expect("begin");
    let mut incident = tx
        .lock_incident(id)
        .await
        .expect("lock")
        .expect("incident exists");
    incident.room = Some(room.to_string());
    tx.update_incident(&incident).await.expect("update");
    tx.commit().await.expect("commit");
    room.to_string()
}

impl Drop for Backend {
    fn drop(&mut self) {
        let Some(pg) = self.postgres.take() else {
            return;
        };
        // Drop is synchronous and may run inside a runtime: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::AnyConnection::connect(&pg.admin_url).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg.database);
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        });
        let _ = dropped.join();
    }
}

async fn postgres_backend(admin_url: String) -> Backend {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let database = format!(
        "test_{}_{}_{}",
        std::process::id(),
        nanos,
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .expect("connect to WARROOM_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let url = with_database(&admin_url, &database);
    Backend {
        name: "postgres",
        url,
        _dir: None,
        postgres: Some(PostgresDb {
            admin_url,
            database,
        }),
    }
}

/// `postgres://user@host:port/db?opts` with `db` replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

pub fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .expect("valid time")
        + chrono::Duration::seconds(seconds)
}

pub fn incident_id(number: u32) -> IncidentId {
    IncidentId::new(at(0).date_naive(), number)
}

/// A freshly declared incident on the testing platform.
pub fn incident(number: u32, declared_at: DateTime<Utc>) -> Incident {
    let mut roles = BTreeMap::new();
    roles.insert(Role::Commander, UserId::new("alice"));
    Incident {
        id: incident_id(number),
        title: format!("checkout is down ({number})"),
        severity: Severity::new("sev1"),
        status: Status::Investigating,
        drill: false,
        private: false,
        services: vec!["checkout".into(), "payments".into()],
        platform: Platform::Testing,
        origin_channel: "C-ops".into(),
        room: None,
        declared_by: UserId::new("alice"),
        declared_at,
        acknowledged_at: None,
        identified_at: None,
        mitigated_at: None,
        resolved_at: None,
        last_update_at: None,
        summary: None,
        roles,
        detected_at: None,
    }
}

/// Inserts incidents in one transaction.
pub async fn insert_incidents(store: &Store, incidents: &[Incident]) {
    let mut tx = store.begin().await.expect("begin");
    for incident in incidents {
        tx.insert_incident(incident).await.expect("insert incident");
    }
    tx.commit().await.expect("commit");
}
