//! Messages as the engine means them, before any platform's markup.
//!
//! Owns: the platform-neutral [`Message`] (blocks of inline pieces, fields and
//! buttons) and the layouts the bot posts (summary, announcement, …).
//! Must not: decide what to say (the engine does) or speak a platform's format
//! (`slack::blocks` and `discord::embeds` turn a `Message` into blocks or embeds;
//! what they share lives here: a message's text lines, entity escaping and the
//! fenced table).
//!
//! User-written words only ever travel as [`Inline::Text`], which every renderer
//! escapes; mentions travel as [`Inline::Mention`], so the only people a message can
//! ping are the ones the engine put there.

mod cadence;
mod checklist;
mod issue;
mod layouts;
mod postmortem;
mod runbook;
mod stats;

pub use cadence::{
    SNOOZE_MINUTES, escalated, page_refused, paging_off, response_missed, snoozed, status_update,
    update_reminder,
};
pub use checklist::{ResolutionChecklist, resolution_checklist};
pub use issue::{
    FollowUpIssue, followup_closed, followup_filed, followup_issue, followup_not_filed,
};
pub use layouts::*;
pub use postmortem::{PostmortemRecord, postmortem, postmortem_posted, postmortem_within};
pub use runbook::{every_step_recovered, recovery_report, runbook_outcome, runbook_steps};
pub use stats::stats;

use crate::domain::UserId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "content", rename_all = "snake_case")]
pub enum Block {
    Heading(Vec<Inline>),
    Paragraph(Vec<Inline>),
    Fields(Vec<Field>),
    Buttons(Vec<Button>),
    /// Rows of plain text under a header, shown as an aligned monospace block.
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub label: String,
    pub value: Vec<Inline>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "content", rename_all = "snake_case")]
pub enum Inline {
    Text(String),
    Strong(String),
    Mention(UserId),
    Link {
        label: String,
        url: String,
    },
    /// A link to the incident's war room, by the platform's id for it. The engine
    /// writes `None` (the room is opened by the outbox, after the engine's
    /// transaction); the dispatcher fills the id in when it delivers the message,
    /// and a room that could not be opened stays `None`, shown as words.
    Room(Option<String>),
}

/// A button; `action` and `value` come back in the platform's interaction payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub action: String,
    pub value: String,
    pub label: String,
}

/// Reads a message stored as a message, or as the plain string that a topic was
/// stored as before topics could mention people.
pub fn message_or_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Message, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Message(Message),
        Text(String),
    }
    Ok(match Stored::deserialize(deserializer)? {
        Stored::Message(message) => message,
        Stored::Text(text) => Message::text(text),
    })
}

impl Message {
    /// A message of one plain paragraph.
    pub fn text(text: impl Into<String>) -> Self {
        Self::line(vec![Inline::Text(text.into())])
    }

    /// A message of one paragraph made of pieces.
    pub fn line(inlines: Vec<Inline>) -> Self {
        Self {
            blocks: vec![Block::Paragraph(inlines)],
        }
    }

    /// Plain text of the message, safe on any platform: mentions become `@id` text,
    /// and anything that could form a mention or markup is neutralised.
    pub fn plain_text(&self) -> String {
        self.plain_lines(neutralise).join("\n")
    }

    /// The message as lines of text without markup, every piece of text passed
    /// through `escape`: mentions become `@id`, links `label (url)`.
    pub fn plain_lines(&self, escape: impl Fn(&str) -> String) -> Vec<String> {
        self.text_lines(|inlines| plain_inlines(inlines, &escape), &escape)
    }

    /// The message as lines of text in some markup: a line for each heading,
    /// paragraph and field (`label: value`) and each line of a table; buttons
    /// show nothing. `inlines` writes pieces, `escape` writes labels and table lines.
    pub fn text_lines(
        &self,
        inlines: impl Fn(&[Inline]) -> String,
        escape: impl Fn(&str) -> String,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        for block in &self.blocks {
            match block {
                Block::Heading(pieces) | Block::Paragraph(pieces) => lines.push(inlines(pieces)),
                Block::Fields(fields) => {
                    for field in fields {
                        lines.push(format!(
                            "{}: {}",
                            escape(&field.label),
                            inlines(&field.value)
                        ));
                    }
                }
                Block::Table { header, rows } => {
                    lines.extend(table_lines(header, rows).iter().map(|l| escape(l)))
                }
                Block::Buttons(_) => {}
            }
        }
        lines
    }

    /// Whether the message links the war room, which needs the room's id filled in.
    pub fn links_room(&self) -> bool {
        let mut links = false;
        self.visit_inlines(|inline| links |= matches!(inline, Inline::Room(None)));
        links
    }

    /// The message with every war-room link pointing at `room`.
    pub fn with_room(mut self, room: &str) -> Self {
        for block in &mut self.blocks {
            let pieces: Vec<&mut Vec<Inline>> = match block {
                Block::Heading(inlines) | Block::Paragraph(inlines) => vec![inlines],
                Block::Fields(fields) => fields.iter_mut().map(|f| &mut f.value).collect(),
                Block::Buttons(_) | Block::Table { .. } => Vec::new(),
            };
            for inline in pieces.into_iter().flatten() {
                if let Inline::Room(None) = inline {
                    *inline = Inline::Room(Some(room.to_owned()));
                }
            }
        }
        self
    }

    fn visit_inlines(&self, mut visit: impl FnMut(&Inline)) {
        for block in &self.blocks {
            match block {
                Block::Heading(inlines) | Block::Paragraph(inlines) => {
                    inlines.iter().for_each(&mut visit)
                }
                Block::Fields(fields) => fields.iter().flat_map(|f| &f.value).for_each(&mut visit),
                Block::Buttons(_) | Block::Table { .. } => {}
            }
        }
    }

    /// Every user this message means to notify.
    pub fn mentions(&self) -> Vec<UserId> {
        let mut users = Vec::new();
        self.visit_inlines(|inline| {
            if let Inline::Mention(user) = inline
                && !users.contains(user)
            {
                users.push(user.clone());
            }
        });
        users
    }
}

fn plain_inlines(inlines: &[Inline], escape: impl Fn(&str) -> String) -> String {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(text) | Inline::Strong(text) => escape(text),
            Inline::Mention(user) => format!("@{}", escape(user.as_str())),
            Inline::Link { label, url } => format!("{} ({})", escape(label), escape(url)),
            Inline::Room(room) => escape(&room_words(room.as_deref())),
        })
        .collect()
}

/// A war-room link where no markup can show it: `#room`, or words before it exists.
pub fn room_words(room: Option<&str>) -> String {
    match room {
        Some(room) => format!("#{room}"),
        None => "the war room".to_owned(),
    }
}

/// The longest a table cell is shown; longer ones are cut with `…`.
const TABLE_CELL_MAX: usize = 40;

/// A table as aligned lines of plain text (for a monospace block): the header,
/// a rule, then the rows, each cell cut to [`TABLE_CELL_MAX`] characters and
/// padded to its column's width. Line breaks in a cell become spaces.
fn table_lines(header: &[String], rows: &[Vec<String>]) -> Vec<String> {
    let cell = |text: &str| {
        let flat: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if flat.chars().count() <= TABLE_CELL_MAX {
            flat
        } else {
            let kept: String = flat.chars().take(TABLE_CELL_MAX - 1).collect();
            format!("{kept}…")
        }
    };
    let header: Vec<String> = header.iter().map(|h| cell(h)).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| cell(c)).collect())
        .collect();
    let columns = rows.iter().map(Vec::len).chain([header.len()]).max();
    let mut widths = vec![0; columns.unwrap_or_default()];
    for row in rows.iter().chain([&header]) {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let line = |row: &[String]| {
        let padded: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(i, width)| {
                let text = row.get(i).map(String::as_str).unwrap_or_default();
                format!("{text}{}", " ".repeat(width - text.chars().count()))
            })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    let mut lines = vec![line(&header), rule.join("  ")];
    lines.extend(rows.iter().map(|row| line(row)));
    lines
}

/// A table as a fenced monospace block of at most `max` characters, each line
/// passed through the platform's `escape`. Backticks in cells become `ˋ`, so no
/// cell can close the fence; rows past the budget are replaced by a count.
pub fn table_code_block(
    header: &[String],
    rows: &[Vec<String>],
    max: usize,
    escape: impl Fn(&str) -> String,
) -> String {
    const FENCE: &str = "```";
    let lines: Vec<String> = table_lines(header, rows)
        .iter()
        .map(|line| escape(&line.replace('`', "ˋ")))
        .collect();
    let total = lines.len();
    // Room for both fences and their line breaks, and for the "more rows" line.
    let more_room = 32;
    let mut budget = max.saturating_sub(2 * FENCE.len() + 2 + more_room);
    let mut kept = Vec::new();
    for line in lines {
        let size = line.chars().count() + 1;
        if size > budget {
            break;
        }
        budget -= size;
        kept.push(line);
    }
    if kept.len() < total {
        kept.push(format!("… {} more row(s)", total - kept.len()));
    }
    format!("{FENCE}\n{}\n{FENCE}", kept.join("\n"))
}

/// Makes user text inert on every platform: `&`, `<`, `>` are entity-escaped (so
/// Slack cannot read `<!channel>` or `<@U…>`), and a zero-width joiner after `@`
/// breaks `@everyone` / `@here` for Discord.
fn neutralise(text: &str) -> String {
    escape_entities(text).replace('@', "@\u{200B}")
}

/// `&`, `<` and `>` as the entities `&amp;`, `&lt;` and `&gt;`: all the escaping
/// markup built from those three characters (Slack's is) needs.
pub fn escape_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_are_aligned_and_cells_cut_and_flattened() {
        let header = vec!["step".to_owned(), "action".to_owned()];
        let rows = vec![
            vec!["1".to_owned(), "a\nb".to_owned()],
            vec!["10".to_owned(), "x".repeat(50)],
            vec!["2".to_owned()],
        ];
        let lines = table_lines(&header, &rows);
        assert_eq!(lines[0], format!("step  action"));
        assert_eq!(lines[1], format!("----  {}", "-".repeat(TABLE_CELL_MAX)));
        assert_eq!(lines[2], "1     a b");
        assert_eq!(
            lines[3],
            format!("10    {}…", "x".repeat(TABLE_CELL_MAX - 1))
        );
        assert_eq!(lines[4], "2");
        let plain = Message {
            blocks: vec![Block::Table {
                header,
                rows: vec![vec!["1".into(), "@here <b>".into()]],
            }],
        }
        .plain_text();
        assert!(plain.ends_with("1     @\u{200B}here &lt;b&gt;"), "{plain}");
    }
}
