//! The soak: the real `warroom serve` binary against a fake Slack that refuses
//! 10 % of calls with 429 (and `Retry-After`) and 5 % with 500, killed with
//! SIGKILL every 5–20 s and started again at once, while drivers declare
//! incidents, post status updates, request a run that needs approval, click
//! Approve, leave the incident alone long enough for reminders to come due, and
//! resolve. SQLite with one process; Postgres with two replicas, one of them
//! killed at a time.
//!
//! At the end, once everything is delivered, it checks what users would see:
//! every acknowledged declare has exactly one room, one pinned summary and one
//! announcement; every acknowledged status update was posted exactly once (and
//! none more than once); every reminder slot fired once and its message was
//! posted once; every approved run ran once (one line in the witness file; a run
//! that a crash interrupted may have run at most once).
//!
//! `WARROOM_SOAK_SECONDS` says how long to drive (default 60), and
//! `WARROOM_SOAK_SEED` repeats a run's dice (the seed is printed):
//! `WARROOM_SOAK_SECONDS=1800 cargo test --test it soak -- --nocapture`.

use crate::common::harness::{FIXTURES, PEOPLE, SEV1_ROLES, bot, terse_phrases};
use crate::common::seeded::Seeded;
use crate::common::served::Served;
use crate::common::store_reads::StoreReads;
use crate::common::{Backend, test_backends};
use crate::outage::{Setup, send_signed};
use crate::slack::{OPS, click_payload, slash_form};
use crate::slack_fake::{Call, FakeSlack, FaultRates};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use warroom::domain::{IncidentId, RunStatus};
use warroom::outbox::OutboxEntry;
use warroom::schedule::{ReminderKind, ReminderOutcome};
use warroom::store::{IncidentFilter, Store};

const SECONDS_VAR: &str = "WARROOM_SOAK_SECONDS";
const SEED_VAR: &str = "WARROOM_SOAK_SEED";
const DEFAULT_SECONDS: u64 = 60;

const FAULTS: FaultRates = FaultRates {
    rate_limited_percent: 10,
    failed_percent: 5,
    retry_after: 1,
};

/// How long a live process waits between two kills.
const KILL_AFTER: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(20));

/// Incidents driven at the same time on each backend.
const DRIVERS: u64 = 3;

/// How long one request may keep failing (warroom dead, starting) before the
/// driver gives up on it.
const REQUEST_PATIENCE: Duration = Duration::from_secs(60);

/// How long the drivers may take to finish their incidents once time is up.
const LANE_PATIENCE: Duration = Duration::from_secs(300);

/// How long the end may take to deliver everything queued.
const SETTLE: Duration = Duration::from_secs(180);

/// How long the fake must go without a call before warroom is taken to be done.
const QUIET: Duration = Duration::from_secs(6);

/// How long an incident is left alone, so that its reminders come due.
const IDLE: (Duration, Duration) = (Duration::from_secs(6), Duration::from_secs(14));

/// What an update reminder and a missed response target say.
const REMINDER_MARK: &str = "Status update due";
const RESPONSE_MARK: &str = "Response target missed";

/// The soak's world: a sev1 whose updates are due every 4 s and whose response
/// target is 8 s, and an action that needs the commander's approval and writes
/// one line per run to a witness file.
fn config(announce: &str, witness: &Path) -> String {
    let severity = r#"
[[severity]]
name = "sev1"
label = "Critical"
respond_within = "8s"
update_every = "4s"
"#;
    let world = format!(
        r#"
[actions.witness]
kind = "program"
description = "Writes one line per run"
program = "{FIXTURES}/note.sh"
args = ["{}", "{{incident}}"]
approval = "commander"

[slack]
mode = "http"
channel_prefix = "inc"
announce_channel = "{announce}"
"#,
        witness.display()
    );
    [
        &bot("UTC"),
        severity,
        PEOPLE,
        SEV1_ROLES,
        &terse_phrases(),
        &world,
    ]
    .concat()
}

/// What the drivers were told: each entry is something warroom acknowledged
/// (or, where said, something that never was).
#[derive(Default)]
struct Ledger {
    /// Declares answered with their incident.
    declared: Vec<IncidentId>,
    /// Declares answered "working on it" whose real answer never came.
    unanswered: Vec<String>,
    /// Declares never acknowledged at all.
    declares_lost: usize,
    /// Status updates: (incident, text, acknowledged).
    updates: Vec<(IncidentId, String, bool)>,
    /// Approve clicks acknowledged: (incident, run).
    approved: Vec<(IncidentId, i64)>,
    /// Clicks sent.
    clicks: usize,
    resolved: Vec<IncidentId>,
}

/// Where the live processes listen, as the killer keeps it.
type Addresses = watch::Receiver<Vec<SocketAddr>>;

#[derive(Clone)]
struct Driver {
    fake: FakeSlack,
    addresses: Addresses,
    http: reqwest::Client,
    ledger: Arc<Mutex<Ledger>>,
    label: &'static str,
    /// Spreads requests over the replicas.
    turn: Arc<AtomicUsize>,
}

impl Driver {
    /// POSTs a signed form to any live process until one answers 200, as long
    /// as [`REQUEST_PATIENCE`]; `None` if none did.
    async fn send(&self, path: &str, body: &str) -> Option<reqwest::Response> {
        let started = Instant::now();
        while started.elapsed() < REQUEST_PATIENCE {
            let live = self.addresses.borrow().clone();
            let turn = self.turn.fetch_add(1, Ordering::Relaxed);
            if let Some(address) = live.get(turn % live.len().max(1)) {
                let sent = send_signed(&self.http, *address, path, body.to_string()).await;
                if let Ok(answer) = sent
                    && answer.status() == 200
                {
                    return Some(answer);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        None
    }

    /// `/incident {text}` from alice in `channel`; the answer's text, waiting
    /// for the real one when the first says "working on it". `None` if warroom
    /// never acknowledged it; `Some(None)` if it promised an answer it never gave.
    async fn command(&self, channel: &str, text: &str, trigger: &str) -> Option<Option<String>> {
        let body = slash_form(&self.fake, "UALICE", channel, text, trigger);
        let answer: Value = self
            .send("/slack/commands", &body)
            .await?
            .json()
            .await
            .ok()?;
        let said = answer["text"].as_str().unwrap_or_default().to_string();
        if !said.starts_with("Working on it") {
            return Some(Some(said));
        }
        let started = Instant::now();
        while started.elapsed() < REQUEST_PATIENCE {
            if let Some(late) = self.fake.responses(trigger).first() {
                return Some(Some(late["text"].as_str().unwrap_or_default().to_string()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Some(None)
    }

    /// The war room of `id`, once its summary is pinned there (so warroom knows
    /// the room for its own).
    async fn room(&self, id: &IncidentId) -> Option<String> {
        let name = id.to_string().to_lowercase();
        let started = Instant::now();
        while started.elapsed() < REQUEST_PATIENCE {
            let channels = self.fake.channels();
            let room = channels.iter().find(|c| c.name.contains(&name));
            if let Some(room) = room
                && self.fake.messages_in(&room.id).iter().any(|m| m.pinned)
            {
                return Some(room.id.clone());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        None
    }

    /// One incident from declaration to resolution.
    async fn incident(&self, number: u64, dice: &mut Seeded) {
        let label = self.label;
        let trigger = format!("{label}-declare-{number}");
        let declared = self
            .command(OPS, &format!("sev1 soak incident {number}"), &trigger)
            .await;
        let id = match declared {
            None => {
                self.ledger.lock().unwrap().declares_lost += 1;
                return;
            }
            Some(None) => {
                self.ledger.lock().unwrap().unanswered.push(trigger);
                return;
            }
            Some(Some(text)) => match incident_in(&text) {
                Some(id) => id,
                None => {
                    self.ledger.lock().unwrap().declares_lost += 1;
                    return;
                }
            },
        };
        self.ledger.lock().unwrap().declared.push(id.clone());
        let Some(room) = self.room(&id).await else {
            return;
        };
        for update in 1..=2 {
            let text = format!("progress {number}.{update} noted");
            let trigger = format!("{label}-update-{number}-{update}");
            let answer = self
                .command(&room, &format!("update {text}"), &trigger)
                .await;
            let acknowledged =
                matches!(answer, Some(Some(said)) if said.starts_with("Status update posted"));
            self.ledger
                .lock()
                .unwrap()
                .updates
                .push((id.clone(), text, acknowledged));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let trigger = format!("{label}-run-{number}");
        if let Some(Some(said)) = self.command(&room, "run witness", &trigger).await
            && let Some(run) = run_number(&said)
        {
            let action_ts = format!("{}.{number:06}", 1_800_000_000 + run);
            let click = click_payload(
                &self.fake,
                "UALICE",
                &room,
                "1790000000.000100",
                &format!("approve:{run}"),
                &id.to_string(),
                &format!("{label}{action_ts}"),
            );
            let form = serde_urlencoded::to_string([("payload", click.to_string())])
                .expect("the click's form");
            self.ledger.lock().unwrap().clicks += 1;
            if self.send("/slack/interactions", &form).await.is_some() {
                self.ledger.lock().unwrap().approved.push((id.clone(), run));
            }
        }
        tokio::time::sleep(dice.between(IDLE.0, IDLE.1)).await;
        self.resolve(&id, &format!("{label}-resolve-{number}"))
            .await;
    }

    async fn resolve(&self, id: &IncidentId, trigger: &str) {
        if let Some(Some(said)) = self.command(OPS, &format!("resolve {id}"), trigger).await
            && said.starts_with("Resolved")
        {
            self.ledger.lock().unwrap().resolved.push(id.clone());
        }
    }
}

/// The incident id in "Declaring INC-20261123-001 …".
fn incident_in(text: &str) -> Option<IncidentId> {
    let start = text.find("INC-")?;
    text.get(start..start + 16)?.parse().ok()
}

/// The run number in "Run #7 of `witness` is waiting for approval."
fn run_number(said: &str) -> Option<i64> {
    let rest = said.strip_prefix("Run #")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The live processes, and the one place that kills and starts them.
struct Cluster {
    setup: Setup,
    db: Backend,
    fake: FakeSlack,
    replicas: Vec<Served>,
    count: usize,
    addresses: watch::Sender<Vec<SocketAddr>>,
    began: Instant,
    /// When each kill came.
    kills: Vec<Instant>,
    /// The logs of the processes gone.
    history: Vec<String>,
}

impl Cluster {
    async fn start(setup: Setup, db: Backend, fake: FakeSlack, count: usize) -> Cluster {
        let mut cluster = Cluster {
            setup,
            db,
            fake,
            replicas: Vec::new(),
            count,
            addresses: watch::Sender::new(Vec::new()),
            began: Instant::now(),
            kills: Vec::new(),
            history: Vec::new(),
        };
        cluster.start_again().await;
        cluster
    }

    /// SIGKILL for one replica, then a new process in its place.
    async fn kill_and_restart(&mut self, which: usize) {
        let dying = self.replicas[which].address().await;
        self.addresses
            .send_modify(|live| live.retain(|address| *address != dying));
        self.replicas[which].kill();
        self.kills.push(Instant::now());
        self.history.push(self.replicas[which].log());
        let started = self.setup.serve(&self.db, &self.fake);
        let address = started.address().await;
        self.replicas[which] = started;
        self.addresses.send_modify(|live| live.push(address));
    }

    /// Kills every replica.
    fn stop(&mut self) {
        self.addresses.send_replace(Vec::new());
        self.history.extend(self.replicas.iter().map(Served::log));
        self.replicas.clear();
    }

    /// Writes what happened to a file that outlives the test, for a failure to
    /// be read: when each kill came, every call the fake answered, and what each
    /// process logged. Returns the file's path.
    fn write_history(&self, label: &str, seed: u64) -> PathBuf {
        let path = std::env::temp_dir().join(format!("warroom-soak-{label}-{seed}.log"));
        let since = |at: Instant| at.saturating_duration_since(self.began).as_millis();
        let mut text = String::new();
        for kill in &self.kills {
            text.push_str(&format!("{:>8} ms  kill -9\n", since(*kill)));
        }
        for call in self.fake.calls() {
            let said: String = call.arg("text").chars().take(80).collect();
            text.push_str(&format!(
                "{:>8} ms  {} {} {} {said}\n",
                since(call.at),
                call.status,
                call.method,
                call.arg("channel"),
            ));
        }
        let logs: Vec<String> = self.replicas.iter().map(Served::log).collect();
        for log in self.history.iter().chain(&logs) {
            text.push_str("\n--- a warroom process ---\n");
            text.push_str(log);
        }
        std::fs::write(&path, text).expect("the soak's history is written");
        path
    }

    /// As many replicas as the cluster has, after [`Cluster::stop`].
    async fn start_again(&mut self) {
        for _ in 0..self.count {
            let served = self.setup.serve(&self.db, &self.fake);
            let address = served.address().await;
            self.replicas.push(served);
            self.addresses.send_modify(|live| live.push(address));
        }
    }
}

/// The figures of one backend's soak.
struct Figures {
    declares: usize,
    declares_lost: usize,
    resolved: usize,
    updates: usize,
    clicks: usize,
    runs: usize,
    reminders: usize,
    kills: usize,
    calls: usize,
    rate_limited: usize,
    failed: usize,
}

#[tokio::test]
async fn soak_kill_9_and_a_flaky_slack_lose_and_repeat_nothing() {
    let seconds = std::env::var(SECONDS_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECONDS);
    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(Seeded::fresh_seed);
    println!("soak: {seconds} s per backend, seed {seed} (repeat with {SEED_VAR}={seed})");
    let soaks = test_backends().await.into_iter().map(|db| {
        let replicas = if db.name == "sqlite" { 1 } else { 2 };
        soak(db, replicas, Duration::from_secs(seconds), seed)
    });
    let mut failed = Vec::new();
    for (name, figures, failures) in futures_util::future::join_all(soaks).await {
        println!(
            "soak {name}: {} declares acknowledged ({} never were), {} status updates, \
             {} Approve clicks, {} approved runs ran to the end, {} reminders fired, \
             {} resolved, {} kills; {} Slack calls, {} answered 429, {} answered 500; {}",
            figures.declares,
            figures.declares_lost,
            figures.updates,
            figures.clicks,
            figures.runs,
            figures.reminders,
            figures.resolved,
            figures.kills,
            figures.calls,
            figures.rate_limited,
            figures.failed,
            if failures.is_none() {
                "every check held"
            } else {
                "CHECKS FAILED"
            },
        );
        failed.extend(failures);
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

async fn soak(
    db: Backend,
    replicas: usize,
    length: Duration,
    seed: u64,
) -> (&'static str, Figures, Option<String>) {
    let label = db.name;
    let fake = FakeSlack::start().await;
    fake.inject_faults(seed, FAULTS);
    let mut witness = PathBuf::new();
    let setup = Setup::with_config(&fake, |announce, dir| {
        witness = dir.join("runs");
        config(announce, &witness)
    });
    let announce = setup.announce.clone();
    let url = db.url.clone();
    let mut cluster = Cluster::start(setup, db, fake.clone(), replicas).await;
    let driver = Driver {
        fake: fake.clone(),
        addresses: cluster.addresses.subscribe(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client"),
        ledger: Arc::default(),
        label,
        turn: Arc::default(),
    };
    let mut dice = Seeded::new(seed);
    let until = Instant::now() + length;
    let drivers: Vec<_> = (0..DRIVERS)
        .map(|lane| {
            let driver = driver.clone();
            let mut dice = Seeded::new(seed ^ (lane + 1));
            tokio::spawn(async move {
                let mut number = lane;
                while Instant::now() < until {
                    driver.incident(number, &mut dice).await;
                    number += DRIVERS;
                }
            })
        })
        .collect();
    loop {
        let pause = dice.between(KILL_AFTER.0, KILL_AFTER.1);
        if Instant::now() + pause >= until {
            break;
        }
        tokio::time::sleep(pause).await;
        let which = dice.below(replicas as u64) as usize;
        cluster.kill_and_restart(which).await;
    }
    // A lane finishes the incident it is on; one stuck past that is a failure.
    let lanes = futures_util::future::join_all(drivers);
    let Ok(finished) = tokio::time::timeout(LANE_PATIENCE, lanes).await else {
        panic!(
            "soak on {label}: drivers still stuck {LANE_PATIENCE:?} after the end; what happened: {}",
            cluster.write_history(label, seed).display()
        );
    };
    for lane in finished {
        lane.expect("a driver");
    }
    let store = wind_down(&mut cluster, &driver, &url, seed).await;
    let ledger = std::mem::take(&mut *driver.ledger.lock().unwrap());
    let (mut figures, failures) = check(&store, &fake, &ledger, &announce, &witness).await;
    store.close().await;
    figures.kills = cluster.kills.len();
    let failures = (!failures.is_empty()).then(|| {
        format!(
            "soak on {label} (seed {seed}): {} checks failed:\n{}\nwhat happened: {}",
            failures.len(),
            failures.join("\n"),
            cluster.write_history(label, seed).display()
        )
    });
    // Dropped only now: a Postgres database goes with it.
    drop(cluster);
    (label, figures, failures)
}

/// Resolves what is left open and lets warroom deliver everything it queued:
/// once the fake has been quiet a while, warroom is stopped and the database
/// read (SQLite opens for one process only), and if anything is left, warroom
/// starts again to finish it. Returns the database, with no warroom on it.
async fn wind_down(cluster: &mut Cluster, driver: &Driver, url: &str, seed: u64) -> Store {
    let started = Instant::now();
    loop {
        quiet(&driver.fake).await;
        cluster.stop();
        let store = Store::connect(url).await.expect("the database opens");
        let (open, busy) = left_over(&store).await;
        if open.is_empty() && busy.is_empty() {
            return store;
        }
        assert!(
            started.elapsed() < SETTLE,
            "still busy {SETTLE:?} after the drivers stopped: {busy:#?}, open: {open:?}\n\
             what happened: {}",
            cluster.write_history(driver.label, seed).display()
        );
        store.close().await;
        // The SQLite lock goes with the last handle, not with the connections.
        drop(store);
        cluster.start_again().await;
        for id in open {
            driver
                .resolve(&id, &format!("{}-resolve-{id}", driver.label))
                .await;
        }
    }
}

/// Waits until the fake has had no call for [`QUIET`] and none is in flight.
/// Gives up after [`SETTLE`]: warroom that never stops calling is a failure
/// the wind-down's check reports.
async fn quiet(fake: &FakeSlack) {
    let mut seen = fake.calls().len();
    let mut since = Instant::now();
    let started = Instant::now();
    while (since.elapsed() < QUIET || fake.in_flight() > 0) && started.elapsed() < SETTLE {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = fake.calls().len();
        if now != seen {
            (seen, since) = (now, Instant::now());
        }
    }
}

/// The incidents still open, and what is still to deliver or run.
async fn left_over(store: &Store) -> (Vec<IncidentId>, Vec<String>) {
    let all = store
        .incidents(IncidentFilter::All, 100_000)
        .await
        .expect("the incidents read");
    let mut open = Vec::new();
    let mut busy = Vec::new();
    for incident in all {
        let id = incident.id;
        if incident.status.is_open() {
            open.push(id.clone());
        }
        let outbox = store.outbox_of(&id).await.expect("the outbox reads");
        let waiting = outbox.iter().filter(|e| waiting(e)).count();
        if waiting > 0 {
            busy.push(format!("{id}: {waiting} operations to deliver"));
        }
        let runs = store.action_runs_of(&id).await.expect("the runs read");
        if runs
            .iter()
            .any(|r| matches!(r.status, RunStatus::Queued | RunStatus::Running))
        {
            busy.push(format!("{id}: a run to finish"));
        }
    }
    (open, busy)
}

fn waiting(entry: &OutboxEntry) -> bool {
    entry.delivered_at.is_none() && entry.failed_at.is_none()
}

/// Whether a call's text or blocks contain `needle`.
fn says(call: &Call, needle: &str) -> bool {
    call.arg("text").contains(needle) || call.arg("blocks").contains(needle)
}

async fn check(
    store: &Store,
    fake: &FakeSlack,
    ledger: &Ledger,
    announce: &str,
    witness: &Path,
) -> (Figures, Vec<String>) {
    let mut failures = Vec::new();
    if !ledger.unanswered.is_empty() {
        failures.push(format!(
            "declares answered \"working on it\" and never answered: {:?}",
            ledger.unanswered
        ));
    }
    let calls = fake.calls();
    let posts: Vec<&Call> = calls
        .iter()
        .filter(|c| c.ok && c.method == "chat.postMessage")
        .collect();
    let posted_in = |channel: &str, needle: &str| {
        posts
            .iter()
            .filter(|c| c.arg("channel") == channel && says(c, needle))
            .count()
    };
    let channels = fake.channels();
    let mut rooms = BTreeMap::new();
    for id in &ledger.declared {
        let name = id.to_string().to_lowercase();
        let named: Vec<_> = channels.iter().filter(|c| c.name.contains(&name)).collect();
        let created = calls
            .iter()
            .filter(|c| c.ok && c.method == "conversations.create" && c.arg("name").contains(&name))
            .count();
        if named.len() != 1 || created != 1 {
            failures.push(format!(
                "{id}: {} rooms, created {created} times",
                named.len()
            ));
            continue;
        }
        let room = named[0].id.clone();
        let pins = calls
            .iter()
            .filter(|c| c.ok && c.method == "pins.add" && c.arg("channel") == room)
            .count();
        let pinned = fake.messages_in(&room).iter().filter(|m| m.pinned).count();
        if pins != 1 || pinned != 1 {
            failures.push(format!("{id}: {pins} pins, {pinned} pinned summaries"));
        }
        let announcements = posts
            .iter()
            .filter(|c| c.arg("channel") == announce && says(c, id.as_str()) && says(c, "declared"))
            .count();
        if announcements != 1 {
            failures.push(format!("{id}: {announcements} announcements"));
        }
        rooms.insert(id.clone(), room);
    }

    let mut updates = 0;
    for (id, text, acknowledged) in &ledger.updates {
        let Some(room) = rooms.get(id) else { continue };
        let (in_room, announced) = (posted_in(room, text), posted_in(announce, text));
        let expected = if *acknowledged { 1..=1 } else { 0..=1 };
        updates += usize::from(*acknowledged);
        if !expected.contains(&in_room) || !expected.contains(&announced) || in_room != announced {
            failures.push(format!(
                "{id}: update `{text}` (acknowledged: {acknowledged}) posted {in_room} times in the room and {announced} times announced"
            ));
        }
    }

    let mut reminders = 0;
    for (id, room) in &rooms {
        let rows = store.reminders_of(id).await.expect("the reminders read");
        let mut slots = HashMap::new();
        for row in &rows {
            if row.outcome == Some(ReminderOutcome::Fired) {
                *slots.entry((row.kind, row.due_at)).or_insert(0) += 1;
            }
            if row.done_at.is_none() {
                failures.push(format!(
                    "{id}: a {:?} reminder due at {} is still pending after the resolve",
                    row.kind, row.due_at
                ));
            }
        }
        for ((kind, due), count) in &slots {
            if *count != 1 {
                failures.push(format!(
                    "{id}: the {kind:?} slot of {due} fired {count} times"
                ));
            }
        }
        let fired = |kind| slots.keys().filter(|(k, _)| *k == kind).count();
        for (kind, mark) in [
            (ReminderKind::Update, REMINDER_MARK),
            (ReminderKind::Response, RESPONSE_MARK),
        ] {
            let posted = posted_in(room, mark);
            if posted != fired(kind) {
                failures.push(format!(
                    "{id}: {} {kind:?} reminders fired, {posted} posted",
                    fired(kind)
                ));
            }
        }
        reminders += fired(ReminderKind::Update) + fired(ReminderKind::Response);
    }

    let lines = std::fs::read_to_string(witness).unwrap_or_default();
    let ran = |id: &IncidentId| lines.lines().filter(|line| *line == id.as_str()).count();
    for id in &ledger.declared {
        if ran(id) > 1 {
            failures.push(format!("{id}: the witness ran {} times", ran(id)));
        }
    }
    let mut runs = 0;
    for (id, number) in &ledger.approved {
        let all = store.action_runs_of(id).await.expect("the runs read");
        let Some(run) = all.iter().find(|r| r.id == *number) else {
            failures.push(format!(
                "{id}: approved run #{number} is not in the database"
            ));
            continue;
        };
        let times = ran(id);
        match run.status {
            RunStatus::Succeeded if times == 1 => runs += 1,
            RunStatus::Interrupted if times <= 1 => {}
            status => failures.push(format!(
                "{id}: approved run #{number} is {status:?} ({:?}) and ran {times} times",
                run.result
            )),
        }
    }

    let refused = |status| calls.iter().filter(|c| c.status == status).count();
    let figures = Figures {
        declares: ledger.declared.len(),
        declares_lost: ledger.declares_lost,
        resolved: ledger.resolved.len(),
        updates,
        clicks: ledger.clicks,
        runs,
        reminders,
        kills: 0,
        calls: calls.len(),
        rate_limited: refused(429),
        failed: refused(500),
    };
    (figures, failures)
}
