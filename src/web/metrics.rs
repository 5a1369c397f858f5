//! `GET /metrics`: Prometheus text.
//!
//! Two sources: what this process counted (commands, acknowledgement latency,
//! deliveries; see [`crate::telemetry`]), and what the database holds right now
//! (outbox depth and age, open incidents per severity, and the incident KPIs per
//! severity: incidents, response targets missed, postmortems, and histograms of
//! the time to acknowledge, mitigate and resolve), read at scrape time so the
//! numbers are true whichever replica answers. If the database does not answer
//! within [`DATABASE_WAIT`], the process's own series are still served, with
//! `warroom_database_up 0`.

use super::WebState;
use crate::config::Config;
use crate::domain::{DURATION_BUCKETS, DurationHistogram, Severity, SeverityTotals};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How long a scrape waits for the database's series, all read at once. Each read
/// may wait for a connection longer than that while the database is away, and a
/// scrape must still answer within Prometheus's scrape timeout (10 s by default).
pub(super) const DATABASE_WAIT: Duration = Duration::from_secs(2);

pub(super) async fn scrape(State(state): State<WebState>) -> Response {
    let Some(handle) = &state.metrics else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are recorded by another recorder in this process\n",
        )
            .into_response();
    };
    let mut text = handle.render();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let database = database_series(&state).await;
    text.push_str(&database);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// The series read from the store, in exposition format.
async fn database_series(state: &WebState) -> String {
    let mut out = String::new();
    let now = state.clock.now();
    let respond_within: Vec<(Severity, TimeDelta)> = state
        .config
        .severities()
        .iter()
        .filter_map(|level| {
            let target = TimeDelta::from_std(level.respond_within).ok()?;
            Some((level.name.clone(), target))
        })
        .collect();
    let reads = async {
        tokio::join!(
            state.store.outbox_backlog(now),
            state.store.open_incidents_by_severity(),
            state.store.severity_totals(&respond_within, now),
        )
    };
    let Ok((backlog, open, totals)) = tokio::time::timeout(DATABASE_WAIT, reads).await else {
        tracing::warn!("metrics: the database did not answer within {DATABASE_WAIT:?}");
        database_up(&mut out, false);
        return out;
    };
    database_up(&mut out, backlog.is_ok() && open.is_ok() && totals.is_ok());
    match backlog {
        Ok((pending, oldest)) => {
            gauge(
                &mut out,
                "warroom_outbox_depth",
                "Chat operations queued and neither delivered nor given up.",
                &[(None, pending as f64)],
            );
            gauge(
                &mut out,
                "warroom_outbox_oldest_age_seconds",
                "Age of the oldest queued chat operation; 0 when the queue is empty.",
                &[(None, oldest.map_or(0.0, |age| age.as_secs_f64()))],
            );
        }
        Err(error) => tracing::warn!(%error, "metrics: outbox backlog unavailable"),
    }
    match open {
        Ok(counts) => {
            // Every configured severity appears, at 0 when none is open, so a graph
            // drops to zero instead of ending at the last open incident.
            let mut by_severity: BTreeMap<String, u64> = state
                .config
                .severities()
                .iter()
                .map(|level| (level.name.as_str().to_string(), 0))
                .collect();
            for (severity, count) in counts {
                by_severity.insert(severity.as_str().to_string(), count);
            }
            let samples: Vec<(Option<(&str, &str)>, f64)> = by_severity
                .iter()
                .map(|(severity, count)| (Some(("severity", severity.as_str())), *count as f64))
                .collect();
            gauge(
                &mut out,
                "warroom_open_incidents",
                "Incidents not yet resolved, by severity; drills left out.",
                &samples,
            );
        }
        Err(error) => tracing::warn!(%error, "metrics: open incidents unavailable"),
    }
    match totals {
        Ok(totals) => incident_kpis(&mut out, &state.config, totals),
        Err(error) => tracing::warn!(%error, "metrics: incident KPIs unavailable"),
    }
    out
}

fn database_up(out: &mut String, up: bool) {
    gauge(
        out,
        "warroom_database_up",
        "Whether the database answered this scrape (1) or not (0).",
        &[(None, u64::from(up) as f64)],
    );
}

/// The KPI families, every configured severity included (at 0 when it has no
/// incident) so a graph starts at zero instead of at the first incident.
fn incident_kpis(
    out: &mut String,
    config: &Config,
    mut totals: BTreeMap<Severity, SeverityTotals>,
) {
    for level in config.severities() {
        totals.entry(level.name.clone()).or_default();
    }
    let counts = |count: fn(&SeverityTotals) -> u64| -> Vec<(&str, u64)> {
        totals
            .iter()
            .map(|(severity, totals)| (severity.as_str(), count(totals)))
            .collect()
    };
    counter(
        out,
        "warroom_incidents_total",
        "Incidents declared, by severity; drills left out.",
        &counts(|t| t.incidents),
    );
    counter(
        out,
        "warroom_incident_response_targets_missed_total",
        "Incidents acknowledged later than their severity's response target, or not \
         acknowledged and past it; drills left out.",
        &counts(|t| t.response_missed),
    );
    counter(
        out,
        "warroom_postmortems_total",
        "Incidents whose postmortem draft was posted, by severity; drills left out.",
        &counts(|t| t.postmortems),
    );
    let histograms = |of: Milestone| -> Vec<(&str, &DurationHistogram)> {
        totals
            .iter()
            .map(|(severity, totals)| (severity.as_str(), of(totals)))
            .collect()
    };
    let durations: [(&str, &str, Milestone); 4] = [
        (
            "warroom_incident_time_to_detect_seconds",
            "Time from the start of the alerts an incident was declared from to the declaration, \
             by severity; incidents declared by hand and drills left out.",
            |t| &t.detect,
        ),
        (
            "warroom_incident_time_to_acknowledge_seconds",
            "Time from declaration to acknowledgement, by severity; drills left out.",
            |t| &t.acknowledge,
        ),
        (
            "warroom_incident_time_to_mitigate_seconds",
            "Time from declaration to mitigation (monitoring, or resolved directly), by severity; \
             drills left out.",
            |t| &t.mitigate,
        ),
        (
            "warroom_incident_time_to_resolve_seconds",
            "Time from declaration to resolution, by severity; drills left out.",
            |t| &t.resolve,
        ),
    ];
    for (name, help, of) in durations {
        histogram(out, name, help, &histograms(of));
    }
}

/// Which of a severity's duration histograms a family shows.
type Milestone = fn(&SeverityTotals) -> &DurationHistogram;

/// Writes one counter family, a sample per severity.
fn counter(out: &mut String, name: &str, help: &str, samples: &[(&str, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (severity, value) in samples {
        let _ = writeln!(out, "{name}{{severity=\"{}\"}} {value}", escape(severity));
    }
}

/// Writes one histogram family: cumulative buckets, `_sum` (seconds) and `_count`
/// per severity.
fn histogram(out: &mut String, name: &str, help: &str, samples: &[(&str, &DurationHistogram)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (severity, histogram) in samples {
        let severity = escape(severity);
        for (bound, count) in DURATION_BUCKETS.iter().zip(histogram.cumulative) {
            let _ = writeln!(
                out,
                "{name}_bucket{{severity=\"{severity}\",le=\"{bound}\"}} {count}"
            );
        }
        let count = histogram.count;
        let sum = histogram.sum_millis as f64 / 1000.0;
        let _ = writeln!(
            out,
            "{name}_bucket{{severity=\"{severity}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(out, "{name}_sum{{severity=\"{severity}\"}} {sum}");
        let _ = writeln!(out, "{name}_count{{severity=\"{severity}\"}} {count}");
    }
}

/// Writes one gauge family: HELP, TYPE and a sample per (label, value).
fn gauge(out: &mut String, name: &str, help: &str, samples: &[(Option<(&str, &str)>, f64)]) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (label, value) in samples {
        match label {
            Some((key, label_value)) => {
                let _ = writeln!(out, "{name}{{{key}=\"{}\"}} {value}", escape(label_value));
            }
            None => {
                let _ = writeln!(out, "{name} {value}");
            }
        }
    }
}

/// A label value as the exposition format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_are_written_in_exposition_format() {
        let mut out = String::new();
        gauge(
            &mut out,
            "g",
            "A gauge.",
            &[(Some(("severity", "se\"v\\1")), 2.0), (None, 0.5)],
        );
        assert_eq!(
            out,
            "# HELP g A gauge.\n# TYPE g gauge\ng{severity=\"se\\\"v\\\\1\"} 2\ng 0.5\n"
        );
    }

    #[test]
    fn histograms_are_written_cumulative_with_sum_in_seconds_and_count() {
        let mut out = String::new();
        let observed = DurationHistogram {
            cumulative: [0, 1, 1, 1, 1, 1, 1, 1, 2],
            count: 3,
            sum_millis: 90_500,
        };
        histogram(&mut out, "h", "A histogram.", &[("sev1", &observed)]);
        let expected = [
            "# HELP h A histogram.",
            "# TYPE h histogram",
            "h_bucket{severity=\"sev1\",le=\"60\"} 0",
            "h_bucket{severity=\"sev1\",le=\"300\"} 1",
            "h_bucket{severity=\"sev1\",le=\"900\"} 1",
            "h_bucket{severity=\"sev1\",le=\"1800\"} 1",
            "h_bucket{severity=\"sev1\",le=\"3600\"} 1",
            "h_bucket{severity=\"sev1\",le=\"7200\"} 1",
            "h_bucket{severity=\"sev1\",le=\"14400\"} 1",
            "h_bucket{severity=\"sev1\",le=\"43200\"} 1",
            "h_bucket{severity=\"sev1\",le=\"86400\"} 2",
            "h_bucket{severity=\"sev1\",le=\"+Inf\"} 3",
            "h_sum{severity=\"sev1\"} 90.5",
            "h_count{severity=\"sev1\"} 3",
        ];
        assert_eq!(out, expected.map(|line| format!("{line}\n")).concat());
    }
}
