//! Process-wide metrics: the name, labels and buckets of every series warroom
//! records, and the one recorder they are recorded into.
//!
//! Owns: the `metrics` recorder (installed once per process, see [`install`]) and
//! the vocabulary of series; the engine and the dispatcher call the helpers here
//! instead of naming series themselves, so a name cannot drift between the place
//! that records it and the tests and dashboards that read it.
//! Must not: decide anything or read the store. Values that are a property of the
//! database rather than of this process (outbox depth, open incidents) are not
//! recorded here at all: `/metrics` reads them from the store when scraped, so
//! every replica reports the same truth.
//!
//! Series are process-wide: several apps in one process (tests) share them, so
//! tests compare values before and after rather than expecting exact counts.

use crate::domain::{Platform, Severity};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

pub const COMMANDS: &str = "warroom_commands_total";
pub const ACK_LATENCY: &str = "warroom_ack_latency_seconds";
pub const DELIVERIES: &str = "warroom_deliveries_total";
pub const DEAD_LETTERS: &str = "warroom_outbox_dead_letters_total";
pub const REMINDERS: &str = "warroom_reminders_total";
pub const REMINDER_LATENESS: &str = "warroom_reminder_lateness_seconds";
pub const ALERTS: &str = "warroom_alert_deliveries_total";

/// Acknowledgement targets run from minutes (sev1) to a day (sev4).
const ACK_BUCKETS: &[f64] = &[
    30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 86400.0,
];

/// A reminder should fire within a second of its time; minutes mean a backlog or
/// a restart after downtime.
const LATENESS_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0];

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Answered, and any change committed.
    Done,
    /// Refused with an explanation (bad state, no permission); nothing changed.
    Rejected,
    /// A request the platform sent again: the first answer was repeated.
    Replayed,
    /// The database failed; nothing changed.
    Error,
}

impl CommandOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandOutcome::Done => "done",
            CommandOutcome::Rejected => "rejected",
            CommandOutcome::Replayed => "replayed",
            CommandOutcome::Error => "error",
        }
    }
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryResult {
    Delivered,
    /// The platform answered 429; the operation waits as asked.
    RateLimited,
    /// A transient failure; the operation is tried again later.
    Retried,
    /// Given up for good.
    Failed,
}

impl DeliveryResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryResult::Delivered => "delivered",
            DeliveryResult::RateLimited => "rate_limited",
            DeliveryResult::Retried => "retried",
            DeliveryResult::Failed => "failed",
        }
    }
}

/// Something the engine observed in a command, recorded once the command committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// An incident was acknowledged this long after it was declared.
    Acknowledged {
        severity: Severity,
        latency: Duration,
    },
}

/// The process's recorder, installed on first use. `None` if another recorder was
/// installed first (warroom embedded in a program that records metrics its own
/// way): recording then goes there, and `/metrics` says it has nothing to show.
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(ACK_LATENCY.to_string()), ACK_BUCKETS)
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full(REMINDER_LATENESS.to_string()),
                        LATENESS_BUCKETS,
                    )
                })
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics recorder not installed; /metrics will be empty");
                    None
                }
            }
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        COMMANDS,
        "Commands handled, by kind and outcome (done, rejected, replayed, error)."
    );
    metrics::describe_histogram!(
        ACK_LATENCY,
        metrics::Unit::Seconds,
        "Time from declaring an incident to acknowledging it, by severity; drills left out."
    );
    metrics::describe_counter!(
        DEAD_LETTERS,
        "Outbox rows set aside for good, by platform and reason (unreadable, refused)."
    );
    metrics::describe_counter!(
        DELIVERIES,
        "Outbox delivery attempts, by platform and result (delivered, rate_limited, retried, failed)."
    );
    metrics::describe_counter!(
        REMINDERS,
        "Reminders and escalations that came due, by kind (update, response, escalate) and outcome (fired, skipped)."
    );
    metrics::describe_counter!(
        ALERTS,
        "Alert group deliveries from monitoring, by source and outcome (declared, proposed, joined, unrouted, kept)."
    );
    metrics::describe_histogram!(
        REMINDER_LATENESS,
        metrics::Unit::Seconds,
        "How long after its due time a reminder was handled, by kind."
    );
}

pub fn command_handled(kind: &'static str, outcome: CommandOutcome) {
    metrics::counter!(COMMANDS, "kind" => kind, "outcome" => outcome.as_str()).increment(1);
}

pub fn observe(observation: Observation) {
    match observation {
        Observation::Acknowledged { severity, latency } => {
            metrics::histogram!(ACK_LATENCY, "severity" => severity.as_str().to_string())
                .record(latency.as_secs_f64());
        }
    }
}

/// Why an outbox row was set aside for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetter {
    /// Its stored operation cannot be read by this release.
    Unreadable,
    /// The platform refused it, or it failed too often.
    Refused,
}

impl DeadLetter {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetter::Unreadable => "unreadable",
            DeadLetter::Refused => "refused",
        }
    }
}

/// An outbox row set aside; `platform` as stored, which may be one this release
/// does not know.
pub fn dead_letter(platform: &str, reason: DeadLetter) {
    metrics::counter!(DEAD_LETTERS, "platform" => platform.to_string(), "reason" => reason.as_str())
        .increment(1);
}

pub fn delivery(platform: Platform, result: DeliveryResult) {
    metrics::counter!(DELIVERIES, "platform" => platform.as_str(), "result" => result.as_str())
        .increment(1);
}

/// An alert group delivery from `source` (alertmanager, grafana) was recorded;
/// `outcome` says what it did. `unrouted` counts the ones no route took.
pub fn alert_delivery(source: &'static str, outcome: &'static str) {
    metrics::counter!(ALERTS, "source" => source, "outcome" => outcome).increment(1);
}

/// A reminder came due and was handled `lateness` after its time.
pub fn reminder(kind: &'static str, outcome: &'static str, lateness: Duration) {
    metrics::counter!(REMINDERS, "kind" => kind, "outcome" => outcome).increment(1);
    metrics::histogram!(REMINDER_LATENESS, "kind" => kind).record(lateness.as_secs_f64());
}
