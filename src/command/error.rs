//! What a user sees when a command does not parse: what was wrong, the nearest valid
//! word when there is one, and the usage of the subcommand being parsed.

use super::Spec;
use crate::domain::TextError;
use std::fmt::Display;

/// A command that could not be parsed. Its `Display` is the whole reply to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}{}", footer(.subcommand, .usage))]
pub struct ParseError {
    pub kind: ErrorKind,
    /// The subcommand being parsed, once it was recognised.
    pub subcommand: Option<&'static str>,
    /// Its usage lines, shown under the message.
    pub usage: &'static [&'static str],
}

impl ParseError {
    /// An error before any subcommand was recognised.
    pub(super) fn general(kind: ErrorKind) -> Self {
        Self {
            kind,
            subcommand: None,
            usage: &[],
        }
    }

    pub(super) fn in_subcommand(kind: ErrorKind, sub: &Spec) -> Self {
        Self {
            kind,
            subcommand: Some(sub.name()),
            usage: sub.usage,
        }
    }
}

/// What was wrong. Words from the user are echoed bounded and without control characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("The command is empty.")]
    Empty,
    /// A word that names none of the things it must be one of: `what` says which
    /// (subcommand, role, status, flag).
    #[error("Unknown {what} `{}`{}", shown(.word), did_you_mean(.suggestion))]
    Unknown {
        what: &'static str,
        word: String,
        suggestion: Option<String>,
    },
    #[error("Unknown severity `{}`{} Severities: {known}.", shown(.word), did_you_mean(.suggestion))]
    UnknownSeverity {
        word: String,
        suggestion: Option<String>,
        /// The configured severities with their aliases, as help lists them.
        known: String,
    },
    #[error("No help on `{}`{}", shown(.word), did_you_mean(.suggestion))]
    UnknownTopic {
        word: String,
        suggestion: Option<String>,
    },
    #[error("`{flag}` only applies to `/incident {only}`.")]
    FlagNotHere { flag: String, only: &'static str },
    #[error("Missing {what}.")]
    Missing { what: &'static str },
    #[error("Unexpected `{}`.", shown(.word))]
    Unexpected { word: String },
    #[error("`{}` is not an incident id (expected INC-YYYYMMDD-NNN, e.g. INC-20261123-001).", shown(.word))]
    InvalidIncidentId { word: String },
    #[error("`{}` is not a time of day (expected HH:MM, 24-hour, e.g. 14:05).", shown(.word))]
    InvalidTime { word: String },
    #[error("`{}` is not a due date (expected due:YYYY-MM-DD, e.g. due:2026-12-01).", shown(.word))]
    InvalidDate { word: String },
    #[error("`{}` is not a follow-up number (expected its number from `/incident followups`, e.g. 3).", shown(.word))]
    InvalidNumber { word: String },
    #[error("`{}` is not a snooze (expected minutes up to a day, e.g. 30m, 1h or 45).", shown(.word))]
    InvalidSnooze { word: String },
    #[error("`{}` is not a window (expected 7d, 30d or 90d).", shown(.word))]
    InvalidWindow { word: String },
    #[error("`{}` is not a valid run (expected its number, e.g. 7 or #7).", shown(.word))]
    InvalidRun { word: String },
    #[error("`{}` is not a person: mention someone (`@alice`) or use their name from config.", shown(.word))]
    InvalidUser { word: String },
    #[error("`{}` is not a valid {what} (letters, digits, `.`, `_` and `-`, at most {max} characters).", shown(.word))]
    InvalidName {
        what: &'static str,
        word: String,
        max: usize,
    },
    #[error("`{}=` needs a value (no spaces around `=`).", shown(.key))]
    EmptyValue { key: String },
    #[error("{what} is given twice.")]
    Repeated { what: &'static str },
    #[error("{}.", capitalized(.0))]
    Text(#[from] TextError),
}

/// The most of a user's word an error echoes back.
const SHOWN_CHARS: usize = 40;

/// A user's word as it is safe to echo: bounded, without control characters, and
/// unable to close the backticks it is quoted in.
fn shown(word: &str) -> String {
    let mut out: String = word
        .chars()
        .take(SHOWN_CHARS)
        .map(|c| match c {
            '`' => '\'',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    if word.chars().nth(SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(near) => format!(" — did you mean `{near}`?"),
        None => ".".to_string(),
    }
}

fn capitalized(message: &impl Display) -> String {
    let message = message.to_string();
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => message,
    }
}

fn footer(subcommand: &Option<&str>, usage: &[&str]) -> String {
    let Some(name) = subcommand else {
        return "\nSee `/incident help` for every command.".to_string();
    };
    let mut out = String::new();
    for (i, line) in usage.iter().enumerate() {
        let label = if i == 0 { "Usage:" } else { "   or:" };
        out.push_str(&format!("\n{label} `{line}`"));
    }
    out.push_str(&format!("\nMore: `/incident help {name}`"));
    out
}
