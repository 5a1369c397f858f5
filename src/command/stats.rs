//! `/incident stats [7d|30d|90d]`: how incidents went over a window.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand};

/// The windows offered, as written and in days.
const WINDOWS: [(&str, u32); 3] = [("7d", 7), ("30d", 30), ("90d", 90)];

const DEFAULT_DAYS: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub days: u32,
}

pub(super) const STATS: Spec = Spec {
    usage: &["/incident stats [7d|30d|90d]"],
    summary: "Incident statistics over the last 7, 30 (default) or 90 days.",
    help: "Shows statistics for the incidents declared in the last 7, 30 or 90 days \
           (30 unless given).",
    examples: &["/incident stats", "/incident stats 90d"],
    ..Spec::standalone(Subcommand::Stats, parse)
};

fn parse(cursor: &mut Cursor<'_>, _: Context<'_>) -> Result<Command, ErrorKind> {
    let Some(word) = cursor.take() else {
        return Ok(Command::Stats(Stats { days: DEFAULT_DAYS }));
    };
    WINDOWS
        .iter()
        .find(|(window, _)| window.eq_ignore_ascii_case(word))
        .map(|(_, days)| Command::Stats(Stats { days: *days }))
        .ok_or_else(|| ErrorKind::InvalidWindow {
            word: word.to_string(),
        })
}
