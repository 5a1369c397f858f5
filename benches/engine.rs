//! Command → committed latency and throughput of the engine, on SQLite and (when
//! `WARROOM_TEST_POSTGRES_URL` is set) Postgres.
//!
//! `cargo bench --bench engine` prints, per backend: p50 / p99 / max latency of
//! `Engine::handle` (parse excluded, commit included) for a realistic mix of
//! commands issued one at a time, and the commands per second reached by 8
//! concurrent clients. The figures in README.md come from this.

use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom::clock::SystemClock;
use warroom::command::{self, Command};
use warroom::config::Config;
use warroom::domain::{IncidentId, Platform, UserId};
use warroom::engine::{Actor, Context, Engine, EngineSettings, Wakeups};
use warroom::store::Store;

const CONFIG: &str = r#"
[bot]
public_url = "https://warroom.example"

[[severity]]
name = "sev1"
label = "Critical"
description = "Complete outage"
respond_within = "15m"
update_every = "15m"
page = true

[[severity]]
name = "sev2"
label = "Major"
description = "Partial outage"
respond_within = "30m"
update_every = "30m"

[people.alice]
slack = "UALICE"
[people.bob]
slack = "UBOB"

[assign.sev1]
commander = "alice"
technical = "bob"

[phrases]
investigating = "Investigating {service}."
identified = "Identified {service}."
monitoring = "Monitoring {service}."
resolved = "Resolved {service}."

[slack]
announce_channel = "CANNOUNCE"
"#;

/// Incidents driven through the sequential mix.
const INCIDENTS: usize = 300;
/// Concurrent clients, and commands each, for the throughput run.
const CLIENTS: usize = 8;
const COMMANDS_PER_CLIENT: usize = 500;

struct Bench {
    engine: Engine,
    config: Arc<Config>,
}

impl Bench {
    /// Handles one command; returns how long it took and the reply's text.
    async fn command(&self, user: &str, text: &str) -> (Duration, String) {
        let parsed: Command = match command::parse(text, &*self.config) {
            Ok(parsed) => parsed,
            Err(error) => panic!("benchmark command `{text}` does not parse: {error}"),
        };
        let actor = Actor {
            platform: Platform::Slack,
            user: UserId::new(user),
        };
        let context = Context {
            channel: "CGENERAL".into(),
            request_id: None,
            room_name: None,
        };
        let started = Instant::now();
        match self.engine.handle(&actor, &context, parsed).await {
            Ok(reply) => (started.elapsed(), reply.text()),
            Err(error) => panic!("`{text}` failed: {error}"),
        }
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run("SQLite", &sqlite).await;
    match std::env::var("WARROOM_TEST_POSTGRES_URL") {
        Ok(url) => run("Postgres", &url).await,
        Err(_) => println!("Postgres: skipped (WARROOM_TEST_POSTGRES_URL not set)"),
    }
}

async fn run(name: &str, url: &str) {
    let store = Store::connect(url).await.expect("database reachable");
    store.migrate().await.expect("migrations");
    let config = Arc::new(Config::from_toml_str(CONFIG).expect("bench config"));
    let engine = Engine::new(
        store,
        config.clone(),
        Arc::new(SystemClock),
        EngineSettings::from_config(&config),
        Wakeups::default(),
    );
    let bench = Arc::new(Bench { engine, config });

    // One at a time: what a single user waits for.
    let mut latencies = Vec::new();
    let mut last = None;
    let started = Instant::now();
    for n in 0..INCIDENTS {
        let (took, reply) = bench
            .command(
                "UALICE",
                &format!("sev1 checkout down {n} service=checkout"),
            )
            .await;
        latencies.push(took);
        let id = id_in(&reply);
        last = Some(id.clone());
        for text in [
            format!("ack {id}"),
            format!("role {id} comms <@UCAROL>"),
            format!("status {id} identified bad deploy"),
            format!("update {id} rolling back"),
            format!("note {id} error rate falling"),
            format!("followup {id} add a canary stage"),
            format!("status {id} monitoring"),
            format!("resolve {id} rolled back"),
        ] {
            latencies.push(bench.command("UALICE", &text).await.0);
        }
    }
    let sequential = started.elapsed();
    latencies.sort();
    let count = latencies.len();
    println!(
        "{name}: {count} commands one at a time: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.0} commands/s",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(latencies[count - 1]),
        count as f64 / sequential.as_secs_f64()
    );

    // Several clients at once: what the bot sustains during a busy incident.
    let id = last.expect("incidents were declared");
    bench
        .command("UALICE", &format!("status {id} investigating it is back"))
        .await;
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let bench = bench.clone();
        let id = id.clone();
        clients.spawn(async move {
            let mut own = Vec::with_capacity(COMMANDS_PER_CLIENT);
            for n in 0..COMMANDS_PER_CLIENT {
                own.push(
                    bench
                        .command("UALICE", &format!("note {id} client {client} note {n}"))
                        .await
                        .0,
                );
            }
            own
        });
    }
    let mut concurrent = Vec::new();
    while let Some(done) = clients.join_next().await {
        concurrent.extend(done.expect("client finished"));
    }
    let elapsed = started.elapsed();
    concurrent.sort();
    println!(
        "{name}: {} notes from {CLIENTS} concurrent clients on one incident: p50 {:.2} ms, p99 {:.2} ms, {:.0} commands/s",
        concurrent.len(),
        ms(percentile(&concurrent, 50.0)),
        ms(percentile(&concurrent, 99.0)),
        concurrent.len() as f64 / elapsed.as_secs_f64()
    );
}

/// The incident id a declare reply names.
fn id_in(reply: &str) -> IncidentId {
    reply
        .split_whitespace()
        .find_map(|word| {
            word.trim_end_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no incident id in `{reply}`"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.saturating_sub(1).min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
