//! `/incident snooze [minutes]`: push the next status-update reminder back.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand};
use crate::domain::IncidentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snooze {
    pub incident: Option<IncidentId>,
    /// Push the pending status-update reminder this many minutes from now.
    pub minutes: u32,
}

pub(super) const SNOOZE: Spec = Spec {
    usage: &["/incident snooze [30m|1h|<minutes>]"],
    summary: "Snooze the status-update reminder (30 minutes unless told).",
    help: "Moves the pending status-update reminder to that long from now; the \
           reminder's **Snooze 30 m** button does the same. Posting an update starts \
           the update clock again anyway.",
    examples: &[
        "/incident snooze",
        "/incident snooze 1h",
        "/incident snooze INC-20261123-001 45",
    ],
    ..Spec::on_incident(Subcommand::Snooze, parse)
};

/// Longer than a day is not a snooze; change the severity instead.
const MAX_MINUTES: u32 = 24 * 60;

/// What the reminder button snoozes by when the command names no duration.
const DEFAULT_MINUTES: u32 = 30;

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    let minutes = match cursor.take() {
        None => DEFAULT_MINUTES,
        Some(word) => minutes(word).ok_or_else(|| ErrorKind::InvalidSnooze {
            word: word.to_string(),
        })?,
    };
    Ok(Command::Snooze(Snooze {
        incident: ctx.incident,
        minutes,
    }))
}

/// `45`, `45m`, `2h` → minutes, within a day.
pub(super) fn minutes(word: &str) -> Option<u32> {
    let lower = word.to_ascii_lowercase();
    let (number, factor) = if let Some(hours) = lower.strip_suffix('h') {
        (hours, 60)
    } else if let Some(minutes) = lower.strip_suffix('m') {
        (minutes, 1)
    } else {
        (lower.as_str(), 1)
    };
    number
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|m| (1..=MAX_MINUTES).contains(m))
}
