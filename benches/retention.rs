//! Bounded growth: 100,000 incidents declared and resolved through the engine on
//! a SQLite file, with the pruner running as it goes.
//!
//! `cargo bench --bench retention` runs on the shipped config, its retention
//! windows cut to one day. It declares SEV1 incidents in rounds of 100 (each
//! declare and resolve carrying a platform request id, as Slack's do), delivers
//! every queued operation to a platform that keeps nothing, moves a manual clock
//! on 15 minutes a round, and runs pruner passes (back to back while a batch
//! comes back full, as the loop does); a day's window holds 9,600 declares.
//! Every 10,000 declares it prints the rows of the bookkeeping tables, the
//! incidents (kept for good), the database file and WAL sizes, and the
//! process's resident memory. `RETENTION_BENCH_DECLARES` changes the total
//! (default 100,000); `RETENTION_BENCH_PRUNING=off` leaves the pruner out, to
//! show what it saves.

use async_trait::async_trait;
use chrono::TimeZone;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use warroom::clock::{Clock, ManualClock, SharedClock};
use warroom::command::{self, Command};
use warroom::config::Config;
use warroom::domain::{IncidentId, Platform, UserId};
use warroom::engine::{Actor, Context, Engine, EngineSettings, Wakeups};
use warroom::outbox::{ChatPlatform, DeliveryError, MessageRef, Post, RoomSpec, Upload};
use warroom::render::Message;
use warroom::store::Store;
use warroom::workers::{Dispatcher, DispatcherSettings, Pruner, PrunerSettings};

/// The shipped config, its retention windows cut to a day.
const SHIPPED: &str = include_str!("../config/warroom.toml");
const WINDOWS: [(&str, &str); 2] = [
    ("processed_requests = \"7d\"", "processed_requests = \"1d\""),
    (
        "delivered_operations = \"30d\"",
        "delivered_operations = \"1d\"",
    ),
];

/// Alice's Slack id in the shipped config.
const ALICE: &str = "U0ALICE001";

const ROUND: usize = 100;
const ROUND_TIME: Duration = Duration::from_secs(15 * 60);
const REPORT_EVERY: usize = 10_000;

/// Slack as far as the outbox can tell, keeping nothing it is sent, so the
/// process's memory is warroom's own.
#[derive(Default)]
struct Sink {
    ids: AtomicU64,
}

impl Sink {
    fn next(&self) -> String {
        self.ids.fetch_add(1, Ordering::Relaxed).to_string()
    }
}

#[async_trait]
impl ChatPlatform for Sink {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn create_room(&self, _spec: &RoomSpec) -> Result<String, DeliveryError> {
        Ok(format!("C{}", self.next()))
    }

    async fn invite(&self, _room: &str, _users: &[UserId]) -> Result<(), DeliveryError> {
        Ok(())
    }

    async fn set_topic(&self, _room: &str, _topic: &Message) -> Result<(), DeliveryError> {
        Ok(())
    }

    async fn post(&self, post: &Post<'_>) -> Result<MessageRef, DeliveryError> {
        Ok(MessageRef {
            channel: post.channel.to_string(),
            id: self.next(),
        })
    }

    async fn edit(&self, _posted: &MessageRef, _message: &Message) -> Result<(), DeliveryError> {
        Ok(())
    }

    async fn pin(&self, _posted: &MessageRef) -> Result<(), DeliveryError> {
        Ok(())
    }

    async fn upload(&self, _upload: &Upload<'_>) -> Result<(), DeliveryError> {
        Ok(())
    }
}

/// The process's resident memory in MiB, from /proc/self/status.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

/// The size of a file in MiB; 0 if there is none.
fn mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len()) as f64 / (1024.0 * 1024.0)
}

async fn rows(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(store.pool())
        .await
        .expect("count")
}

struct Bench {
    engine: Engine,
    config: Arc<Config>,
}

impl Bench {
    /// Handles `text` from Alice in `#general` as Slack request `request`.
    async fn command(&self, text: &str, request: String) -> String {
        let parsed: Command = command::parse(text, &*self.config)
            .unwrap_or_else(|error| panic!("`{text}` does not parse: {error}"));
        let actor = Actor {
            platform: Platform::Slack,
            user: UserId::new(ALICE),
        };
        let context = Context {
            channel: "CGENERAL".into(),
            request_id: Some(request),
            room_name: None,
        };
        match self.engine.handle(&actor, &context, parsed).await {
            Ok(reply) => reply.text(),
            Err(error) => panic!("`{text}` failed: {error}"),
        }
    }
}

fn id_in(text: &str) -> IncidentId {
    let start = text
        .find("INC-")
        .unwrap_or_else(|| panic!("no incident id in `{text}`"));
    let end = text[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .map_or(text.len(), |len| start + len);
    text[start..end].parse().expect("a well-formed id")
}

#[tokio::main]
async fn main() {
    let declares: usize = std::env::var("RETENTION_BENCH_DECLARES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let pruning = !std::env::var("RETENTION_BENCH_PRUNING").is_ok_and(|value| value == "off");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bench.db");
    let wal = dir.path().join("bench.db-wal");
    let store = Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("database");
    store.migrate().await.expect("migrations");
    let text = WINDOWS
        .iter()
        .fold(SHIPPED.to_string(), |text, (shipped, short)| {
            assert!(text.contains(shipped), "the shipped config says {shipped}");
            text.replace(shipped, short)
        });
    let config = Arc::new(Config::from_toml_str(&text).expect("bench config"));
    let epoch = chrono::Utc
        .with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
        .single()
        .expect("a time");
    let clock = ManualClock::starting_at(epoch);
    let shared: SharedClock = Arc::new(clock.clone());
    let wakeups = Wakeups::default();
    let engine = Engine::new(
        store.clone(),
        config.clone(),
        shared.clone(),
        EngineSettings::from_config(&config),
        wakeups.clone(),
    );
    let dispatcher = Dispatcher::new(
        store.clone(),
        vec![Arc::new(Sink::default())],
        shared.clone(),
        DispatcherSettings::default(),
        wakeups.outbox.clone(),
    );
    let settings = PrunerSettings::default();
    let batch = settings.batch;
    let pruner = Pruner::new(store.clone(), shared, config.retention(), settings);
    let bench = Bench {
        engine,
        config: config.clone(),
    };

    println!(
        "{declares} declares on SQLite, {ROUND} a round, the clock {} min on a round; \
         pruning {}, retention {:?} / {:?}",
        ROUND_TIME.as_secs() / 60,
        if pruning { "on" } else { "off" },
        config.retention().processed_requests,
        config.retention().delivered_operations
    );
    println!(
        "| declares | incidents | processed_requests | outbox | reminders | database | WAL | RSS | elapsed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let started = Instant::now();
    let mut pruned = 0u64;
    for round in 0..declares.div_ceil(ROUND) {
        let first = round * ROUND;
        let mut ids = Vec::with_capacity(ROUND);
        for n in first..(first + ROUND).min(declares) {
            let reply = bench
                .command(
                    &format!("sev1 checkout down {n} service=api"),
                    format!("declare-{n}"),
                )
                .await;
            ids.push((n, id_in(&reply)));
        }
        for (n, id) in &ids {
            bench
                .command(&format!("resolve {id} rolled back"), format!("resolve-{n}"))
                .await;
        }
        while dispatcher.deliver_due().await.expect("delivery pass") > 0 {}
        clock.advance(ROUND_TIME);
        if pruning {
            loop {
                let pass = pruner.prune_due().await.expect("pruner pass");
                pruned += pass.total();
                if !pass.filled(batch) {
                    break;
                }
            }
        }
        let done = first + ids.len();
        if done.is_multiple_of(REPORT_EVERY) || done == declares {
            println!(
                "| {done} | {} | {} | {} | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.0} s |",
                rows(&store, "incidents").await,
                rows(&store, "processed_requests").await,
                rows(&store, "outbox").await,
                rows(&store, "reminders").await,
                mib(&db),
                mib(&wal),
                rss_mib(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let days = (clock.now() - epoch).num_minutes() as f64 / (24.0 * 60.0);
    println!("{pruned} rows pruned in all, over {days:.1} simulated days");
}
