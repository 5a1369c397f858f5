//! Slash-command ack latency: how long Slack waits for warroom's answer.
//!
//! `cargo bench --bench slack_ack` starts warroom as `serve` does (HTTP mode, the
//! Web API pointed at the in-process fake Slack of the tests, which answers at
//! once), declares an incident, then sends signed, form-encoded slash commands to
//! `POST /slack/commands` at a fixed rate (open loop: a slow answer does not slow
//! the senders) and measures each from sending to the full answer. The mix is a
//! busy war room's: 8 notes, 1 status update (which queues chat posts that the
//! delivery loop sends to the fake meanwhile) and 1 `list` in every 10 commands.
//! SQLite always; Postgres too when `WARROOM_TEST_POSTGRES_URL` is set.

#[path = "../tests/it/slack_fake/mod.rs"]
mod slack_fake;

#[path = "../tests/it/common/seeded.rs"]
pub mod seeded;

/// The part of the tests' `common` that the fake Slack uses.
mod common {
    pub use super::seeded;
}

use ring::hmac;
use serde_json::Value;
use slack_fake::FakeSlack;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use warroom::config::{Config, Settings};
use warroom::startup::Application;

const SECRET: &str = "bench-signing-secret";

const CONFIG: &str = r#"
[bot]
public_url = "https://warroom.example"

[[severity]]
name = "sev1"
label = "Critical"
description = "Complete outage"
respond_within = "15m"
update_every = "15m"

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
mode = "http"
announce_channel = "CANNOUNCE"
"#;

/// (requests per second, requests measured); each run is preceded by one
/// second of the same load that is not measured.
const RUNS: [(u32, usize); 2] = [(100, 1000), (500, 2500)];

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

struct Target {
    client: reqwest::Client,
    addr: SocketAddr,
    response_url: String,
    room: String,
}

async fn run(name: &str, database_url: &str) {
    let fake = FakeSlack::start().await;
    let vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", database_url.to_string()),
        ("WARROOM_LISTEN", "127.0.0.1:0".to_string()),
        ("SLACK_API_URL", fake.api_url()),
        ("SLACK_BOT_TOKEN", slack_fake::BOT_TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SECRET.to_string()),
    ]);
    let settings = Settings::from_lookup(|key| vars.get(key).cloned()).expect("settings");
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let config =
        Config::from_toml_str(&CONFIG.replace("CANNOUNCE", &announce)).expect("bench config");
    let app = Application::build(settings, config)
        .await
        .expect("warroom starts");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let mut target = Target {
        client: reqwest::Client::new(),
        addr,
        response_url: fake.response_url("bench"),
        room: "C0OPS".into(),
    };
    let (_, answer) = target
        .send("sev1 checkout is down", "bench-declare".into())
        .await;
    assert!(answer.contains("Declaring"), "declared: {answer}");
    fake.wait_for("the war room", |f| !f.done("pins.add").is_empty())
        .await;
    target.room = fake
        .channels()
        .into_iter()
        .find(|c| c.name.starts_with("inc-"))
        .expect("the war room")
        .id;

    let target = std::sync::Arc::new(target);
    for (rate, count) in RUNS {
        load(&target, rate, rate as usize, &format!("warm{rate}")).await;
        let measured = load(&target, rate, count, &format!("run{rate}")).await;
        let mut latencies: Vec<Duration> = measured.iter().map(|(_, took)| *took).collect();
        latencies.sort();
        println!(
            "{name}: {count} slash commands at {rate}/s: ack p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 90.0)),
            ms(percentile(&latencies, 99.0)),
            ms(latencies[latencies.len() - 1]),
        );
        for kind in ["note", "update", "list"] {
            let mut own: Vec<Duration> = measured
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, took)| *took)
                .collect();
            own.sort();
            println!(
                "    {kind:>6}: {} commands, p50 {:.2} ms, p99 {:.2} ms",
                own.len(),
                ms(percentile(&own, 50.0)),
                ms(percentile(&own, 99.0)),
            );
        }
    }
    let _ = stop.send(());
    server.await.expect("server task").expect("server stops");
}

/// Sends `count` commands at `rate` per second; returns each one's kind and latency.
async fn load(
    target: &std::sync::Arc<Target>,
    rate: u32,
    count: usize,
    tag: &str,
) -> Vec<(&'static str, Duration)> {
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate);
    // Late ticks fire at once: the schedule is kept, as Slack's users keep typing.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut sent = JoinSet::new();
    for n in 0..count {
        ticker.tick().await;
        let text = match n % 10 {
            8 => format!("update still rolling back ({tag} {n})"),
            9 => "list".to_string(),
            _ => format!("note {tag} note {n}"),
        };
        let target = target.clone();
        let trigger = format!("{tag}-{n}");
        sent.spawn(async move {
            let (took, answer) = target.send(&text, trigger).await;
            let (kind, expected) = match n % 10 {
                8 => ("update", "Status update posted"),
                9 => ("list", "Open incidents"),
                _ => ("note", "Added to the timeline"),
            };
            assert!(answer.contains(expected), "`{text}` answered `{answer}`");
            (kind, took)
        });
    }
    let mut latencies = Vec::with_capacity(count);
    while let Some(took) = sent.join_next().await {
        latencies.push(took.expect("request task"));
    }
    latencies
}

impl Target {
    /// One signed slash command; the time from sending to the whole answer.
    async fn send(&self, text: &str, trigger: String) -> (Duration, String) {
        let channel = self.room.as_str();
        let body = serde_urlencoded::to_string([
            ("token", "bench"),
            ("team_id", slack_fake::TEAM),
            ("channel_id", channel),
            ("user_id", "UALICE"),
            ("user_name", "alice"),
            ("command", "/incident"),
            ("text", text),
            ("response_url", &self.response_url),
            ("trigger_id", &trigger),
        ])
        .expect("form");
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
            .to_string();
        let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
        let tag = hmac::sign(&key, format!("v0:{timestamp}:{body}").as_bytes());
        let signature: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let started = Instant::now();
        let response = self
            .client
            .post(format!("http://{}/slack/commands", self.addr))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Slack-Request-Timestamp", &timestamp)
            .header("X-Slack-Signature", format!("v0={signature}"))
            .body(body)
            .send()
            .await
            .expect("warroom answers");
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.expect("JSON answer");
        let took = started.elapsed();
        (
            took,
            answer["text"].as_str().unwrap_or_default().to_string(),
        )
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.saturating_sub(1).min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
