//! Rendering the postmortem draft of a 10,000-event incident.
//!
//! `cargo bench --bench postmortem` builds, in memory, a resolved SEV1 with 10,000
//! timeline events (notes, updates, role changes, with Markdown-significant text to
//! escape), 50 follow-ups, 1,000 public updates and 100 action runs, renders the
//! draft repeatedly and prints the time per render at p50 / p99 / max against the
//! 50 ms target. It exits with an error when the p99 misses the target.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use warroom::config::Config;
use warroom::domain::{
    ActionRun, EventKind, FollowUp, Incident, IncidentId, Platform, Role, RunStatus, Severity,
    Status, StatusUpdate, TimelineEvent, UserId,
};
use warroom::render::{self, PostmortemRecord};

const CONFIG: &str = r#"
[bot]
public_url = "https://warroom.example"
timezone = "Europe/Berlin"

[[severity]]
name = "sev1"
label = "Critical"
respond_within = "15m"

[people.alice]
slack = "UALICE"

[[service]]
name = "checkout"
rto = "30m"
rpo = "5m"

[phrases]
investigating = "Investigating {service}."
identified = "Identified {service}."
monitoring = "Monitoring {service}."
resolved = "Resolved {service}."
"#;

const EVENTS: usize = 10_000;
const RUNS: usize = 200;
const TARGET: Duration = Duration::from_millis(50);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_toml_str(CONFIG)?;
    let declared: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 10, 24, 20, 0, 0)
        .single()
        .ok_or("a valid start time")?;
    let at = |i: usize| declared + TimeDelta::seconds(i as i64 * 9);
    let mut roles = BTreeMap::new();
    roles.insert(Role::Commander, UserId::new("UALICE"));
    let incident = Incident {
        id: IncidentId::new(declared.date_naive(), 1),
        title: "checkout is down | cards *declined*".into(),
        severity: Severity::new("sev1"),
        status: Status::Resolved,
        drill: false,
        private: false,
        services: vec!["checkout".into()],
        platform: Platform::Slack,
        origin_channel: "COPS".into(),
        room: Some("CROOM".into()),
        declared_by: UserId::new("UALICE"),
        declared_at: declared,
        acknowledged_at: Some(at(1)),
        identified_at: Some(at(100)),
        mitigated_at: Some(at(5_000)),
        resolved_at: Some(at(EVENTS - 1)),
        last_update_at: Some(at(EVENTS - 1)),
        summary: Some("rolled back the `checkout-api` deploy".into()),
        roles,
        detected_at: None,
    };
    let kinds = [
        EventKind::Note,
        EventKind::StatusUpdate,
        EventKind::Captured,
        EventKind::RoleAssigned,
    ];
    let timeline: Vec<TimelineEvent> = (0..EVENTS)
        .map(|i| TimelineEvent {
            at: at(i),
            kind: kinds[i % kinds.len()],
            actor: "UALICE".into(),
            text: format!(
                "event {i}: error rate | p99 *{}ms* on [shard-{}]\nsee <dashboards>",
                i % 700,
                i % 16
            ),
        })
        .collect();
    let followups: Vec<FollowUp> = (1..=50)
        .map(|n| FollowUp {
            number: n,
            text: format!("follow-up {n} | with a pipe"),
            owner: Some(UserId::new("UALICE")),
            due: None,
            done: n % 3 == 0,
            created_at: at(n as usize),
            issue: None,
        })
        .collect();
    let updates: Vec<StatusUpdate> = (0..1_000)
        .map(|i| StatusUpdate {
            at: at(i * 10),
            status: Status::Identified,
            text: format!("update {i}"),
        })
        .collect();
    let action_runs: Vec<ActionRun> = (1..=100)
        .map(|id| ActionRun {
            id,
            incident: incident.id.clone(),
            action: "restart".into(),
            params: BTreeMap::from([("service".to_string(), format!("shard-{}", id % 16))]),
            status: RunStatus::Succeeded,
            requested_by: UserId::new("UALICE"),
            approved_by: Some(UserId::new("UALICE")),
            created_at: at(id as usize * 50),
            started_at: Some(at(id as usize * 50)),
            finished_at: Some(at(id as usize * 50 + 7)),
            attempts: 1,
            result: Some("exit status: 0".into()),
            output: None,
            output_hash: None,
            step: None,
        })
        .collect();
    let record = PostmortemRecord {
        incident: &incident,
        timeline: &timeline,
        followups: &followups,
        updates: &updates,
        action_runs: &action_runs,
    };

    let mut times = Vec::with_capacity(RUNS);
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let draft = render::postmortem(&record, &config);
        times.push(started.elapsed());
        size = draft.len();
    }
    times.sort();
    let pick = |share: usize| times[(RUNS * share).div_ceil(100) - 1];
    let (p50, p99, max) = (pick(50), pick(99), times[RUNS - 1]);
    println!(
        "postmortem draft of {EVENTS} events ({size} bytes), {RUNS} renders: \
         p50 {p50:.2?}, p99 {p99:.2?}, max {max:.2?} (target {TARGET:?})"
    );
    if p99 > TARGET {
        return Err(format!("p99 {p99:?} misses the {TARGET:?} target").into());
    }
    Ok(())
}
