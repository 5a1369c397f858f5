//! `/incident severity <sevN>`, and the severity words every subcommand shares.

use super::parse::Cursor;
use super::{Command, Context, ErrorKind, SeverityWords, Spec, Subcommand, suggest};
use crate::domain::{IncidentId, Severity};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSeverity {
    pub incident: Option<IncidentId>,
    pub severity: Severity,
}

pub(super) const SEVERITY: Spec = Spec {
    usage: &["/incident severity <sevN>"],
    summary: "Change the severity; re-plans update cadence and escalation.",
    help: "Moves the incident to another configured severity (a name or an alias). \
           The update cadence and escalation are planned again for the new severity.",
    examples: &[
        "/incident severity sev2",
        "/incident severity INC-20261123-001 p0",
    ],
    ..Spec::on_incident(Subcommand::Severity, parse)
};

fn parse(cursor: &mut Cursor<'_>, ctx: Context<'_>) -> Result<Command, ErrorKind> {
    let word = cursor.take_required("the new severity")?;
    Ok(Command::ChangeSeverity(ChangeSeverity {
        incident: ctx.incident,
        severity: resolve(word, ctx.severities)?,
    }))
}

/// A configured severity word, or an error naming the nearest one.
fn resolve(word: &str, severities: &dyn SeverityWords) -> Result<Severity, ErrorKind> {
    severities.resolve(word).ok_or_else(|| {
        let known = severities.words();
        let suggestion = suggest::nearest(word, known.iter().map(String::as_str));
        unknown(word, suggestion.map(str::to_string), severities)
    })
}

pub(super) fn unknown(
    word: &str,
    suggestion: Option<String>,
    severities: &dyn SeverityWords,
) -> ErrorKind {
    ErrorKind::UnknownSeverity {
        word: word.to_string(),
        suggestion,
        known: describe(severities),
    }
}

/// Whether an unknown word is still plainly meant as a severity (`sev9`, `P7`), so
/// it is reported as one instead of becoming part of a title.
pub(super) fn looks_like_severity(word: &str) -> bool {
    let lowered = word.to_ascii_lowercase();
    let digits = lowered
        .strip_prefix("sev")
        .or_else(|| lowered.strip_prefix('p'))
        .unwrap_or_default();
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The configured severities with their aliases: `` `sev1` (p0, critical), `sev2` ``.
pub(super) fn describe(severities: &dyn SeverityWords) -> String {
    let mut groups: Vec<(Severity, Vec<String>)> = Vec::new();
    for word in severities.words() {
        let Some(severity) = severities.resolve(&word) else {
            continue;
        };
        let alias = (!word.eq_ignore_ascii_case(severity.as_str())).then_some(word);
        match groups.iter_mut().find(|(known, _)| *known == severity) {
            Some((_, aliases)) => aliases.extend(alias),
            None => groups.push((severity, alias.into_iter().collect())),
        }
    }
    if groups.is_empty() {
        return "none configured".to_string();
    }
    groups
        .iter()
        .map(|(severity, aliases)| match aliases.as_slice() {
            [] => format!("`{}`", severity.as_str()),
            aliases => format!("`{}` ({})", severity.as_str(), aliases.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
