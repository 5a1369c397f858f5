//! `/incident sev1 <title>` or `/incident declare [sevN] <title>`: open an incident.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, Spec, Subcommand, severity, words};
use crate::domain::{Severity, Title};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declare {
    pub severity: Option<Severity>,
    pub title: Title,
    pub services: Vec<String>,
    pub drill: bool,
    /// Asked for with `--private`; the severity's config may make it private too.
    pub private: bool,
}

/// Marks the incident as a practice run.
const DRILL: &str = "--drill";
/// Opens a private war room and keeps the incident off every public output.
const PRIVATE: &str = "--private";

pub(super) const DECLARE: Spec = Spec {
    usage: &[
        "/incident <sevN> <title> [service=NAME ...] [--drill] [--private]",
        "/incident declare [sevN] <title> [service=NAME ...] [--drill] [--private]",
    ],
    summary: "Declare an incident and open its war room.",
    help: "Declares an incident and opens its war room. A first word that is a severity \
           declares at that severity; `declare` without one leaves the severity to the \
           configured default, or warroom asks. `service=NAME` (repeatable) names an \
           affected service; every other word, other `key=value` words included, is the \
           title, kept as written. `--drill` marks a practice run. `--private` opens a \
           private war room that only the people assigned or invited see, announces only \
           that a private incident was declared and by whom, and keeps it off the status \
           page, the feed and the JSON API.",
    examples: &[
        "/incident sev1 checkout is down",
        "/incident p1 payments slow service=payments service=checkout",
        "/incident declare sev3 failover practice --drill",
        "/incident sev2 suspicious logins on the admin console --private",
        "/incident declare search results are empty",
    ],
    flags: &[DRILL, PRIVATE],
    ..Spec::standalone(Subcommand::Declare, parse)
};

/// Whether a word is one of declare's flags, which may come first (`--drill sev3 …`).
pub(super) fn is_flag(word: &str) -> bool {
    words::flag(word).is_some_and(|flag| DECLARE.flags.contains(&flag.as_str()))
}

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    let mut severity = None;
    let mut services: Vec<String> = Vec::new();
    let mut drill = false;
    let mut private = false;
    let mut title = Vec::new();
    for word in cursor.rest() {
        if let Some(flag) = words::flag(word) {
            match flag.as_str() {
                DRILL => drill = true,
                PRIVATE => private = true,
                _ => return Err(words::unknown("flag", &flag, DECLARE.flags.iter().copied())),
            }
            continue;
        }
        if let Some(service) = service(word)? {
            if !services.contains(&service) {
                services.push(service);
            }
            continue;
        }
        if severity.is_none() && title.is_empty() {
            if let Some(found) = ctx.severities.resolve(word) {
                severity = Some(found);
                continue;
            }
            if severity::looks_like_severity(word) {
                return Err(severity::unknown(word, None, ctx.severities));
            }
        }
        title.push(word);
    }
    if title.is_empty() {
        return Err(ErrorKind::Missing { what: "a title" });
    }
    Ok(Command::Declare(Declare {
        severity,
        title: Title::parse(&words::text(&title))?,
        services,
        drill,
        private,
    }))
}

/// The service a `service=NAME` word names. Other `key=value` words stay in the
/// title: only services mean something when declaring.
fn service(word: &str) -> Result<Option<String>, ErrorKind> {
    match words::param(word) {
        Some(("service", "")) => Err(ErrorKind::EmptyValue {
            key: "service".to_string(),
        }),
        Some(("service", value)) => {
            words::name("service name", &words::decode_slack_text(value)).map(Some)
        }
        _ => Ok(None),
    }
}
