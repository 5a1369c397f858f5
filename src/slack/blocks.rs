//! A [`Message`] as Slack Block Kit: the `blocks` array and the fallback `text`
//! that `chat.postMessage`, `chat.update` and slash-command answers carry.
//!
//! Owns: Slack's markup and its limits (section text ≤ 3000 characters, ≤ 10
//! fields a section, header text ≤ 150, ≤ 50 blocks a message) and the escaping
//! that keeps user text inert. Must not: decide what a message says.
//!
//! Every piece of text is escaped (`&`, `<`, `>` become entities), so nothing a
//! user typed can form `<!channel>`, `<!here>`, `<@U…>` or a link; the only
//! mentions in the output are the [`Inline::Mention`]s the engine put there.

use crate::render::{
    self, Block, Button, Field, Inline, Message, escape_entities as escape, table_code_block,
};
use serde_json::{Value, json};

/// Slack's limit on a section's text and on the fallback `text` we send.
pub const SECTION_TEXT_MAX: usize = 3000;
/// Slack's limit on one field of a section.
const FIELD_TEXT_MAX: usize = 2000;
/// Slack's limit on the fields of one section.
const FIELDS_PER_SECTION: usize = 10;
/// Slack's limit on a header block's plain text.
const HEADER_TEXT_MAX: usize = 150;
/// Slack's limits on a button's label, action id and value.
const BUTTON_LABEL_MAX: usize = 75;
const BUTTON_ID_MAX: usize = 255;
const BUTTON_VALUE_MAX: usize = 2000;
/// Slack's limit on the elements of one actions block.
const BUTTONS_PER_BLOCK: usize = 25;
/// Slack's limit on the blocks of one message.
pub const BLOCKS_MAX: usize = 50;

/// The Block Kit rendering of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    /// Notification and fallback text; never empty.
    pub text: String,
    pub blocks: Vec<Value>,
}

/// Renders a message for Slack.
pub fn render(message: &Message) -> SlackMessage {
    let mut blocks = Vec::new();
    // Consecutive paragraphs share one section (up to its limit), so a long
    // timeline stays far below the block limit.
    let mut paragraphs: Vec<String> = Vec::new();
    for block in &message.blocks {
        if let Block::Paragraph(inlines) = block {
            paragraphs.push(mrkdwn(inlines));
            continue;
        }
        flush_paragraphs(&mut paragraphs, &mut blocks);
        match block {
            Block::Heading(inlines) => blocks.push(heading(inlines)),
            Block::Fields(fields) => blocks.extend(field_sections(fields)),
            Block::Buttons(buttons) => blocks.extend(actions(buttons)),
            Block::Table { header, rows } => blocks.push(section(table_code_block(
                header,
                rows,
                SECTION_TEXT_MAX,
                escape,
            ))),
            Block::Paragraph(_) => {}
        }
    }
    flush_paragraphs(&mut paragraphs, &mut blocks);
    if blocks.len() > BLOCKS_MAX {
        let hidden = blocks.len() - (BLOCKS_MAX - 1);
        blocks.truncate(BLOCKS_MAX - 1);
        blocks.push(section(format!(
            "_… {hidden} more block(s) not shown: Slack shows at most {BLOCKS_MAX}._"
        )));
    }
    SlackMessage {
        text: fallback_text(message),
        blocks,
    }
}

/// The message as escaped mrkdwn lines, cut to [`SECTION_TEXT_MAX`]; never empty,
/// because Slack requires `text` for notifications and accessibility.
pub fn fallback_text(message: &Message) -> String {
    let text = message.text_lines(mrkdwn, escape).join("\n");
    if text.trim().is_empty() {
        return "warroom".to_string();
    }
    cut(&text, SECTION_TEXT_MAX)
}

/// A topic as Slack stores it: one line, escaped, mentions as `<@U…>` (the one
/// markup a topic shows), at most `max` characters, cut between tokens.
pub fn topic_text(topic: &Message, max: usize) -> String {
    cut_markup(&topic.text_lines(mrkdwn, escape).join(" "), max)
}

/// Inline pieces as mrkdwn.
fn mrkdwn(inlines: &[Inline]) -> String {
    let mut out = String::new();
    for inline in inlines {
        match inline {
            Inline::Text(text) => out.push_str(&escape(text)),
            Inline::Strong(text) => {
                // Bold needs non-blank content and no edge spaces inside the stars.
                let trimmed = text.trim();
                if trimmed.is_empty() {
                    out.push_str(&escape(text));
                } else {
                    let lead = &text[..text.len() - text.trim_start().len()];
                    let trail = &text[text.trim_end().len()..];
                    out.push_str(lead);
                    out.push('*');
                    out.push_str(&escape(trimmed));
                    out.push('*');
                    out.push_str(trail);
                }
            }
            Inline::Mention(user) => {
                let id = user.as_str();
                if is_slack_id(id) {
                    out.push_str(&format!("<@{id}>"));
                } else {
                    out.push('@');
                    out.push_str(&escape(id));
                }
            }
            Inline::Room(Some(room)) if is_slack_id(room) => {
                out.push_str(&format!("<#{room}>"));
            }
            Inline::Room(room) => out.push_str(&escape(&render::room_words(room.as_deref()))),
            Inline::Link { label, url } => {
                if is_linkable(url) {
                    let label = escape(label).replace('|', "¦");
                    out.push_str(&format!("<{}|{label}>", escape(url)));
                } else {
                    out.push_str(&format!("{} ({})", escape(label), escape(url)));
                }
            }
        }
    }
    out
}

/// Only ids that look like Slack's become mentions; anything else stays text.
fn is_slack_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A URL Slack can link without it changing the markup around it.
fn is_linkable(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url
            .chars()
            .any(|c| c == '|' || c == '<' || c == '>' || c.is_whitespace())
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

/// A heading of plain words becomes a header block; one that carries mentions or
/// links needs mrkdwn, so it becomes a bold section.
fn heading(inlines: &[Inline]) -> Value {
    let plain = inlines
        .iter()
        .all(|inline| matches!(inline, Inline::Text(_) | Inline::Strong(_)));
    if plain {
        let text: String = inlines
            .iter()
            .map(|inline| match inline {
                Inline::Text(text) | Inline::Strong(text) => text.as_str(),
                _ => "",
            })
            .collect();
        // Escaped like every other text: Slack decodes the entities for display.
        let text = cut_markup(&escape(text.trim()), HEADER_TEXT_MAX);
        if !text.is_empty() {
            return json!({
                "type": "header",
                "text": { "type": "plain_text", "text": text, "emoji": true }
            });
        }
    }
    section(cut(&format!("*{}*", mrkdwn(inlines)), SECTION_TEXT_MAX))
}

/// Paragraph texts packed into as few sections as their limit allows.
fn flush_paragraphs(paragraphs: &mut Vec<String>, blocks: &mut Vec<Value>) {
    let mut current = String::new();
    for paragraph in paragraphs.drain(..) {
        if paragraph.trim().is_empty() {
            continue;
        }
        let joined_len = current.chars().count() + 1 + paragraph.chars().count();
        if !current.is_empty() && joined_len > SECTION_TEXT_MAX {
            blocks.push(section(std::mem::take(&mut current)));
        }
        for piece in split_text(&paragraph, SECTION_TEXT_MAX) {
            if !current.is_empty() {
                if current.chars().count() + 1 + piece.chars().count() <= SECTION_TEXT_MAX {
                    current.push('\n');
                    current.push_str(&piece);
                    continue;
                }
                blocks.push(section(std::mem::take(&mut current)));
            }
            current = piece;
        }
    }
    if !current.is_empty() {
        blocks.push(section(current));
    }
}

fn field_sections(fields: &[Field]) -> Vec<Value> {
    grouped(
        fields,
        FIELDS_PER_SECTION,
        |field| {
            let text = format!("*{}*\n{}", escape(&field.label), mrkdwn(&field.value));
            json!({ "type": "mrkdwn", "text": cut_markup(&text, FIELD_TEXT_MAX) })
        },
        |fields| json!({ "type": "section", "fields": fields }),
    )
}

fn actions(buttons: &[Button]) -> Vec<Value> {
    grouped(
        buttons,
        BUTTONS_PER_BLOCK,
        |button| {
            json!({
                "type": "button",
                "text": {
                    "type": "plain_text",
                    "text": cut(&button.label, BUTTON_LABEL_MAX),
                    "emoji": true
                },
                "action_id": cut(&button.action, BUTTON_ID_MAX),
                "value": cut(&button.value, BUTTON_VALUE_MAX),
            })
        },
        |elements| json!({ "type": "actions", "elements": elements }),
    )
}

/// Blocks that hold a list Slack limits per block (fields, buttons): `items` in
/// blocks of at most `per_block`, each item rendered by `item` and each block by `block`.
fn grouped<T>(
    items: &[T],
    per_block: usize,
    item: impl Fn(&T) -> Value,
    block: impl Fn(Vec<Value>) -> Value,
) -> Vec<Value> {
    items
        .chunks(per_block)
        .map(|chunk| block(chunk.iter().map(&item).collect()))
        .collect()
}

/// Splits escaped mrkdwn into pieces of at most `max` characters, never inside an
/// entity (`&amp;`) or a `<…>` token, so no piece shows a broken escape.
fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    for token in tokens(text) {
        let len = token.chars().count();
        if count + len > max && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
            count = 0;
        }
        if len > max {
            // A token longer than a whole section (a huge link) is cut as text.
            pieces.push(cut(token, max));
            continue;
        }
        current.push_str(token);
        count += len;
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// The atoms of escaped mrkdwn: `<…>` tokens, `&…;` entities, single characters.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let end = match first {
            '<' => rest.find('>').map(|i| i + 1),
            '&' => rest.find(';').filter(|&i| i <= 5).map(|i| i + 1),
            _ => None,
        }
        .unwrap_or(first.len_utf8());
        let (token, tail) = rest.split_at(end);
        rest = tail;
        Some(token)
    })
}

/// At most `max` characters of escaped mrkdwn, cut between tokens.
fn cut_markup(text: &str, max: usize) -> String {
    split_text(text, max.saturating_sub(1))
        .into_iter()
        .next()
        .map(|first| {
            if first.len() < text.len() {
                format!("{first}…")
            } else {
                first
            }
        })
        .unwrap_or_default()
}

/// At most `max` characters, with `…` marking a cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn text_of(block: &Value) -> &str {
        block["text"]["text"].as_str().unwrap_or_default()
    }

    #[test]
    fn user_text_cannot_mention_anyone() {
        let message = Message::line(vec![
            Inline::Text("<!channel> <!here> <@U123> & <https://evil|click>".into()),
            Inline::Mention(UserId::new("UALICE")),
        ]);
        let slack = render(&message);
        let text = text_of(&slack.blocks[0]);
        assert_eq!(
            text,
            "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &amp; &lt;https://evil|click&gt;<@UALICE>"
        );
        assert_eq!(slack.text, text);
    }

    #[test]
    fn odd_mentions_and_links_stay_text() {
        let message = Message::line(vec![
            Inline::Mention(UserId::new("U1>|<!channel")),
            Inline::Link {
                label: "a|b".into(),
                url: "https://x.test/a?b=1&c=2".into(),
            },
            Inline::Link {
                label: "bad".into(),
                url: "javascript:alert(1)".into(),
            },
        ]);
        let text = render(&message).text;
        assert_eq!(
            text,
            "@U1&gt;|&lt;!channel<https://x.test/a?b=1&amp;c=2|a¦b>bad (javascript:alert(1))"
        );
    }

    #[test]
    fn blocks_map_to_block_kit() {
        let message = Message {
            blocks: vec![
                Block::Heading(vec![Inline::Text("INC-1 · sev1 · a <b>".into())]),
                Block::Fields(vec![Field {
                    label: "Commander".into(),
                    value: vec![Inline::Mention(UserId::new("UALICE"))],
                }]),
                Block::Paragraph(vec![
                    Inline::Strong("Summary: ".into()),
                    Inline::Text("x".into()),
                ]),
                Block::Buttons(vec![Button {
                    action: "ack".into(),
                    value: "INC-1".into(),
                    label: "Acknowledge".into(),
                }]),
            ],
        };
        let slack = render(&message);
        assert_eq!(slack.blocks.len(), 4);
        assert_eq!(slack.blocks[0]["type"], "header");
        assert_eq!(text_of(&slack.blocks[0]), "INC-1 · sev1 · a &lt;b&gt;");
        assert_eq!(
            slack.blocks[1]["fields"][0]["text"],
            "*Commander*\n<@UALICE>"
        );
        assert_eq!(text_of(&slack.blocks[2]), "*Summary:* x");
        assert_eq!(slack.blocks[3]["elements"][0]["action_id"], "ack");
        assert_eq!(slack.blocks[3]["elements"][0]["value"], "INC-1");
        assert!(
            slack
                .text
                .starts_with("INC-1 · sev1 · a &lt;b&gt;\nCommander: <@UALICE>")
        );
    }

    #[test]
    fn limits_hold_for_huge_messages() {
        let long = "&".repeat(4000);
        let mut blocks = vec![Block::Paragraph(vec![Inline::Text(long)])];
        for n in 0..200 {
            blocks.push(Block::Heading(vec![Inline::Text(format!("h{n}"))]));
        }
        let fields = (0..25)
            .map(|n| Field {
                label: format!("f{n}"),
                value: vec![Inline::Text("v".repeat(2500))],
            })
            .collect();
        let slack = render(&Message {
            blocks: vec![
                Block::Paragraph(vec![Inline::Text("<".repeat(7000))]),
                Block::Fields(fields),
            ],
        });
        for block in &slack.blocks {
            assert!(text_of(block).chars().count() <= SECTION_TEXT_MAX);
            assert!(!text_of(block).ends_with("&lt"), "no broken entity");
            if let Some(fields) = block["fields"].as_array() {
                assert!(fields.len() <= FIELDS_PER_SECTION);
                for field in fields {
                    let text = field["text"].as_str().unwrap();
                    assert!(text.chars().count() <= FIELD_TEXT_MAX);
                }
            }
        }
        assert_eq!(
            slack.blocks.len(),
            10 + 3,
            "7000 escaped `<` need 10 sections"
        );
        assert!(slack.text.chars().count() <= SECTION_TEXT_MAX);

        let many = render(&Message { blocks });
        assert_eq!(many.blocks.len(), BLOCKS_MAX);
        assert!(text_of(&many.blocks[BLOCKS_MAX - 1]).contains("more block(s) not shown"));
    }

    #[test]
    fn tables_are_escaped_aligned_code_blocks_within_the_section_limit() {
        let table = |rows: usize| Message {
            blocks: vec![Block::Table {
                header: vec!["step".into(), "action".into(), "result".into()],
                rows: (0..rows)
                    .map(|n| vec![n.to_string(), "<!channel> ```x".into(), "y".repeat(100)])
                    .collect(),
            }],
        };
        let slack = render(&table(2));
        let text = text_of(&slack.blocks[0]);
        assert!(text.starts_with("```\nstep  action"), "{text}");
        assert!(text.ends_with("\n```"), "{text}");
        assert_eq!(
            text.matches("```").count(),
            2,
            "cells cannot close the fence"
        );
        assert!(text.contains("&lt;!channel&gt; ˋˋˋx"), "{text}");
        assert!(!text.contains("<!channel>"), "{text}");
        let row = text.lines().nth(3).unwrap();
        assert!(row.ends_with(&format!("{}…", "y".repeat(39))), "{row}");

        let huge = render(&table(500));
        let text = text_of(&huge.blocks[0]);
        assert!(text.chars().count() <= SECTION_TEXT_MAX, "{}", text.len());
        assert!(text.contains("more row(s)"), "{text}");
        assert!(text.ends_with("\n```"));
    }

    #[test]
    fn fallback_text_is_never_empty() {
        let message = Message {
            blocks: vec![Block::Buttons(vec![])],
        };
        assert_eq!(render(&message).text, "warroom");
    }
}
