//! How happenings read on a terminal: one block of lines each, led by the time
//! and the channel.

use super::{Happening, PAGER, What};
use crate::outbox::EventAction;
use crate::render::{Block, Message};

/// A message as lines of terminal text: mentions as `@key`, links with their
/// address, and its buttons last, each with what to type to press it. Control
/// characters are dropped, so no text can move the cursor or recolour the terminal.
pub fn message_lines(message: &Message) -> Vec<String> {
    let mut lines = message.plain_lines(clean);
    for block in &message.blocks {
        if let Block::Buttons(buttons) = block {
            let pressable: Vec<String> = buttons
                .iter()
                .map(|button| {
                    format!(
                        "[{}] /press {}",
                        clean(&button.label),
                        button_words(&button.action)
                    )
                })
                .collect();
            lines.push(pressable.join("   "));
        }
    }
    lines
}

/// What to type after `/press` for a button's action id: `approve:3` is
/// `approve 3`.
pub fn button_words(action: &str) -> String {
    clean(&action.replace(':', " "))
}

fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The lines a happening shows, without time or channel.
pub(super) fn lines(what: &What) -> Vec<String> {
    match what {
        What::RoomOpened => vec!["war room opened".to_owned()],
        What::Invited(users) => {
            let users: Vec<String> = users
                .iter()
                .map(|user| format!("@{}", clean(user.as_str())))
                .collect();
            vec![format!("invited {}", users.join(", "))]
        }
        What::Topic(topic) => vec![format!("topic: {}", clean(topic))],
        What::Posted(message) | What::Replied(message) => message_lines(message),
        What::Edited(message) => {
            let mut lines = message_lines(message);
            if let Some(first) = lines.first_mut() {
                *first = format!("(edited) {first}");
            }
            lines
        }
        What::Pinned => vec!["pinned a message".to_owned()],
        What::Uploaded { file, summary } => {
            let mut lines = message_lines(summary);
            lines.push(format!("file {}:", clean(&file.filename)));
            lines.extend(
                file.content
                    .lines()
                    .map(|line| format!("  {}", clean(line))),
            );
            lines
        }
        What::Paged { event, sent } => {
            let how = if *sent { "" } else { " (dry run, not sent)" };
            let target = event.details.get("target").map(String::as_str);
            vec![match (event.action, target) {
                (EventAction::Trigger, Some(target)) => {
                    format!("paged {}{how}: {}", clean(target), clean(&event.summary))
                }
                (action, _) => format!("page {} {}{how}", clean(&event.dedup_key), action.as_str()),
            }]
        }
        What::Typed { by, text } => vec![format!("{by}: {}", clean(text))],
        What::Answered { to, text } => text
            .lines()
            .enumerate()
            .map(|(i, line)| match i {
                0 => format!("(only {to} sees this) {}", clean(line)),
                _ => clean(line),
            })
            .collect(),
    }
}

/// Where a happening is shown: `#room`, or `pager`.
pub(super) fn place(channel: &str) -> String {
    if channel == PAGER {
        channel.to_owned()
    } else {
        format!("#{}", clean(channel))
    }
}

/// A happening as printed on the terminal, ending in a line break.
pub(super) fn printed(happening: &Happening, timezone: chrono_tz::Tz) -> String {
    let time = happening.at.with_timezone(&timezone).format("%H:%M");
    let lead = format!("{time} {} ", place(&happening.channel));
    let indent = " ".repeat(lead.chars().count());
    let mut text = String::new();
    for (i, line) in lines(&happening.what).iter().enumerate() {
        text.push_str(if i == 0 { &lead } else { &indent });
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;
    use crate::render::{Button, Inline};

    #[test]
    fn messages_read_as_plain_lines_with_their_buttons_to_press() {
        let message = Message {
            blocks: vec![
                Block::Paragraph(vec![
                    Inline::Text("a <b> & \u{1b}[31mred\u{1b}[0m ".into()),
                    Inline::Mention(UserId::new("alice")),
                ]),
                Block::Buttons(vec![
                    Button {
                        action: "approve:3".into(),
                        value: "INC-20261123-001".into(),
                        label: "Approve".into(),
                    },
                    Button {
                        action: "ack".into(),
                        value: "INC-20261123-001".into(),
                        label: "Acknowledge".into(),
                    },
                ]),
            ],
        };
        assert_eq!(
            message_lines(&message),
            [
                "a <b> & [31mred[0m @alice",
                "[Approve] /press approve 3   [Acknowledge] /press ack",
            ]
        );
    }
}
