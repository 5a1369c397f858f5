//! `/incident stats`: the KPIs of a window of incidents as a message.
//!
//! Must not: compute the numbers (the domain does) or choose the window.

use super::layouts::duration;
use super::{Block, Inline, Message};
use crate::config::Config;
use crate::domain::{IncidentStats, Spread};

/// The stats of the incidents declared in the last `days` days, drills excluded.
pub fn stats(stats: &IncidentStats, days: u32, config: &Config) -> Message {
    if stats.incidents == 0 {
        return Message::text(format!(
            "No incidents were declared in the last {days} days (drills excluded)."
        ));
    }
    // Severities in the config's order of gravity; any no longer configured last.
    let mut counts: Vec<String> = config
        .severities()
        .iter()
        .filter_map(|s| {
            stats
                .by_severity
                .get(&s.name)
                .map(|count| format!("{} {count}", s.name))
        })
        .collect();
    counts.extend(
        stats
            .by_severity
            .iter()
            .filter(|(severity, _)| config.severity(severity).is_none())
            .map(|(severity, count)| format!("{severity} {count}")),
    );
    let line = |label: &str, value: String| {
        Block::Paragraph(vec![
            Inline::Strong(format!("{label}: ")),
            Inline::Text(value),
        ])
    };
    let of_all = |count: usize| format!("{count} of {}", stats.incidents);
    let mut blocks = vec![
        Block::Heading(vec![Inline::Text(format!(
            "Incident stats · last {days} days (drills excluded)"
        ))]),
        line(
            "Incidents",
            format!("{} — {}", stats.incidents, counts.join(", ")),
        ),
    ];
    // Only incidents declared from alerts know when the trouble began.
    if stats.detect.is_some() {
        blocks.push(line("Time to detect (MTTD)", spread(stats.detect)));
    }
    blocks.extend([
        line("Time to acknowledge (MTTA)", spread(stats.acknowledge)),
        line("Time to mitigate", spread(stats.mitigate)),
        line("Time to resolve (MTTR)", spread(stats.resolve)),
        line(
            "Response-time targets missed",
            of_all(stats.response_missed),
        ),
        line("Postmortems written", of_all(stats.postmortems)),
    ]);
    Message { blocks }
}

fn spread(spread: Option<Spread>) -> String {
    match spread {
        Some(s) => format!(
            "mean {}, p50 {}, p90 {} ({} incidents)",
            duration(s.mean),
            duration(s.p50),
            duration(s.p90),
            s.count
        ),
        None => "none reached yet".into(),
    }
}
