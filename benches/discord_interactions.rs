//! Interaction → first response latency of the Discord adapter, through
//! `POST /discord/interactions` (signature check, option mapping, engine, commit,
//! rendering), against the fake Discord the integration tests use, on SQLite.
//!
//! `cargo bench --bench discord_interactions` sends signed `/incident note`
//! interactions into one incident at a steady 100 per second, each on its own
//! connection task, and prints p50 / p99 / max of the time from sending the request
//! to the HTTP answer, and how many were answered at once (type 4) rather than
//! deferred (type 5). Bounded: a fixed number of requests, then it stops.

#[path = "../tests/it/discord_fake/mod.rs"]
mod discord_fake;

use discord_fake::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use warroom::config::{Config, Settings};
use warroom::startup::Application;

const RATE_PER_SECOND: u64 = 100;
const REQUESTS: usize = 1000;

fn config() -> String {
    format!(
        r#"
[bot]
public_url = "https://warroom.example"

[[severity]]
name = "sev1"
label = "Critical"
respond_within = "15m"

[phrases]
investigating = "a"
identified = "b"
monitoring = "c"
resolved = "d"

[discord]
guild_id = "{GUILD_ID}"
incidents_channel = "{INCIDENTS_CHANNEL}"
announce_channel = "{ANNOUNCE_CHANNEL}"
"#
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let fake = FakeDiscord::start().await;
    let key = TestKey::new(7);
    let vars: HashMap<&str, String> = HashMap::from([
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
        ),
        ("WARROOM_LISTEN", "127.0.0.1:0".to_string()),
        ("DISCORD_TOKEN", TOKEN.to_string()),
        ("DISCORD_APPLICATION_ID", APPLICATION_ID.to_string()),
        ("DISCORD_PUBLIC_KEY", key.public_hex()),
        ("DISCORD_API_URL", fake.api_url.clone()),
    ]);
    let settings = Settings::from_lookup(|name| vars.get(name).cloned()).expect("settings");
    let config = Config::from_toml_str(&config()).expect("config");
    let app = Application::build(settings, config)
        .await
        .expect("warroom builds");
    let url = format!("http://{}/discord/interactions", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    let user = "110000000000000003";
    let declare = command_interaction(
        "610000000000000000",
        user,
        INCIDENTS_CHANNEL,
        "declare",
        json!([
            option("severity", 3, json!("sev1")),
            option("title", 3, json!("benchmark"))
        ]),
    );
    let (status, answer) = post_signed(&client, &url, &key, unix_now(), &declare).await;
    assert_eq!(status, 200, "{answer}");
    let text = answer["data"]["content"].as_str().unwrap_or_default();
    let incident: String = text
        .split_whitespace()
        .find(|word| word.starts_with("INC-"))
        .expect("the incident id in the reply")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();

    let interval = Duration::from_micros(1_000_000 / RATE_PER_SECOND);
    let mut ticks = tokio::time::interval(interval);
    let mut tasks = Vec::with_capacity(REQUESTS);
    let started = Instant::now();
    for n in 0..REQUESTS {
        ticks.tick().await;
        let body = command_interaction(
            &(620_000_000_000_000_000u64 + n as u64).to_string(),
            user,
            INCIDENTS_CHANNEL,
            "note",
            json!([
                option("text", 3, json!(format!("step {n} done"))),
                option("incident", 3, json!(incident)),
            ]),
        );
        let (client, url, key) = (client.clone(), url.clone(), TestKey::new(7));
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let (status, answer) = post_signed(&client, &url, &key, unix_now(), &body).await;
            (sent.elapsed(), status, answer["type"].clone())
        }));
    }
    let mut latencies = Vec::with_capacity(REQUESTS);
    let (mut immediate, mut deferred) = (0, 0);
    for task in tasks {
        let (latency, status, kind) = task.await.expect("request task");
        assert_eq!(status, 200);
        match kind {
            Value::Number(n) if n.as_u64() == Some(4) => immediate += 1,
            _ => deferred += 1,
        }
        latencies.push(latency);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "discord interactions (SQLite, {REQUESTS} `/incident note` at {RATE_PER_SECOND}/s over {:.1} s): \
         first response p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; answered at once {immediate}, deferred {deferred}",
        elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    let _ = stop.send(());
    let _ = served.await;
}
