//! The layouts warroom posts: the pinned summary, the announcement, status changes
//! and updates, and the answers to lookups.

use super::{Block, Button, Field, Inline, Message};
use crate::command::ButtonAction;
use crate::config::Config;
use crate::domain::{
    ActionRun, FollowUp, Incident, Platform, Role, Status, StatusUpdate, TimelineEvent, UserId,
    UserText,
};
use chrono::{DateTime, Utc};

/// The handle of the pinned summary message, edited in place as the incident moves.
pub const SUMMARY_HANDLE: &str = "summary";

/// The war room's name before platform rules apply: `INC-20261123-001 · checkout is down`.
pub fn room_name(incident: &Incident) -> String {
    format!("{} · {}", incident.id, incident.title)
}

/// The room's one-line state: `SEV1 · investigating · IC @alice`, the commander
/// as a mention, so the platform shows who it is today.
pub fn topic(incident: &Incident) -> Message {
    let drill = if incident.drill { "DRILL · " } else { "" };
    let state = format!("{drill}{} · {} · ", incident.severity, incident.status);
    let line = match incident.holder(Role::Commander) {
        Some(user) => vec![
            Inline::Text(format!("{state}IC ")),
            Inline::Mention(user.clone()),
        ],
        None => vec![Inline::Text(format!("{state}no IC"))],
    };
    Message::line(line)
}

/// Severity, status and each role's holder (a mention): the fields the pinned
/// summary and `/incident summary` start with.
fn state_fields(incident: &Incident, config: &Config) -> Vec<Field> {
    let label = config
        .severity(&incident.severity)
        .map(|s| format!("{} ({})", incident.severity, s.label))
        .unwrap_or_else(|| incident.severity.to_string());
    let mut fields = vec![
        Field {
            label: "Severity".into(),
            value: vec![Inline::Text(label)],
        },
        Field {
            label: "Status".into(),
            value: vec![Inline::Text(incident.status.to_string())],
        },
    ];
    for role in Role::ALL {
        let value = match incident.holder(role) {
            Some(user) => Inline::Mention(user.clone()),
            None => Inline::Text("open".into()),
        };
        fields.push(Field {
            label: role.title().into(),
            value: vec![value],
        });
    }
    fields
}

/// What `/incident summary` adds to the incident itself: the last status update
/// and what is still open.
#[derive(Debug, Clone, Default)]
pub struct StillOpen {
    pub last_update: Option<StatusUpdate>,
    /// Runs not yet over, oldest first.
    pub runs: Vec<ActionRun>,
    /// Follow-ups not done, by number.
    pub followups: Vec<FollowUp>,
    /// When the next status-update reminder is due; `None` when none is planned.
    pub next_update: Option<DateTime<Utc>>,
}

/// `/incident summary`: the incident's state in one message, for anyone joining late.
pub fn state_now(incident: &Incident, open: &StillOpen, config: &Config) -> Message {
    let mut fields = state_fields(incident, config);
    let field = |label: &str, value: Vec<Inline>| Field {
        label: label.into(),
        value,
    };
    fields.push(field(
        "Last update",
        vec![Inline::Text(match &open.last_update {
            Some(update) => format!("{} — {}", clock_time(update.at, config), update.text),
            None => "none yet".into(),
        })],
    ));
    let runs: Vec<String> = open
        .runs
        .iter()
        .map(|run| format!("#{} {} ({})", run.id, run.action, run.status))
        .collect();
    fields.push(field("Open runs", vec![Inline::Text(none_if_empty(runs))]));
    let mut followups = Vec::new();
    for (i, item) in open.followups.iter().enumerate() {
        if i > 0 {
            followups.push(Inline::Text("; ".into()));
        }
        followups.push(Inline::Text(format!("#{} {}", item.number, item.text)));
        if let Some(owner) = &item.owner {
            followups.push(Inline::Text(" — ".into()));
            followups.push(Inline::Mention(owner.clone()));
        }
        if let Some(due) = item.due {
            followups.push(Inline::Text(format!(", due {due}")));
        }
    }
    if followups.is_empty() {
        followups.push(Inline::Text("none".into()));
    }
    fields.push(field("Open follow-ups", followups));
    fields.push(field(
        "Next update due",
        vec![Inline::Text(match open.next_update {
            Some(at) => format!("by {}", clock_time(at, config)),
            None if incident.status.is_open() => "no reminder planned".into(),
            None => "none, it is resolved".into(),
        })],
    ));
    Message {
        blocks: vec![Block::Heading(heading(incident)), Block::Fields(fields)],
    }
}

fn none_if_empty(items: Vec<String>) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join("; ")
    }
}

/// The summary pinned in the war room.
pub fn summary(incident: &Incident, config: &Config) -> Message {
    let mut fields = state_fields(incident, config);
    fields.push(Field {
        label: "Declared".into(),
        value: vec![
            Inline::Text(format!("{} by ", clock_time(incident.declared_at, config))),
            Inline::Mention(incident.declared_by.clone()),
        ],
    });
    if let Some(at) = incident.acknowledged_at {
        fields.push(Field {
            label: "Acknowledged".into(),
            value: vec![Inline::Text(clock_time(at, config))],
        });
    }
    if !incident.services.is_empty() {
        fields.push(Field {
            label: "Services".into(),
            value: vec![Inline::Text(incident.services.join(", "))],
        });
    }
    let mut blocks = vec![Block::Heading(heading(incident)), Block::Fields(fields)];
    if let Some(summary) = &incident.summary {
        blocks.push(Block::Paragraph(vec![
            Inline::Strong("Summary: ".into()),
            Inline::Text(summary.clone()),
        ]));
    }
    blocks.push(Block::Paragraph(vec![incident_link(incident, config)]));
    let buttons = summary_buttons(incident);
    if !buttons.is_empty() {
        blocks.push(Block::Buttons(buttons));
    }
    Message { blocks }
}

/// The handle of the announcement, edited to link the war room once it is open.
pub const ANNOUNCEMENT_HANDLE: &str = "announcement";

/// Posted in the announce channel when an incident is declared, before its war
/// room exists (so the news does not wait for it), then edited with
/// `room_opened` to link the room.
pub fn announcement(incident: &Incident, room_opened: bool) -> Message {
    let mut line = vec![
        Inline::Strong(format!("{} declared", incident.severity)),
        Inline::Text(format!(": {} — {} by ", incident.title, incident.id)),
        Inline::Mention(incident.declared_by.clone()),
    ];
    if room_opened {
        line.extend([
            Inline::Text(". War room: ".into()),
            Inline::Room(None),
            Inline::Text(".".into()),
        ]);
    } else {
        line.push(Inline::Text(". The war room opens in a moment.".into()));
    }
    Message {
        blocks: vec![Block::Paragraph(drill_marked(incident, line))],
    }
}

/// All the announce channel hears of a private incident: that one was declared, and by whom.
pub fn private_announcement(incident: &Incident) -> Message {
    let line = vec![
        Inline::Strong("A private incident was declared".into()),
        Inline::Text(" by ".into()),
        Inline::Mention(incident.declared_by.clone()),
        Inline::Text(".".into()),
    ];
    Message {
        blocks: vec![Block::Paragraph(drill_marked(incident, line))],
    }
}

/// Posted when the status moves (and announced when it resolves or reopens).
pub fn status_changed(
    incident: &Incident,
    previous: Status,
    by: &UserId,
    text: Option<&UserText>,
    config: &Config,
) -> Message {
    let mut line = vec![
        Inline::Strong(format!("{} · {}", incident.id, incident.status)),
        Inline::Text(format!(" (was {previous}), set by ")),
        Inline::Mention(by.clone()),
    ];
    if incident.status == Status::Resolved {
        line.push(Inline::Text(format!(
            " after {}",
            duration(incident.resolved_at.unwrap_or(incident.declared_at) - incident.declared_at)
        )));
    }
    if let Some(text) = text {
        line.push(Inline::Text(format!(": {text}")));
    }
    let mut blocks = vec![Block::Paragraph(drill_marked(incident, line))];
    if incident.status == Status::Resolved {
        blocks.push(Block::Paragraph(vec![incident_link(incident, config)]));
    }
    Message { blocks }
}

/// `/incident timeline`.
pub fn timeline(incident: &Incident, events: &[TimelineEvent], config: &Config) -> Message {
    let mut blocks = vec![Block::Heading(heading(incident))];
    for event in events {
        blocks.push(Block::Paragraph(vec![
            Inline::Strong(clock_time(event.at, config)),
            Inline::Text(format!(" — {}", event.text)),
        ]));
    }
    Message { blocks }
}

/// `/incident list`.
pub fn incident_list(incidents: &[Incident], config: &Config) -> Message {
    if incidents.is_empty() {
        return Message::text("No open incidents.");
    }
    let mut blocks = vec![Block::Heading(vec![Inline::Text(format!(
        "Open incidents ({})",
        incidents.len()
    ))])];
    for incident in incidents {
        blocks.push(Block::Paragraph(vec![
            Inline::Strong(format!(
                "{} · {} · {}",
                incident.id, incident.severity, incident.status
            )),
            Inline::Text(format!(
                " — {} (declared {})",
                incident.title,
                clock_time(incident.declared_at, config)
            )),
        ]));
    }
    Message { blocks }
}

/// `/incident followups`.
pub fn followups(incident: &Incident, followups: &[FollowUp]) -> Message {
    if followups.is_empty() {
        return Message::text(format!(
            "{} has no follow-ups yet. Add one: `/incident followup <text> [@owner] [due:YYYY-MM-DD]`.",
            incident.id
        ));
    }
    let mut blocks = vec![Block::Heading(vec![Inline::Text(format!(
        "Follow-ups of {}",
        incident.id
    ))])];
    for item in followups {
        let mut line = vec![
            Inline::Strong(format!(
                "#{} {}",
                item.number,
                if item.done { "[done]" } else { "[open]" }
            )),
            Inline::Text(format!(" {}", item.text)),
        ];
        if let Some(owner) = &item.owner {
            line.push(Inline::Text(" — owner ".into()));
            line.push(Inline::Mention(owner.clone()));
        }
        if let Some(due) = item.due {
            line.push(Inline::Text(format!(", due {due}")));
        }
        if let Some(issue) = &item.issue {
            line.push(Inline::Text(" — ".into()));
            line.push(Inline::Link {
                label: issue.key.clone(),
                url: issue.url.clone(),
            });
        }
        blocks.push(Block::Paragraph(line));
    }
    Message { blocks }
}

/// `/incident actions`: what the config defines.
pub fn action_list(config: &Config) -> Message {
    let mut blocks = vec![Block::Heading(vec![Inline::Text(
        "Configured actions".into(),
    )])];
    for (name, action) in config.actions().iter() {
        blocks.push(Block::Paragraph(vec![
            Inline::Strong(name.clone()),
            Inline::Text(format!(" — {}", action.description)),
        ]));
    }
    if blocks.len() == 1 {
        return Message::text("No actions are configured.");
    }
    if !config.runbooks().is_empty() {
        blocks.push(Block::Heading(vec![Inline::Text("Runbooks".into())]));
    }
    for (name, runbook) in config.runbooks() {
        let description = runbook.description.trim().trim_end_matches('.');
        let about = if description.is_empty() {
            String::new()
        } else {
            format!("{description}. ")
        };
        blocks.push(Block::Paragraph(vec![
            Inline::Strong(name.clone()),
            Inline::Text(format!(
                " — {about}Steps: {}",
                super::runbook_steps(runbook)
            )),
        ]));
    }
    Message { blocks }
}

/// A time of day in the team's time zone, e.g. `14:05 UTC`.
pub fn clock_time(at: DateTime<Utc>, config: &Config) -> String {
    at.with_timezone(&config.timezone())
        .format("%H:%M %Z")
        .to_string()
}

/// A duration as people say it: `45s`, `12m`, `1h 23m`, `2d 3h`.
pub fn duration(elapsed: chrono::TimeDelta) -> String {
    let seconds = elapsed.num_seconds().max(0);
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// A person as the config names them, or their platform id.
pub(super) fn who(user: &UserId, platform: Platform, config: &Config) -> String {
    config
        .person_by_id(platform, user)
        .map(str::to_string)
        .unwrap_or_else(|| user.to_string())
}

fn heading(incident: &Incident) -> Vec<Inline> {
    drill_marked(
        incident,
        vec![Inline::Text(format!(
            "{} · {} · {}",
            incident.id, incident.severity, incident.title
        ))],
    )
}

/// The mark every message of a drill carries.
const DRILL_MARK: &str = "[DRILL] ";

pub(super) fn drill_marked(incident: &Incident, mut line: Vec<Inline>) -> Vec<Inline> {
    let marked = matches!(line.first(), Some(Inline::Strong(mark)) if mark == DRILL_MARK);
    if incident.drill && !marked {
        line.insert(0, Inline::Strong(DRILL_MARK.into()));
    }
    line
}

/// A message as the incident's audiences see it: in a drill, marked DRILL at the
/// start (once, whichever layout made it), so nobody takes a drill for the real thing.
pub fn for_incident(incident: &Incident, mut message: Message) -> Message {
    if !incident.drill {
        return message;
    }
    match message.blocks.first_mut() {
        Some(Block::Heading(line) | Block::Paragraph(line)) => {
            *line = drill_marked(incident, std::mem::take(line));
        }
        _ => message
            .blocks
            .insert(0, Block::Paragraph(drill_marked(incident, Vec::new()))),
    }
    message
}

fn incident_link(incident: &Incident, config: &Config) -> Inline {
    Inline::Link {
        label: format!("{} on the status page", incident.id),
        url: format!(
            "{}/incidents/{}",
            config.public_url().trim_end_matches('/'),
            incident.id
        ),
    }
}

fn summary_buttons(incident: &Incident) -> Vec<Button> {
    let mut buttons = Vec::new();
    if !incident.status.is_open() {
        return buttons;
    }
    let value = incident.id.to_string();
    if incident.acknowledged_at.is_none() {
        buttons.push(Button {
            action: ButtonAction::Acknowledge.to_string(),
            value: value.clone(),
            label: "Acknowledge".into(),
        });
    }
    for role in [Role::Comms, Role::Scribe] {
        if incident.holder(role).is_none() {
            buttons.push(Button {
                action: ButtonAction::TakeRole(role).to_string(),
                value: value.clone(),
                label: format!("I'll take {role}"),
            });
        }
    }
    buttons
}
