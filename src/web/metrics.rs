//! `GET /metrics`: Prometheus text.
//!
//! Two sources: what this process counted (commands, acknowledgement latency,
//! deliveries; see [`crate::telemetry`]), and what the database holds right now
//! (outbox depth and age, open incidents per severity), read at scrape time so the
//! numbers are true whichever replica answers. If the database does not answer,
//! the process's own series are still served, with `warroom_database_up 0`.

use super::WebState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    let database = database_gauges(&state).await;
    text.push_str(&database);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// The gauges read from the store, in exposition format.
async fn database_gauges(state: &WebState) -> String {
    let mut out = String::new();
    let backlog = state.store.outbox_backlog(state.clock.now()).await;
    let open = state.store.open_incidents_by_severity().await;
    let up = backlog.is_ok() && open.is_ok();
    gauge(
        &mut out,
        "warroom_database_up",
        "Whether the database answered this scrape (1) or not (0).",
        &[(None, u64::from(up) as f64)],
    );
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
    out
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
}
