//! The postmortem draft: Markdown following the team's template, made from what
//! warroom recorded about an incident.
//!
//! Owns: the draft's layout, its durations and targets, and escaping user text so
//! it cannot break the Markdown (tables, headings, links).
//! Must not: read the store or the clock, or post anything — the caller gathers the
//! incident, its timeline, follow-ups and public updates, and decides where the
//! text goes.

use super::layouts::{duration, who};
use super::{Block, Field, Inline, Message};
use crate::config::Config;
use crate::domain::{
    ActionRun, EventKind, FollowUp, Incident, IncidentRecord, Platform, Role, RunStatus,
    StatusUpdate, TimelineEvent,
};
use chrono::{DateTime, Offset, TimeDelta, Utc};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

/// Everything the draft is made from, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct PostmortemRecord<'a> {
    pub incident: &'a Incident,
    /// In time order, as the store returns it.
    pub timeline: &'a [TimelineEvent],
    pub followups: &'a [FollowUp],
    /// The public updates; the one given when the cause was identified is the root cause.
    pub updates: &'a [StatusUpdate],
    /// Runs of recovery actions, oldest first.
    pub action_runs: &'a [ActionRun],
}

impl<'a> PostmortemRecord<'a> {
    /// The draft's view of an incident's whole record.
    pub fn of(record: &'a IncidentRecord) -> Self {
        Self {
            incident: &record.incident,
            timeline: &record.timeline,
            followups: &record.followups,
            updates: &record.updates,
            action_runs: &record.action_runs,
        }
    }
}

/// The postmortem draft as Markdown.
pub fn postmortem(record: &PostmortemRecord<'_>, config: &Config) -> String {
    Draft::new(record, config).text
}

/// The draft within `max_bytes`, for platforms that limit a file's size. It is
/// the whole draft when that fits; otherwise timeline events are left out from
/// the middle (the start and the end of an incident say the most), and a line
/// where they were says how many and where the whole draft is.
pub fn postmortem_within(
    record: &PostmortemRecord<'_>,
    config: &Config,
    max_bytes: usize,
) -> String {
    let draft = Draft::new(record, config);
    if draft.text.len() <= max_bytes {
        return draft.text;
    }
    let total = draft.line_ends.len();
    let url = draft_url(record.incident, config);
    let notice = |left_out: usize| {
        format!(
            "- _… {left_out} of {total} timeline events are left out here to keep this file \
             within the chat platform's size limit. The whole draft is at <{url}> (needs the \
             API token)._\n"
        )
    };
    let text = draft.text.as_str();
    let (lines_start, lines_end) = (draft.lines_start, draft.lines_end());
    // The notice is sized for the most it can say, so what is kept never outgrows it.
    let fixed = text.len() - (lines_end - lines_start) + notice(total).len();
    let budget = max_bytes.saturating_sub(fixed);
    let start_of = |line: usize| {
        line.checked_sub(1)
            .map_or(lines_start, |before| draft.line_ends[before])
    };
    // Whole lines from the start, up to half the budget; then whole lines from
    // the end, as many as the rest of it takes.
    let first = draft
        .line_ends
        .partition_point(|&end| end - lines_start <= budget / 2);
    let room = budget - (start_of(first) - lines_start);
    let resume = (first..total)
        .find(|&line| lines_end - start_of(line) <= room)
        .unwrap_or(total);
    let mut out = String::with_capacity(max_bytes);
    out.push_str(&text[..start_of(first)]);
    if resume > first {
        out.push_str(&notice(resume - first));
    }
    out.push_str(&text[start_of(resume)..]);
    if out.len() > max_bytes {
        // Only sections other than the timeline can be this long (thousands of
        // follow-ups): keep what fits, cut at a character boundary, and say so.
        let rest = format!(
            "\n_… the rest of this draft is left out to keep this file within the chat \
             platform's size limit. The whole draft is at <{url}> (needs the API token)._\n"
        );
        let mut end = max_bytes.saturating_sub(rest.len());
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str(&rest);
    }
    out
}

/// The whole draft, with where its timeline's lines are, so a size limit can be
/// met by leaving some of them out.
struct Draft {
    text: String,
    /// Where the first timeline line starts.
    lines_start: usize,
    /// Where each timeline line (one per event) ends.
    line_ends: Vec<usize>,
}

impl Draft {
    fn new(record: &PostmortemRecord<'_>, config: &Config) -> Self {
        let incident = record.incident;
        let mut text = String::with_capacity(
            4096 + record.timeline.len() * 112 + record.action_runs.len() * 128,
        );
        header(&mut text, incident, config);
        summary(&mut text, incident, config);
        impact(&mut text, incident, config);
        let (lines_start, line_ends) = timeline(&mut text, record, config);
        root_cause(&mut text, record);
        resolution(&mut text, incident);
        actions_taken(&mut text, incident, record.action_runs, config);
        text.push_str(
            "\n## What went well\n\n_To fill in._\n\
             \n## What went wrong\n\n_To fill in._\n\
             \n## Where we got lucky\n\n_To fill in._\n",
        );
        action_items(&mut text, incident, record.followups, config);
        text.push_str("\n## Lessons learned\n\n_To fill in._\n");
        metrics(&mut text, incident, config);
        Self {
            text,
            lines_start,
            line_ends,
        }
    }

    fn lines_end(&self) -> usize {
        self.line_ends.last().copied().unwrap_or(self.lines_start)
    }
}

/// Where the whole draft can be read: the JSON API's Markdown answer.
fn draft_url(incident: &Incident, config: &Config) -> String {
    format!(
        "{}/api/incidents/{}/postmortem.md",
        config.public_url().trim_end_matches('/'),
        incident.id
    )
}

/// Posted in the war room with the draft: the headline numbers as fields (a
/// Discord embed, Slack section fields) and where the whole draft is always
/// served (the JSON API's Markdown answer, behind the API token).
pub fn postmortem_posted(incident: &Incident, config: &Config) -> Message {
    let since = |at: Option<DateTime<Utc>>| {
        at.map(|at| duration(at - incident.declared_at))
            .unwrap_or_else(|| "not reached".into())
    };
    let severity = match config.severity(&incident.severity) {
        Some(s) => format!("{} ({})", incident.severity, s.label),
        None => incident.severity.to_string(),
    };
    let field = |label: &str, value: String| Field {
        label: label.into(),
        value: vec![Inline::Text(value)],
    };
    Message {
        blocks: vec![
            Block::Heading(vec![Inline::Text(format!(
                "Postmortem draft · {} · {} · {}",
                incident.id, incident.severity, incident.title
            ))]),
            Block::Fields(
                [
                    field("Severity", severity),
                    field("Duration", incident_duration(incident, config)),
                ]
                .into_iter()
                .chain(
                    incident
                        .detected_at
                        .map(|at| field("Time to detect", duration(incident.declared_at - at))),
                )
                .chain([
                    field("Time to acknowledge", since(incident.acknowledged_at)),
                    field("Time to mitigate", since(incident.mitigated_at)),
                    field("Time to resolve", since(incident.resolved_at)),
                ])
                .collect(),
            ),
            Block::Paragraph(vec![
                Inline::Text(
                    "The draft is attached, made from the timeline, updates, actions and \
                     follow-ups as they stand now; fill in the prompts. Always the latest: "
                        .into(),
                ),
                Inline::Link {
                    label: "postmortem.md".into(),
                    url: draft_url(incident, config),
                },
                Inline::Text(" (needs the API token).".into()),
            ]),
        ],
    }
}

fn header(out: &mut String, incident: &Incident, config: &Config) {
    let drill = if incident.drill { "[DRILL] " } else { "" };
    let _ = writeln!(out, "# {drill}Postmortem: {}\n", text(&incident.title));
    let severity = match config.severity(&incident.severity) {
        Some(s) => format!("{} ({})", incident.severity, text(&s.label)),
        None => incident.severity.to_string(),
    };
    let zone = config.timezone();
    let _ = writeln!(out, "- **Incident:** {}", incident.id);
    let _ = writeln!(out, "- **Severity:** {severity}");
    let _ = writeln!(
        out,
        "- **Date:** {}",
        incident.declared_at.with_timezone(&zone).format("%Y-%m-%d")
    );
    let _ = writeln!(
        out,
        "- **Duration:** {}",
        incident_duration(incident, config)
    );
    for role in Role::ALL {
        let holder = incident
            .holder(role)
            .map(|user| text(&who(user, incident.platform, config)))
            .unwrap_or_else(|| "nobody".into());
        let _ = writeln!(out, "- **{}:** {holder}", role.title());
    }
}

fn incident_duration(incident: &Incident, config: &Config) -> String {
    let declared = local_time(incident.declared_at, config);
    match incident.resolved_at {
        Some(resolved) => format!(
            "{} ({declared} – {})",
            duration(resolved - incident.declared_at),
            local_time(resolved, config)
        ),
        None => format!("still open (declared {declared})"),
    }
}

fn summary(out: &mut String, incident: &Incident, config: &Config) {
    let _ = write!(
        out,
        "\n## Summary\n\n{} incident declared at {} by {}",
        incident.severity,
        local_time(incident.declared_at, config),
        text(&who(&incident.declared_by, incident.platform, config)),
    );
    match incident.resolved_at {
        Some(resolved) => {
            let _ = writeln!(
                out,
                ", resolved after {}.",
                duration(resolved - incident.declared_at)
            );
        }
        None => out.push_str(", not resolved yet.\n"),
    }
    out.push_str(
        "\n_To fill in: what happened and who was affected, in two or three sentences._\n",
    );
}

fn impact(out: &mut String, incident: &Incident, config: &Config) {
    out.push_str("\n## Impact\n\n");
    if incident.services.is_empty() {
        out.push_str("_No services were named when the incident was declared; list the affected services and users._\n");
        return;
    }
    let outage = incident
        .resolved_at
        .map(|resolved| resolved - incident.declared_at);
    out.push_str("| Service | RTO | Outage | RTO met | RPO |\n|---|---|---|---|---|\n");
    for name in &incident.services {
        let service = config.service(name);
        let rto = service.and_then(|s| s.rto);
        let rpo = service.and_then(|s| s.rpo);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            text(name),
            target(rto),
            outage.map(duration).unwrap_or_else(|| "ongoing".into()),
            met(outage, rto),
            match rpo {
                Some(rpo) => format!("{} (check data loss against it)", std_duration(rpo)),
                None => "none configured".into(),
            },
        );
    }
    out.push_str("\n_To fill in: who was affected and how._\n");
}

/// Writes the timeline, one line per event; returns where its first line starts
/// and where each line ends.
fn timeline(
    out: &mut String,
    record: &PostmortemRecord<'_>,
    config: &Config,
) -> (usize, Vec<usize>) {
    let zone = config.timezone();
    let incident = record.incident;
    let _ = writeln!(out, "\n## Timeline\n\nTimes are in {zone}.\n");
    if record.timeline.is_empty() {
        out.push_str("_Nothing was recorded._\n");
        return (out.len(), Vec::new());
    }
    let start = out.len();
    let mut offsets = record
        .timeline
        .iter()
        .map(|event| event.at.with_timezone(&zone).offset().fix());
    // When the clocks change during the incident, an hour can read twice: every
    // line then names its zone offset (e.g. CEST, CET), so none is ambiguous.
    let mut seen = None;
    let changes_offset = offsets.any(|offset| {
        let changed = seen.is_some_and(|first| first != offset);
        seen.get_or_insert(offset);
        changed
    });
    let first_day = incident.declared_at.with_timezone(&zone).date_naive();
    let names = people_ids(config, incident.platform);
    let mut ends = Vec::with_capacity(record.timeline.len());
    for event in record.timeline {
        let local = event.at.with_timezone(&zone);
        let format = if local.date_naive() == first_day {
            "- %H:%M"
        } else {
            "- %Y-%m-%d %H:%M"
        };
        let _ = write!(out, "{}", local.format(format));
        if changes_offset {
            let _ = write!(out, " {}", local.format("%Z"));
        }
        match milestone(incident, event) {
            Some(name) => {
                let _ = writeln!(
                    out,
                    " — **{name}** — {}",
                    text(&with_names(&event.text, &names))
                );
            }
            None => {
                let _ = writeln!(out, " — {}", text(&with_names(&event.text, &names)));
            }
        }
        ends.push(out.len());
    }
    (start, ends)
}

/// The configured people's ids on `platform`, each with the name the draft
/// shows for them elsewhere (their key).
fn people_ids(config: &Config, platform: Platform) -> HashMap<String, &str> {
    config
        .people()
        .filter_map(|person| {
            let id = config.person_id(&person.key, platform)?;
            Some((id.as_str().to_owned(), person.key.as_str()))
        })
        .collect()
}

/// `text` with every word that is a configured person's id replaced by their
/// name: the timeline records platform ids (`U024BE7LH`), which mean nothing to
/// someone reading the postmortem later.
fn with_names<'t>(text: &'t str, names: &HashMap<String, &str>) -> Cow<'t, str> {
    if names.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut words = text
        .char_indices()
        .filter(|(_, c)| !c.is_ascii_alphanumeric())
        .map(|(at, c)| (at, at + c.len_utf8()))
        .chain(std::iter::once((text.len(), text.len())));
    let mut start = 0;
    for (end, next) in &mut words {
        if let Some(name) = names.get(&text[start..end]) {
            out.push_str(&text[copied..start]);
            out.push_str(name);
            copied = end;
        }
        start = next;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The milestone an event marks, if any: the first time the incident was
/// identified or mitigated counts, as the incident's own timestamps say.
fn milestone(incident: &Incident, event: &TimelineEvent) -> Option<&'static str> {
    match event.kind {
        EventKind::Declared => Some("Declared"),
        EventKind::Acknowledged => Some("Acknowledged"),
        EventKind::Resolved => Some("Resolved"),
        EventKind::StatusChanged if Some(event.at) == incident.identified_at => Some("Identified"),
        EventKind::StatusChanged if Some(event.at) == incident.mitigated_at => Some("Mitigated"),
        _ => None,
    }
}

fn root_cause(out: &mut String, record: &PostmortemRecord<'_>) {
    out.push_str("\n## Root cause\n\n");
    let identified = record.incident.identified_at;
    let cause = record
        .updates
        .iter()
        .find(|update| identified.is_some() && Some(update.at) == identified);
    match cause {
        Some(update) => {
            let _ = writeln!(out, "{}", text(&update.text));
            out.push_str("\n_To fill in: why it happened, and why it was not caught earlier._\n");
        }
        None => {
            out.push_str("_To fill in: no cause was given when the incident was identified._\n")
        }
    }
}

fn resolution(out: &mut String, incident: &Incident) {
    out.push_str("\n## Resolution\n\n");
    match (&incident.summary, incident.resolved_at) {
        (Some(summary), Some(_)) => {
            let _ = writeln!(out, "{}", text(summary));
        }
        (_, Some(_)) => out.push_str("_To fill in: how service was restored._\n"),
        (_, None) => out.push_str("_The incident is not resolved yet._\n"),
    }
}

fn actions_taken(out: &mut String, incident: &Incident, runs: &[ActionRun], config: &Config) {
    out.push_str("\n## Actions taken\n\n");
    if runs.is_empty() {
        out.push_str("No recovery actions were run through warroom.\n");
        return;
    }
    out.push_str(
        "| Run | Action | Parameters | Requested by | Approved by | Result | Duration |\n\
         |---|---|---|---|---|---|---|\n",
    );
    let person = |user| text(&who(user, incident.platform, config));
    for run in runs {
        // The stored parameters include those every action gets from the incident
        // (id, title, room, …); only the ones the action takes say what was asked.
        let declared = config.action(&run.action).map(|action| &action.params);
        let params = run
            .params
            .iter()
            .filter(|(name, _)| declared.is_none_or(|declared| declared.contains_key(*name)))
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            run.id,
            text(&run.action),
            if params.is_empty() {
                "—".into()
            } else {
                text(&params)
            },
            person(&run.requested_by),
            run.approved_by
                .as_ref()
                .map(person)
                .unwrap_or_else(|| "—".into()),
            run_result(run),
            run_duration(run),
        );
    }
}

/// How a run ended (or where it is), with its one-line detail.
fn run_result(run: &ActionRun) -> String {
    let state = match run.status {
        RunStatus::AwaitingApproval => "awaiting approval",
        RunStatus::Pending => "not started yet",
        RunStatus::Queued => "queued",
        RunStatus::Running => "running",
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
        RunStatus::TimedOut => "timed out",
        RunStatus::Cancelled => "cancelled",
        RunStatus::Interrupted => "interrupted",
        RunStatus::Skipped => "skipped",
    };
    match run.result.as_deref().map(str::trim) {
        Some(detail) if !detail.is_empty() => format!("{state}: {}", text(detail)),
        _ => state.to_string(),
    }
}

/// From start to finish, to the second: runs are short, and `4m` would hide
/// whether one took 4 or nearly 5 minutes.
fn run_duration(run: &ActionRun) -> String {
    match (run.started_at, run.finished_at) {
        (Some(started), Some(finished)) => {
            let seconds = (finished - started).num_seconds().max(0);
            if (60..3600).contains(&seconds) {
                format!("{}m {}s", seconds / 60, seconds % 60)
            } else {
                duration(finished - started)
            }
        }
        (Some(_), None) => "still running".into(),
        _ => "not started".into(),
    }
}

fn action_items(out: &mut String, incident: &Incident, followups: &[FollowUp], config: &Config) {
    out.push_str("\n## Action items\n\n");
    if followups.is_empty() {
        out.push_str(
            "_No follow-ups were recorded. Add them with `/incident followup <text> [@owner] [due:YYYY-MM-DD]`._\n",
        );
        return;
    }
    out.push_str("| # | Action | Owner | Due | Status |\n|---|---|---|---|---|\n");
    for item in followups {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            item.number,
            text(&item.text),
            item.owner
                .as_ref()
                .map(|owner| text(&who(owner, incident.platform, config)))
                .unwrap_or_else(|| "—".into()),
            item.due
                .map(|due| due.to_string())
                .unwrap_or_else(|| "—".into()),
            if item.done { "done" } else { "open" },
        );
    }
}

fn metrics(out: &mut String, incident: &Incident, config: &Config) {
    out.push_str("\n## Metrics\n\n| Metric | Actual | Target | Met |\n|---|---|---|---|\n");
    let since = |at: Option<DateTime<Utc>>| at.map(|at| at - incident.declared_at);
    let respond_within = config
        .severity(&incident.severity)
        .map(|s| s.respond_within);
    // Mitigation restores service, so the tightest RTO of the affected services is
    // its target; resolving has no target of its own in the config.
    let rto = incident
        .services
        .iter()
        .filter_map(|name| config.service(name).and_then(|s| s.rto))
        .min();
    // Time to detect, from the alerts' start, is known only when alerts declared it.
    let detect = incident
        .detected_at
        .map(|at| ("Time to detect", Some(incident.declared_at - at), None));
    let rows = detect.into_iter().chain([
        (
            "Time to acknowledge",
            since(incident.acknowledged_at),
            respond_within,
        ),
        ("Time to mitigate", since(incident.mitigated_at), rto),
        ("Time to resolve", since(incident.resolved_at), None),
    ]);
    for (name, actual, goal) in rows {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            actual.map(duration).unwrap_or_else(|| "not reached".into()),
            target(goal),
            met(actual, goal),
        );
    }
}

fn target(goal: Option<std::time::Duration>) -> String {
    goal.map(std_duration)
        .unwrap_or_else(|| "none configured".into())
}

fn met(actual: Option<TimeDelta>, goal: Option<std::time::Duration>) -> String {
    match (actual, goal.and_then(|g| TimeDelta::from_std(g).ok())) {
        (Some(actual), Some(goal)) if actual <= goal => "yes".into(),
        (Some(actual), Some(goal)) => format!("no, by {}", duration(actual - goal)),
        (None, Some(_)) => "not yet".into(),
        (_, None) => "—".into(),
    }
}

fn std_duration(goal: std::time::Duration) -> String {
    TimeDelta::from_std(goal)
        .map(duration)
        .unwrap_or_else(|_| format!("{}s", goal.as_secs()))
}

/// A time of day with its zone, e.g. `14:05 UTC`.
fn local_time(at: DateTime<Utc>, config: &Config) -> String {
    super::layouts::clock_time(at, config)
}

/// User-written text made safe inside a Markdown line or table cell: line breaks
/// become spaces (a newline would end a table row or start a heading), and the
/// characters that make tables, emphasis, code, links or HTML are escaped.
fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for c in raw.chars() {
        if c == '\n' || c == '\r' {
            pending_space = true;
            continue;
        }
        if pending_space {
            if !out.is_empty() && !out.ends_with(' ') && c != ' ' {
                out.push(' ');
            }
            pending_space = false;
        }
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Cow, HashMap, text, with_names};

    #[test]
    fn platform_ids_in_timeline_text_read_as_names() {
        let names = HashMap::from([("UALICE".to_owned(), "alice"), ("42".to_owned(), "bob")]);
        assert_eq!(
            with_names(
                "Incident commander → UALICE (was 42); UALICE2 and x42y stay",
                &names
            ),
            "Incident commander → alice (was bob); UALICE2 and x42y stay"
        );
        assert!(matches!(
            with_names("nobody here", &names),
            Cow::Borrowed(_)
        ));
        assert_eq!(with_names("42", &names), "bob");
    }

    #[test]
    fn user_text_cannot_break_a_table_or_start_a_heading() {
        assert_eq!(text("a | b\n# not a heading"), "a \\| b \\# not a heading");
        assert_eq!(text("line\r\nnext"), "line next");
        assert_eq!(
            text("<!channel> *bold* [x](y)"),
            "&lt;!channel&gt; \\*bold\\* \\[x\\](y)"
        );
        assert_eq!(text("C:\\path"), "C:\\\\path");
    }
}
