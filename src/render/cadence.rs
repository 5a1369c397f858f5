//! The cadence layouts: status updates, update reminders, missed response
//! targets, escalations and paging notices. The fixed wording comes from askama
//! templates in `templates/`; the team's wording (`[phrases]`) arrives already
//! filled in; user text stays [`Inline::Text`], so every adapter escapes it.

use super::{Block, Button, Inline, Message, clock_time, drill_marked};
use crate::command::ButtonAction;
use crate::config::Config;
use crate::domain::{Incident, UserId, UserText};
use askama::Template;
use chrono::{DateTime, TimeDelta, Utc};

/// How long the reminder's button snoozes it.
pub const SNOOZE_MINUTES: u32 = 30;

#[derive(Template)]
#[template(path = "status_update.txt")]
struct StatusUpdateHeading<'a> {
    time: &'a str,
    severity: &'a str,
    status: &'a str,
}

#[derive(Template)]
#[template(path = "next_update.txt")]
struct NextUpdate<'a> {
    time: &'a str,
}

#[derive(Template)]
#[template(path = "reminder.txt")]
struct ReminderLine<'a> {
    last_update: Option<&'a str>,
    declared: &'a str,
}

#[derive(Template)]
#[template(path = "response_missed.txt")]
struct ResponseMissedLine<'a> {
    incident: &'a str,
    target: &'a str,
}

#[derive(Template)]
#[template(path = "escalated.txt")]
struct EscalatedLine<'a> {
    level: &'a str,
    reason: &'a str,
}

/// A template's text. The templates only print strings, which cannot fail to
/// format; should one ever fail, the message goes out without that piece rather
/// than not at all.
fn fill(template: &impl Template) -> String {
    template.render().unwrap_or_else(|error| {
        tracing::error!(%error, "a message template failed to render");
        String::new()
    })
}

/// `Status update 14:32 UTC · SEV1 · identified — <phrase> — <text> — next update by 14:47`.
pub fn status_update(
    incident: &Incident,
    phrase: Option<&str>,
    text: Option<&UserText>,
    next_update: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    config: &Config,
) -> Message {
    let heading = fill(&StatusUpdateHeading {
        time: &clock_time(at, config),
        severity: &incident.severity.to_string(),
        status: incident.status.as_str(),
    });
    let mut line = vec![Inline::Strong(heading)];
    if let Some(phrase) = phrase {
        line.push(Inline::Text(format!(" — {phrase}")));
    }
    if let Some(text) = text {
        line.push(Inline::Text(format!(" — {text}")));
    }
    if let Some(next) = next_update {
        let time = hour_minute(next, config);
        line.push(Inline::Text(format!(
            " — {}",
            fill(&NextUpdate { time: &time })
        )));
    }
    Message {
        blocks: vec![Block::Paragraph(drill_marked(incident, line))],
    }
}

/// "Status update due — last one 15 min ago", mentioning who should post it,
/// with guidance and a snooze button.
pub fn update_reminder(
    incident: &Incident,
    since_update: Option<TimeDelta>,
    since_declared: TimeDelta,
    mentions: &[UserId],
) -> Message {
    let last = since_update.map(minutes);
    let heading = fill(&ReminderLine {
        last_update: last.as_deref(),
        declared: &minutes(since_declared),
    });
    let mut line = vec![Inline::Strong(heading)];
    for user in mentions {
        line.push(Inline::Text(" ".into()));
        line.push(Inline::Mention(user.clone()));
    }
    let guidance = vec![Inline::Text(
        "Post update: `/incident update <text>`, or `/incident status <status> <text>` if the status moved."
            .into(),
    )];
    Message {
        blocks: vec![
            Block::Paragraph(drill_marked(incident, line)),
            Block::Paragraph(guidance),
            Block::Buttons(vec![Button {
                action: ButtonAction::Snooze(SNOOZE_MINUTES).to_string(),
                value: incident.id.to_string(),
                label: format!("Snooze {SNOOZE_MINUTES} m"),
            }]),
        ],
    }
}

/// The acknowledge target passed without an ack.
pub fn response_missed(
    incident: &Incident,
    target: TimeDelta,
    commander: Option<&UserId>,
) -> Message {
    let text = fill(&ResponseMissedLine {
        incident: incident.id.as_str(),
        target: &minutes(target),
    });
    let mut line = vec![Inline::Strong(text)];
    if let Some(commander) = commander {
        line.push(Inline::Text(" ".into()));
        line.push(Inline::Mention(commander.clone()));
    }
    line.push(Inline::Text(
        " Acknowledge with `/incident ack` once someone is on it.".into(),
    ));
    Message::line(drill_marked(incident, line))
}

/// An escalation level called in: who, why, and whether they were paged.
pub fn escalated(
    incident: &Incident,
    level: &str,
    reason: &str,
    people: &[UserId],
    unreachable: &[String],
    paging: &str,
) -> Message {
    let mut line = vec![Inline::Strong(fill(&EscalatedLine { level, reason }))];
    for user in people {
        line.push(Inline::Text(" ".into()));
        line.push(Inline::Mention(user.clone()));
    }
    if people.is_empty() {
        line.push(Inline::Text(
            " nobody in this level can be reached here.".into(),
        ));
    } else {
        line.push(Inline::Text(" — please join the war room.".into()));
    }
    if !unreachable.is_empty() {
        line.push(Inline::Text(format!(
            " Not invited, no {} id in the config: {}.",
            incident.platform,
            unreachable.join(", ")
        )));
    }
    line.push(Inline::Text(format!(" {paging}")));
    Message::line(drill_marked(incident, line))
}

/// Said once per incident, the first time it would have paged.
pub fn paging_off(incident: &Incident) -> Message {
    Message::line(drill_marked(
        incident,
        vec![Inline::Text(
            "Paging is off (PAGERDUTY_ROUTING_KEY is not set), so nobody is paged for this incident: \
             call people in directly."
                .into(),
        )],
    ))
}

/// Posted by the outbox if the paging service refuses a page for good.
pub fn page_refused(incident: &Incident, target: &str) -> Message {
    Message::line(drill_marked(
        incident,
        vec![
            Inline::Strong(format!("Paging {target} failed")),
            Inline::Text(
                " — PagerDuty did not take the page, so nobody was paged by it. Call them directly."
                    .into(),
            ),
        ],
    ))
}

/// Someone snoozed the update reminder.
pub fn snoozed(incident: &Incident, by: &UserId, until: DateTime<Utc>, config: &Config) -> Message {
    Message::line(drill_marked(
        incident,
        vec![
            Inline::Mention(by.clone()),
            Inline::Text(format!(
                " snoozed the status-update reminder until {}.",
                hour_minute(until, config)
            )),
        ],
    ))
}

/// `14:47` in the team's time zone.
fn hour_minute(at: DateTime<Utc>, config: &Config) -> String {
    at.with_timezone(&config.timezone())
        .format("%H:%M")
        .to_string()
}

/// `15 min`, `1 h 5 min`: how people say how long ago an update was.
fn minutes(elapsed: TimeDelta) -> String {
    let total = elapsed.num_minutes().max(0);
    match (total / 60, total % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_times_read_as_people_say_them() {
        assert_eq!(minutes(TimeDelta::seconds(15 * 60 + 59)), "15 min");
        assert_eq!(minutes(TimeDelta::hours(2)), "2 h");
        assert_eq!(minutes(TimeDelta::minutes(65)), "1 h 5 min");
    }
}
