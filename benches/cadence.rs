//! Reminder lateness and CPU share with 10,000 open incidents on a 15-minute
//! cadence, on SQLite.
//!
//! `cargo bench --bench cadence` sets up 10,000 open SEV1 incidents whose next
//! status-update reminders are spread evenly over one 15-minute cadence (one due
//! every 90 ms, ≈ 11 per second), then runs the real scheduler and outbox
//! dispatcher loops on the wall clock for a window (`CADENCE_BENCH_SECONDS`,
//! default 60). Nothing is compressed: the database holds the full 10,000
//! incidents and their pending rows, and reminders fall due at the real rate; the
//! window is a sample of the steady state, of which a full cycle is 15 minutes.
//!
//! It prints, for the reminders due in the window: lateness of the firing (row
//! done − due) and of the delivery (post seen by the platform − due) at p50 / p99 /
//! max, and the process's CPU time over the window as a share of one core.

#[allow(dead_code)] // the bench reads reminders only
#[path = "../tests/it/common/store_reads.rs"]
mod store_reads;

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use store_reads::StoreReads;
use warroom::clock::{SharedClock, SystemClock};
use warroom::config::Config;
use warroom::domain::{Incident, IncidentId, Platform, Role, Severity, Status, UserId};
use warroom::engine::{Engine, EngineSettings, Wakeups};
use warroom::outbox::testing::{Action, TestingPlatform};
use warroom::schedule::{ReminderKind, ReminderOutcome};
use warroom::store::Store;
use warroom::workers::{Dispatcher, DispatcherSettings, Scheduler, SchedulerSettings};

const CONFIG: &str = r#"
[bot]
public_url = "https://warroom.example"

[[severity]]
name = "sev1"
label = "Critical"
respond_within = "15m"
update_every = "15m"

[people.alice]
slack = "UALICE"
[people.carol]
slack = "UCAROL"

[phrases]
investigating = "Investigating {service}."
identified = "Identified {service}."
monitoring = "Monitoring {service}."
resolved = "Resolved {service}."
"#;

const INCIDENTS: usize = 10_000;
const CADENCE: Duration = Duration::from_secs(15 * 60);

/// CPU time (user + system) this process has used so far.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let micros = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

fn percentiles(mut lateness: Vec<Duration>) -> String {
    if lateness.is_empty() {
        return "no samples".into();
    }
    lateness.sort();
    let at = |q: f64| lateness[((lateness.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} reminders)",
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        lateness.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        lateness.len()
    )
}

/// Ids hold three digits a day, so the bench spreads its incidents over days.
fn bench_id(i: usize) -> IncidentId {
    let day =
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new((i / 999) as u64);
    IncidentId::new(day, (i % 999) as u32 + 1)
}

fn late(due: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (at - due).to_std().unwrap_or_default()
}

/// Open incidents, each with its next update reminder due `offset(i)` from `now`.
async fn seed(store: &Store, now: DateTime<Utc>, offset: impl Fn(usize) -> Duration) {
    let cadence = chrono::Duration::from_std(CADENCE).unwrap();
    for chunk in (0..INCIDENTS).collect::<Vec<_>>().chunks(500) {
        let mut tx = store.begin().await.unwrap();
        for &i in chunk {
            let due = now + chrono::Duration::from_std(offset(i)).unwrap();
            let declared = due - cadence;
            let id = bench_id(i);
            let incident = Incident {
                id: id.clone(),
                title: format!("load {i}"),
                severity: Severity::new("sev1"),
                status: Status::Investigating,
                drill: false,
                private: false,
                services: vec!["api".into()],
                platform: Platform::Testing,
                origin_channel: "C-ops".into(),
                room: Some(format!("room-{i}")),
                declared_by: UserId::new("alice"),
                declared_at: declared,
                acknowledged_at: Some(declared),
                identified_at: None,
                mitigated_at: None,
                resolved_at: None,
                last_update_at: None,
                summary: None,
                roles: BTreeMap::from([
                    (Role::Commander, UserId::new("alice")),
                    (Role::Comms, UserId::new("carol")),
                ]),
                detected_at: None,
            };
            tx.insert_incident(&incident).await.unwrap();
            tx.plan_reminder(&id, ReminderKind::Update, due, None, declared)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let window = Duration::from_secs(
        std::env::var("CADENCE_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let clock: SharedClock = Arc::new(SystemClock);
    // The first reminder falls due once seeding is surely done, then one every 90 ms.
    let spacing = CADENCE / INCIDENTS as u32;
    let first = clock.now() + chrono::Duration::seconds(30);
    let seeding = std::time::Instant::now();
    seed(&store, first, |i| spacing * i as u32).await;
    assert!(clock.now() < first, "seeding took longer than the lead");
    println!(
        "seeded {INCIDENTS} open incidents on SQLite in {:.1} s; one reminder due every {} ms",
        seeding.elapsed().as_secs_f64(),
        spacing.as_millis()
    );

    let config = Arc::new(Config::from_toml_str(CONFIG).unwrap());
    let wakeups = Wakeups::default();
    let engine = Engine::new(
        store.clone(),
        config.clone(),
        clock.clone(),
        EngineSettings::from_config(&config),
        wakeups.clone(),
    );
    let platform = Arc::new(TestingPlatform::new(clock.clone()));
    let dispatcher = Dispatcher::new(
        store.clone(),
        vec![platform.clone()],
        clock.clone(),
        DispatcherSettings::default(),
        wakeups.outbox.clone(),
    );
    let scheduler = Scheduler::new(
        engine.clone(),
        clock.clone(),
        SchedulerSettings::default(),
        wakeups.schedule,
    );

    // Wait for the first reminder's time before measuring.
    let lead = (first - clock.now()).to_std().unwrap_or_default();
    tokio::time::sleep(lead).await;
    let stop = Arc::new(tokio::sync::Notify::new());
    let (stop_a, stop_b) = (stop.clone(), stop.clone());
    let cpu_before = cpu_time();
    let started = std::time::Instant::now();
    let window_start = clock.now();
    let scheduling = tokio::spawn(scheduler.run(async move { stop_a.notified().await }));
    let delivering = tokio::spawn(dispatcher.run(async move { stop_b.notified().await }));
    tokio::time::sleep(window).await;
    let window_end = clock.now();
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    stop.notify_waiters();
    let _ = scheduling.await;
    let _ = delivering.await;

    // Reminders due inside the window, by incident room.
    let mut due_by_room = HashMap::new();
    let mut fired = Vec::new();
    let mut missing = 0;
    for i in 0..INCIDENTS {
        let due = first + chrono::Duration::from_std(spacing * i as u32).unwrap();
        if due >= window_end - chrono::Duration::seconds(2) {
            break;
        }
        let id = bench_id(i);
        let row = store
            .reminders_of(&id)
            .await
            .unwrap()
            .into_iter()
            .find(|r| {
                r.due_at.timestamp_millis() == due.timestamp_millis()
                    && r.outcome == Some(ReminderOutcome::Fired)
            });
        match row.and_then(|r| r.done_at) {
            Some(done) => fired.push(late(due, done)),
            None => missing += 1,
        }
        due_by_room.insert(format!("room-{i}"), due);
    }
    let delivered: Vec<Duration> = platform
        .operations()
        .iter()
        .filter_map(|op| match &op.action {
            Action::Post { posted, .. } => due_by_room
                .get(&posted.channel)
                .map(|due| late(*due, op.at)),
            _ => None,
        })
        .collect();
    println!(
        "window {:.1} s ({window_start} … {window_end}), {} reminders due in it, {missing} not fired",
        wall.as_secs_f64(),
        due_by_room.len()
    );
    println!("fired     lateness: {}", percentiles(fired));
    println!("delivered lateness: {}", percentiles(delivered));
    println!(
        "CPU: {:.2} s over {:.1} s = {:.2} % of one core",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
}
