//! Messages as the engine means them, before any platform's markup.
//!
//! Owns: the platform-neutral [`Message`] (blocks of inline pieces, fields and
//! buttons) and the layouts the bot posts (summary, announcement, …).
//! Must not: decide what to say (the engine does) or speak a platform's format
//! (the Slack and Discord adapters turn a `Message` into blocks or embeds).
//!
//! User-written words only ever travel as [`Inline::Text`], which every renderer
//! escapes; mentions travel as [`Inline::Mention`], so the only people a message can
//! ping are the ones the engine put there.

mod cadence;
pub mod discord;
mod layouts;
mod postmortem;
pub mod slack;
mod stats;

pub use cadence::{
    SNOOZE_MINUTES, escalated, page_refused, paging_off, response_missed, snoozed, status_update,
    update_reminder,
};
pub use layouts::*;
pub use postmortem::{PostmortemRecord, postmortem, postmortem_posted, postmortem_within};
pub use stats::stats;

use crate::domain::{Platform, UserId};

/// The largest file a platform takes, in bytes.
pub fn file_limit(platform: Platform) -> usize {
    match platform {
        Platform::Slack => slack::FILE_MAX,
        Platform::Discord => discord::ATTACHMENT_MAX,
        Platform::Testing => usize::MAX,
    }
}
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
    Link { label: String, url: String },
}

/// A button; `action` and `value` come back in the platform's interaction payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub action: String,
    pub value: String,
    pub label: String,
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
        let mut lines = Vec::new();
        for block in &self.blocks {
            match block {
                Block::Heading(inlines) | Block::Paragraph(inlines) => {
                    lines.push(plain_inlines(inlines))
                }
                Block::Fields(fields) => {
                    for field in fields {
                        lines.push(format!(
                            "{}: {}",
                            neutralise(&field.label),
                            plain_inlines(&field.value)
                        ));
                    }
                }
                Block::Buttons(_) => {}
            }
        }
        lines.join("\n")
    }

    /// Every user this message means to notify.
    pub fn mentions(&self) -> Vec<UserId> {
        let mut users = Vec::new();
        let mut visit = |inlines: &[Inline]| {
            for inline in inlines {
                if let Inline::Mention(user) = inline
                    && !users.contains(user)
                {
                    users.push(user.clone());
                }
            }
        };
        for block in &self.blocks {
            match block {
                Block::Heading(inlines) | Block::Paragraph(inlines) => visit(inlines),
                Block::Fields(fields) => fields.iter().for_each(|f| visit(&f.value)),
                Block::Buttons(_) => {}
            }
        }
        users
    }
}

fn plain_inlines(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(text) | Inline::Strong(text) => neutralise(text),
            Inline::Mention(user) => format!("@{}", neutralise(user.as_str())),
            Inline::Link { label, url } => format!("{} ({})", neutralise(label), neutralise(url)),
        })
        .collect()
}

/// Makes user text inert on every platform: `&`, `<`, `>` are entity-escaped (so
/// Slack cannot read `<!channel>` or `<@U…>`), and a zero-width joiner after `@`
/// breaks `@everyone` / `@here` for Discord.
pub fn neutralise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("@\u{200B}"),
            other => out.push(other),
        }
    }
    out
}
