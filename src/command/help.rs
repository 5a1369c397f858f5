//! `/incident help [topic]`, and the help text itself, rendered from the same
//! [`Spec`]s the parser uses.

use super::parse::Cursor;
use super::{
    Command, Context, ErrorKind, SeverityWords, Spec, Subcommand, severity, specs, suggest,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    /// A subcommand to explain; the overview without one.
    pub topic: Option<String>,
}

pub(super) const HELP: Spec = Spec {
    usage: &["/incident help [topic]"],
    summary: "Show this overview, or the details of one subcommand.",
    help: "Without a topic, lists every subcommand. With one (a subcommand name), \
           explains it with examples.",
    examples: &["/incident help", "/incident help status"],
    ..Spec::standalone(Subcommand::Help, parse)
};

/// How help names an incident explicitly, in examples and notes.
const EXAMPLE_ID: &str = "INC-20261123-001";

fn parse(cursor: &mut Cursor<'_>, _: Context<'_>) -> Result<Command, ErrorKind> {
    let topic = match cursor.take() {
        Some(word) => Some(topic_named(word)?.name().to_string()),
        None => None,
    };
    Ok(Command::Help(Help { topic }))
}

/// The subcommand a help topic names, or an error suggesting the nearest one.
fn topic_named(word: &str) -> Result<Subcommand, ErrorKind> {
    Subcommand::named(word).ok_or_else(|| ErrorKind::UnknownTopic {
        word: word.to_string(),
        suggestion: suggest::nearest(word, Subcommand::typed().map(Subcommand::name))
            .map(str::to_string),
    })
}

/// Every subcommand with its usage and summary, then the severities configured.
pub(super) fn overview(severities: &dyn SeverityWords) -> String {
    let mut out = String::from("*warroom* — run incidents from chat.\n");
    for sub in specs() {
        for usage in sub.usage {
            out.push_str(&format!("\n`{usage}`"));
        }
        out.push_str(&format!("\n    {}", sub.summary));
    }
    out.push_str(&format!(
        "\n\nSeverities: {}.\nIn a war room the incident is implied; elsewhere, name it after the subcommand: `/incident ack {EXAMPLE_ID}`.\nDetails: `/incident help <subcommand>`.",
        severity::describe(severities)
    ));
    out
}

/// One subcommand in detail: usage, explanation, examples.
pub(super) fn topic(word: &str, severities: &dyn SeverityWords) -> Result<String, ErrorKind> {
    let sub = topic_named(word)?.spec();
    let mut out = String::new();
    for usage in sub.usage {
        out.push_str(&format!("`{usage}`\n"));
    }
    out.push_str(&format!("{}\n\n{}", sub.summary, sub.help));
    if [Subcommand::Declare, Subcommand::Severity].contains(&sub.subcommand) {
        out.push_str(&format!(
            "\n\nSeverities: {}.",
            severity::describe(severities)
        ));
    }
    if sub.names_incident {
        out.push_str(&format!(
            "\n\nIn a war room it acts on that room's incident; elsewhere, name the incident first: `/incident {} {EXAMPLE_ID} …`.",
            sub.name()
        ));
    }
    out.push_str("\n\nExamples:");
    for example in sub.examples {
        out.push_str(&format!("\n• `{example}`"));
    }
    Ok(out)
}
