//! Incident KPIs over 50 incidents driven through the real engine on a manual
//! clock: `/incident stats 7d` and `30d`, and the KPI series on `/metrics`, checked
//! against numbers worked out by hand (the arithmetic is in the comments).
//!
//! Runs on a fresh SQLite file, and on Postgres when `WARROOM_TEST_POSTGRES_URL` is set.

use crate::common::harness::{Harness, SEV1, bot, plain_phrases, serve};
use crate::common::{Backend, test_backends};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use std::collections::BTreeMap;
use warroom::domain::IncidentId;
use warroom::engine::Reply;
use warroom::web::WebState;

fn config() -> String {
    let severities = r#"
[[severity]]
name = "sev2"
label = "Major"
respond_within = "30m"

[[severity]]
name = "sev3"
label = "Minor"
respond_within = "2h"
"#;
    [&bot("UTC"), SEV1, severities, &plain_phrases()].concat()
}

/// A group of incidents with the same timings, declared one hour apart.
struct Group {
    count: u32,
    severity: &'static str,
    /// How long before the end of the test the first one is declared.
    days_ago: i64,
    /// Minutes after declaring: acknowledged, set to monitoring, resolved.
    ack: Option<i64>,
    monitoring: Option<i64>,
    resolved: Option<i64>,
    drill: bool,
    /// How many of the group have their postmortem posted (an hour after resolving).
    postmortems: u32,
}

const fn group(
    count: u32,
    severity: &'static str,
    days_ago: i64,
    (ack, monitoring, resolved): (Option<i64>, Option<i64>, Option<i64>),
    postmortems: u32,
) -> Group {
    Group {
        count,
        severity,
        days_ago,
        ack,
        monitoring,
        resolved,
        drill: false,
        postmortems,
    }
}

/// 50 incidents. Targets: sev1 15m, sev2 30m, sev3 2h. R* are inside the last 7
/// days, O* between 7 and 30 days old, A* older than 30 days (only on `/metrics`,
/// which counts every incident ever declared).
const GROUPS: [Group; 12] = [
    // R1: 8 × sev1, ack 2m, monitoring 20m, resolved 45m.
    group(8, "sev1", 6, (Some(2), Some(20), Some(45)), 0),
    // R2: 6 × sev2, ack 10m, monitoring 50m, resolved 90m.
    group(6, "sev2", 5, (Some(10), Some(50), Some(90)), 0),
    // R3: 4 × sev1, ack 20m (missed), monitoring 40m, resolved 120m; 4 postmortems.
    group(4, "sev1", 4, (Some(20), Some(40), Some(120)), 4),
    // R4: 3 × sev3, ack 30m, monitoring 180m, resolved 600m; 1 postmortem.
    group(3, "sev3", 3, (Some(30), Some(180), Some(600)), 1),
    // R5: 2 × sev1, never acknowledged (missed), still open.
    group(2, "sev1", 2, (None, None, None), 0),
    // R6: 2 × sev2, ack 5m, monitoring 30m, still open.
    group(2, "sev2", 1, (Some(5), Some(30), None), 0),
    // R7: 1 × sev2 drill with a postmortem: counts nowhere.
    Group {
        count: 1,
        severity: "sev2",
        days_ago: 1,
        ack: Some(1),
        monitoring: Some(2),
        resolved: Some(3),
        drill: true,
        postmortems: 1,
    },
    // O1: 10 × sev1, ack 5m, monitoring 15m, resolved 30m.
    group(10, "sev1", 20, (Some(5), Some(15), Some(30)), 0),
    // O2: 5 × sev2, ack 45m (missed), monitoring 60m, resolved 240m; 2 postmortems.
    group(5, "sev2", 15, (Some(45), Some(60), Some(240)), 2),
    // O3: 2 × sev3, never acknowledged (missed), resolved at 60m (so mitigated then).
    group(2, "sev3", 10, (None, None, Some(60)), 0),
    // A1: 4 × sev1, ack 1m, monitoring 10m, resolved 1440m (a day); 1 postmortem.
    group(4, "sev1", 45, (Some(1), Some(10), Some(1440)), 1),
    // A2: 3 × sev2, ack 60m (missed), monitoring 120m, resolved 3000m (50h).
    group(3, "sev2", 40, (Some(60), Some(120), Some(3000)), 0),
];

/// What happens to an incident at a moment; incidents are numbered in `GROUPS` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Declare,
    Ack,
    Monitoring,
    Resolve,
    Postmortem,
}

async fn harness(backend: &Backend, start: DateTime<Utc>) -> Harness {
    Harness::builder(config())
        .starting_at(start)
        .build(backend)
        .await
}

impl Harness {
    /// Handles `/incident <text>` typed by Alice in `#ops`.
    async fn ask(&self, text: &str) -> Reply {
        self.run("UALICE", "C-ops", text).await
    }

    /// Plays every group's steps in the order they happen, on the manual clock.
    async fn seed(&self, now: DateTime<Utc>) {
        let mut steps: Vec<(DateTime<Utc>, usize, Step)> = Vec::new();
        let mut number = 0;
        for group in &GROUPS {
            for k in 0..group.count {
                let declared =
                    now - TimeDelta::days(group.days_ago) + TimeDelta::hours(i64::from(k));
                let after = |minutes: i64| declared + TimeDelta::minutes(minutes);
                steps.push((declared, number, Step::Declare));
                steps.extend(group.ack.map(|m| (after(m), number, Step::Ack)));
                steps.extend(
                    group
                        .monitoring
                        .map(|m| (after(m), number, Step::Monitoring)),
                );
                steps.extend(group.resolved.map(|m| (after(m), number, Step::Resolve)));
                if k < group.postmortems {
                    let posted = after(group.resolved.expect("postmortems follow a resolve") + 60);
                    steps.push((posted, number, Step::Postmortem));
                }
                number += 1;
            }
        }
        assert_eq!(number, 50);
        steps.sort();
        let mut ids: BTreeMap<usize, IncidentId> = BTreeMap::new();
        for (at, number, step) in steps {
            self.clock.set(at);
            let (command, answer) = match (step, ids.get(&number)) {
                (Step::Declare, _) => {
                    let id = self.declare_number(number).await;
                    ids.insert(number, id);
                    continue;
                }
                (Step::Ack, Some(id)) => (format!("ack {id}"), format!("Acknowledged {id}.")),
                (Step::Monitoring, Some(id)) => (
                    format!("status {id} monitoring"),
                    format!("{id} is now monitoring."),
                ),
                (Step::Resolve, Some(id)) => (format!("resolve {id}"), format!("Resolved {id} ")),
                (Step::Postmortem, Some(id)) => (
                    format!("postmortem {id}"),
                    format!("The postmortem draft of {id} is posted in its war room."),
                ),
                (_, None) => panic!("incident {number} is used before it is declared"),
            };
            let reply = self.ask(&command).await.text();
            assert!(reply.starts_with(&answer), "`{command}`: {reply}");
        }
        self.clock.set(now);
    }

    /// Declares incident `number` of `GROUPS` and returns its id.
    async fn declare_number(&self, number: usize) -> IncidentId {
        let group = group_of(number);
        let drill = if group.drill { " --drill" } else { "" };
        let reply = self
            .ask(&format!("{} incident {number}{drill}", group.severity))
            .await
            .text();
        reply
            .split_whitespace()
            .find_map(|word| {
                word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                    .parse::<IncidentId>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("declare answered without an id: {reply}"))
    }

    /// Serves the HTTP endpoints over this engine's database and clock, and
    /// returns the `/metrics` text.
    async fn scrape(&self) -> String {
        let state = WebState {
            metrics: warroom::telemetry::install(),
            ..self.web_state(None)
        };
        let (base, served) = serve(state).await;
        let response = reqwest::get(format!("{base}/metrics"))
            .await
            .expect("GET /metrics");
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("body");
        served.abort();
        text
    }
}

fn group_of(number: usize) -> &'static Group {
    let mut first = 0;
    for group in &GROUPS {
        first += group.count as usize;
        if number < first {
            return group;
        }
    }
    panic!("no incident {number}")
}

#[tokio::test]
async fn fifty_incidents_give_the_hand_computed_stats_and_metrics() {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    for backend in test_backends().await {
        let name = backend.name;
        let h = harness(&backend, now - TimeDelta::days(50)).await;
        h.seed(now).await;

        // 7 days: R1–R6 = 8 + 6 + 4 + 3 + 2 + 2 = 25 incidents (the drill R7 left out);
        // SEV1 8 + 4 + 2 = 14, SEV2 6 + 2 = 8, SEV3 3.
        // Acknowledge (minutes): 2 ×8, 5 ×2 (R6), 10 ×6, 20 ×4, 30 ×3 → 23 values;
        //   sum 16 + 10 + 60 + 80 + 90 = 256m = 15360s, mean 15360 / 23 = 667.8s → 11m;
        //   p50 = rank ⌈23 × 0.5⌉ = 12 → 10m (ranks 11–16); p90 = rank ⌈20.7⌉ = 21 → 30m.
        // Mitigate: 20 ×8, 30 ×2, 40 ×4, 50 ×6, 180 ×3 → 23 values; sum 160 + 60 + 160 +
        //   300 + 540 = 1220m = 73200s, mean 3182.6s → 53m; p50 rank 12 → 40m (ranks
        //   11–14); p90 rank 21 → 180m = 3h 0m.
        // Resolve: 45 ×8, 90 ×6, 120 ×4, 600 ×3 → 21 values; sum 360 + 540 + 480 + 1800 =
        //   3180m = 190800s, mean 9085.7s → 2h 31m; p50 rank ⌈10.5⌉ = 11 → 90m (ranks
        //   9–14); p90 rank ⌈18.9⌉ = 19 → 600m = 10h 0m.
        // Missed: R3 (20m > 15m) 4 + R5 (never acknowledged, days > 15m) 2 = 6.
        // Postmortems: R3 4 + R4 1 = 5.
        let week = h.ask("stats 7d").await.text();
        assert_eq!(
            week,
            "Incident stats · last 7 days (drills excluded)\n\
             Incidents: 25 — SEV1 14, SEV2 8, SEV3 3\n\
             Time to acknowledge (MTTA): mean 11m, p50 10m, p90 30m (23 incidents)\n\
             Time to mitigate: mean 53m, p50 40m, p90 3h 0m (23 incidents)\n\
             Time to resolve (MTTR): mean 2h 31m, p50 1h 30m, p90 10h 0m (21 incidents)\n\
             Response-time targets missed: 6 of 25\n\
             Postmortems written: 5 of 25",
            "[{name}]"
        );

        // 30 days adds O1–O3 = 10 + 5 + 2 = 17 → 42; SEV1 14 + 10 = 24, SEV2 8 + 5 = 13,
        // SEV3 3 + 2 = 5.
        // Acknowledge: + 5 ×10, 45 ×5 → 38 values: 2 ×8 (ranks 1–8), 5 ×12 (9–20),
        //   10 ×6 (21–26), 20 ×4 (27–30), 30 ×3 (31–33), 45 ×5 (34–38); sum 256 + 50 +
        //   225 = 531m = 31860s, mean 838.4s → 13m; p50 rank 19 → 5m; p90 rank
        //   ⌈34.2⌉ = 35 → 45m.
        // Mitigate: + 15 ×10, 60 ×5, 60 ×2 (O3, resolved directly) → 40 values: 15 ×10
        //   (1–10), 20 ×8 (11–18), 30 ×2 (19–20), 40 ×4 (21–24), 50 ×6 (25–30), 60 ×7
        //   (31–37), 180 ×3 (38–40); sum 1220 + 150 + 300 + 120 = 1790m = 107400s, mean
        //   2685s → 44m; p50 rank 20 → 30m; p90 rank 36 → 60m = 1h 0m.
        // Resolve: + 30 ×10, 240 ×5, 60 ×2 → 38 values: 30 ×10 (1–10), 45 ×8 (11–18),
        //   60 ×2 (19–20), 90 ×6 (21–26), 120 ×4 (27–30), 240 ×5 (31–35), 600 ×3 (36–38);
        //   sum 3180 + 300 + 1200 + 120 = 4800m = 288000s, mean 7578.9s → 2h 6m; p50
        //   rank 19 → 60m = 1h 0m; p90 rank 35 → 240m = 4h 0m.
        // Missed: 6 + O2 (45m > 30m) 5 + O3 (never acknowledged, past 2h) 2 = 13.
        // Postmortems: 5 + O2 2 = 7.
        let month = h.ask("stats 30d").await.text();
        assert_eq!(
            month,
            "Incident stats · last 30 days (drills excluded)\n\
             Incidents: 42 — SEV1 24, SEV2 13, SEV3 5\n\
             Time to acknowledge (MTTA): mean 13m, p50 5m, p90 45m (38 incidents)\n\
             Time to mitigate: mean 44m, p50 30m, p90 1h 0m (40 incidents)\n\
             Time to resolve (MTTR): mean 2h 6m, p50 1h 0m, p90 4h 0m (38 incidents)\n\
             Response-time targets missed: 13 of 42\n\
             Postmortems written: 7 of 42",
            "[{name}]"
        );

        let metrics = h.scrape().await;
        assert_families_once(&metrics, name);
        let lines: Vec<&str> = metrics.lines().collect();
        // Every incident ever declared but the drill: 49. Buckets (le, seconds) are 60,
        // 300, 900, 1800, 3600, 7200, 14400, 43200, 86400 = 1m, 5m, 15m, 30m, 1h, 2h, 4h,
        // 12h, 24h; a value equal to a bound falls in that bucket.
        let expected: Vec<String> = [
            // SEV1 = R1 8 + R3 4 + R5 2 + O1 10 + A1 4 = 28; SEV2 = R2 6 + R6 2 + O2 5 +
            // A2 3 = 16; SEV3 = R4 3 + O3 2 = 5.
            "warroom_incidents_total{severity=\"sev1\"} 28",
            "warroom_incidents_total{severity=\"sev2\"} 16",
            "warroom_incidents_total{severity=\"sev3\"} 5",
            // SEV1: R3 4 + R5 2 = 6; SEV2: O2 5 + A2 (60m > 30m) 3 = 8; SEV3: O3 2.
            "warroom_incident_response_targets_missed_total{severity=\"sev1\"} 6",
            "warroom_incident_response_targets_missed_total{severity=\"sev2\"} 8",
            "warroom_incident_response_targets_missed_total{severity=\"sev3\"} 2",
            // SEV1: R3 4 + A1 1 = 5; SEV2: O2 2; SEV3: R4 1.
            "warroom_postmortems_total{severity=\"sev1\"} 5",
            "warroom_postmortems_total{severity=\"sev2\"} 2",
            "warroom_postmortems_total{severity=\"sev3\"} 1",
            // Open: R5 2 (sev1), R6 2 (sev2).
            "warroom_open_incidents{severity=\"sev1\"} 2",
            "warroom_open_incidents{severity=\"sev2\"} 2",
            "warroom_open_incidents{severity=\"sev3\"} 0",
        ]
        .into_iter()
        .map(String::from)
        .chain(histogram(
            "acknowledge",
            "sev1",
            // A1 1m ×4 | R1 2m ×8, O1 5m ×10 → 22 | R3 20m ×4 → 26.
            [4, 22, 22, 26, 26, 26, 26, 26, 26, 26],
            // 4 × 60 + 8 × 120 + 10 × 300 + 4 × 1200 = 240 + 960 + 3000 + 4800
            "9000",
        ))
        .chain(histogram(
            "mitigate",
            "sev1",
            // A1 10m ×4, O1 15m ×10 → 14 | R1 20m ×8 → 22 | R3 40m ×4 → 26.
            [0, 0, 14, 22, 26, 26, 26, 26, 26, 26],
            // 4 × 600 + 10 × 900 + 8 × 1200 + 4 × 2400 = 2400 + 9000 + 9600 + 9600
            "30600",
        ))
        .chain(histogram(
            "resolve",
            "sev1",
            // O1 30m ×10 | R1 45m ×8 → 18 | R3 120m ×4 → 22 | A1 1440m ×4 → 26.
            [0, 0, 0, 10, 18, 22, 22, 22, 26, 26],
            // 10 × 1800 + 8 × 2700 + 4 × 7200 + 4 × 86400 = 18000 + 21600 + 28800 + 345600
            "414000",
        ))
        .chain(histogram(
            "acknowledge",
            "sev2",
            // R6 5m ×2 | R2 10m ×6 → 8 | O2 45m ×5, A2 60m ×3 → 16.
            [0, 2, 8, 8, 16, 16, 16, 16, 16, 16],
            // 2 × 300 + 6 × 600 + 5 × 2700 + 3 × 3600 = 600 + 3600 + 13500 + 10800
            "28500",
        ))
        .chain(histogram(
            "mitigate",
            "sev2",
            // R6 30m ×2 | R2 50m ×6, O2 60m ×5 → 13 | A2 120m ×3 → 16.
            [0, 0, 0, 2, 13, 16, 16, 16, 16, 16],
            // 2 × 1800 + 6 × 3000 + 5 × 3600 + 3 × 7200 = 3600 + 18000 + 18000 + 21600
            "61200",
        ))
        .chain(histogram(
            "resolve",
            "sev2",
            // R2 90m ×6 | O2 240m ×5 → 11 | A2 3000m ×3 only in +Inf → 14 (R6 is open).
            [0, 0, 0, 0, 0, 6, 11, 11, 11, 14],
            // 6 × 5400 + 5 × 14400 + 3 × 180000 = 32400 + 72000 + 540000
            "644400",
        ))
        .chain(histogram(
            "acknowledge",
            "sev3",
            // R4 30m ×3 (O3 never acknowledged).
            [0, 0, 0, 3, 3, 3, 3, 3, 3, 3],
            // 3 × 1800
            "5400",
        ))
        .chain(histogram(
            "mitigate",
            "sev3",
            // O3 60m ×2 | R4 180m ×3 → 5.
            [0, 0, 0, 0, 2, 2, 5, 5, 5, 5],
            // 2 × 3600 + 3 × 10800 = 7200 + 32400
            "39600",
        ))
        .chain(histogram(
            "resolve",
            "sev3",
            // O3 60m ×2 | R4 600m ×3 → 5.
            [0, 0, 0, 0, 2, 2, 2, 5, 5, 5],
            // 2 × 3600 + 3 × 36000 = 7200 + 108000
            "115200",
        ))
        .collect();
        for line in &expected {
            assert!(
                lines.contains(&line.as_str()),
                "[{name}] missing `{line}` in:\n{metrics}"
            );
        }
        assert!(
            lines.contains(&"warroom_database_up 1"),
            "[{name}] {metrics}"
        );
    }
}

/// The lines of one histogram: cumulative counts for le = 60 … 86400 and +Inf,
/// then the sum (seconds) and the count (the +Inf bucket).
fn histogram(kind: &str, severity: &str, buckets: [u32; 10], sum: &str) -> Vec<String> {
    let name = format!("warroom_incident_time_to_{kind}_seconds");
    let bounds = [
        "60", "300", "900", "1800", "3600", "7200", "14400", "43200", "86400", "+Inf",
    ];
    let mut lines: Vec<String> = bounds
        .iter()
        .zip(buckets)
        .map(|(le, count)| format!("{name}_bucket{{severity=\"{severity}\",le=\"{le}\"}} {count}"))
        .collect();
    lines.push(format!("{name}_sum{{severity=\"{severity}\"}} {sum}"));
    lines.push(format!(
        "{name}_count{{severity=\"{severity}\"}} {}",
        buckets[9]
    ));
    lines
}

/// Each KPI family is introduced by exactly one HELP and one TYPE line, of its kind.
fn assert_families_once(metrics: &str, name: &str) {
    for (family, kind) in [
        ("warroom_incidents_total", "counter"),
        ("warroom_incident_response_targets_missed_total", "counter"),
        ("warroom_postmortems_total", "counter"),
        ("warroom_incident_time_to_acknowledge_seconds", "histogram"),
        ("warroom_incident_time_to_mitigate_seconds", "histogram"),
        ("warroom_incident_time_to_resolve_seconds", "histogram"),
    ] {
        let types: Vec<&str> = metrics
            .lines()
            .filter(|line| line.starts_with(&format!("# TYPE {family} ")))
            .collect();
        assert_eq!(
            types,
            [format!("# TYPE {family} {kind}")],
            "[{name}] {metrics}"
        );
        let helps = metrics
            .lines()
            .filter(|line| line.starts_with(&format!("# HELP {family} ")))
            .count();
        assert_eq!(helps, 1, "[{name}] {family}");
    }
}

#[tokio::test]
async fn without_the_database_a_scrape_keeps_the_process_series_and_says_so() {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    for backend in test_backends().await {
        let name = backend.name;
        let h = harness(&backend, now).await;
        warroom::telemetry::install().expect("the Prometheus recorder is installed");
        h.ask("stats 7d").await;
        h.engine.store().close().await;

        let metrics = h.scrape().await;
        let lines: Vec<&str> = metrics.lines().collect();
        assert!(
            lines.contains(&"warroom_database_up 0"),
            "[{name}] {metrics}"
        );
        assert!(
            metrics.contains("warroom_commands_total{kind=\"stats\",outcome=\"done\"}"),
            "[{name}] the process's own series are still served: {metrics}"
        );
        for family in [
            "warroom_incidents_total",
            "warroom_incident_time_to_resolve_seconds",
        ] {
            assert!(
                !metrics.contains(family),
                "[{name}] {family} is left out rather than reported as 0: {metrics}"
            );
        }
    }
}
