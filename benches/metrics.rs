//! Scraping `/metrics` with 10,000 incidents in the database.
//!
//! `cargo bench --bench metrics` seeds a SQLite file with 10,000 incidents (SEV1
//! to SEV4, most resolved, some open, some drills), each with the timeline events a
//! real one gets and a postmortem posted for one in four, serves warroom's HTTP
//! endpoints on 127.0.0.1, scrapes `/metrics` repeatedly and prints the time per
//! scrape at p50 / p99 / max. Every scrape reads the incident KPIs from the database.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warroom::clock::{ManualClock, SharedClock};
use warroom::config::Config;
use warroom::domain::{
    EventKind, Incident, IncidentId, Platform, Role, Severity, Status, TimelineEvent, UserId,
};
use warroom::store::Store;
use warroom::web::{self, WebState};

const CONFIG: &str = r#"
[bot]
public_url = "https://warroom.example"

[phrases]
investigating = "Investigating."
identified = "Identified."
monitoring = "Monitoring."
resolved = "Resolved."

[[severity]]
name = "sev1"
respond_within = "15m"

[[severity]]
name = "sev2"
respond_within = "30m"

[[severity]]
name = "sev3"
respond_within = "2h"

[[severity]]
name = "sev4"
respond_within = "1d"
"#;

const INCIDENTS: usize = 10_000;
const PER_TRANSACTION: usize = 500;
const WARMUP: usize = 20;
const SCRAPES: usize = 300;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("warroom.db").display());
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .single()
        .ok_or("a valid time")?;
    let seeding = Instant::now();
    seed(&store, now).await?;
    println!(
        "seeded {INCIDENTS} incidents in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let clock: SharedClock = Arc::new(ManualClock::starting_at(now));
    let state = WebState {
        store: store.clone(),
        clock,
        config: Arc::new(Config::from_toml_str(CONFIG)?),
        api_token: None,
        api_private_token: None,
        metrics: warroom::telemetry::install(),
        engine: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, web::router(state)).await });
    let http = reqwest::Client::new();
    let url = format!("http://{address}/metrics");

    let mut times = Vec::with_capacity(SCRAPES);
    for run in 0..WARMUP + SCRAPES {
        let started = Instant::now();
        let body = http
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let took = started.elapsed();
        if !body.contains("warroom_database_up 1") {
            return Err("the database did not answer the scrape".into());
        }
        if run >= WARMUP {
            times.push(took);
        }
    }
    times.sort();
    println!(
        "sqlite: /metrics over {INCIDENTS} incidents, {SCRAPES} scrapes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 99.0)),
        ms(times[times.len() - 1]),
    );
    Ok(())
}

/// Inserts the incidents and their timeline events, a few hundred per transaction.
async fn seed(store: &Store, now: DateTime<Utc>) -> Result<(), Box<dyn std::error::Error>> {
    let severities = ["sev1", "sev2", "sev3", "sev4"];
    for chunk in (0..INCIDENTS).collect::<Vec<_>>().chunks(PER_TRANSACTION) {
        let mut tx = store.begin().await?;
        for &n in chunk {
            let declared = now - TimeDelta::minutes(10 * (INCIDENTS - n) as i64);
            let minutes = |m: usize| declared + TimeDelta::minutes(m as i64);
            let open = n % 20 == 0;
            let incident = Incident {
                id: IncidentId::new(declared.date_naive(), (n % 999 + 1) as u32),
                title: format!("incident {n}"),
                severity: Severity::new(severities[n % severities.len()]),
                status: if open {
                    Status::Investigating
                } else {
                    Status::Resolved
                },
                drill: n % 50 == 7,
                private: false,
                services: vec!["checkout".into()],
                platform: Platform::Slack,
                origin_channel: "COPS".into(),
                room: Some(format!("CROOM{n}")),
                declared_by: UserId::new("UALICE"),
                declared_at: declared,
                acknowledged_at: (n % 7 != 0).then(|| minutes(1 + n % 40)),
                identified_at: (!open).then(|| minutes(20 + n % 60)),
                mitigated_at: (!open).then(|| minutes(30 + n % 120)),
                resolved_at: (!open).then(|| minutes(60 + n % 1_500)),
                last_update_at: None,
                summary: None,
                roles: BTreeMap::from([(Role::Commander, UserId::new("UALICE"))]),
                detected_at: None,
            };
            tx.insert_incident(&incident).await?;
            let mut kinds = vec![
                EventKind::Declared,
                EventKind::RoleAssigned,
                EventKind::Acknowledged,
                EventKind::Note,
                EventKind::StatusUpdate,
                EventKind::StatusChanged,
                EventKind::StatusChanged,
                EventKind::Resolved,
            ];
            if n % 4 == 0 {
                kinds.push(EventKind::PostmortemPosted);
            }
            for (i, kind) in kinds.into_iter().enumerate() {
                let event = TimelineEvent {
                    at: minutes(i * 5),
                    kind,
                    actor: "UALICE".into(),
                    text: format!("event {i}"),
                };
                tx.record_event(&incident.id, &event).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.saturating_sub(1).min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
