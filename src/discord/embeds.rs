//! A [`Message`] as Discord shows it: content, embeds, buttons and the mentions it may ping.
//!
//! Owns: Discord's markup (markdown escaping of user text, `<@id>` mentions,
//! masked links), its limits (content 2000 characters; embeds 6000 in total, title
//! 256, description 4096, 25 fields of 1024), the severity colour, and
//! `allowed_mentions`, which lists exactly the users the message means to notify
//! and parses nothing from the text, so `@everyone`, `@here` and role mentions in
//! user text never ping. Text past a limit is cut and the whole message attached
//! as a file, so nothing is lost.
//! Must not: decide what to say, or send anything ([`super::platform`] and
//! [`super::interactions`] do).

use crate::command::SeverityWords;
use crate::config::Config;
use crate::domain::is_snowflake;
use crate::render::{self, Block, Button, Field, Inline, Message, table_code_block};
use serde_json::{Value, json};

pub const CONTENT_MAX: usize = 2000;
pub const EMBED_TOTAL_MAX: usize = 6000;
pub const EMBED_TITLE_MAX: usize = 256;
pub const EMBED_DESCRIPTION_MAX: usize = 4096;
pub const EMBED_FIELDS_MAX: usize = 25;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;
/// Buttons per action row, and action rows per message.
const ROW_BUTTONS_MAX: usize = 5;
const ROWS_MAX: usize = 5;
const BUTTON_LABEL_MAX: usize = 80;
const CUSTOM_ID_MAX: usize = 100;
/// The most a table may take of a message's content or embed description,
/// leaving room for the lines around it.
const TABLE_MAX: usize = 1500;
/// Discord accepts at most 100 user ids in `allowed_mentions.users`.
const MENTIONS_MAX: usize = 100;

/// Colours by rank of severity, most severe first; anything past the list takes the last.
const SEVERITY_COLOURS: [u32; 4] = [0xE0_2B_2B, 0xF2_8C_28, 0xF2_C9_4C, 0x3B_82_F6];
const RESOLVED_COLOUR: u32 = 0x2E_A0_43;
const PLAIN_COLOUR: u32 = 0x99_AA_B5;

/// The name the full text is attached under when a message is cut to fit.
pub const OVERFLOW_FILE: &str = "message.txt";

/// The JSON fields of a message body, and a file to attach when the text did not fit.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordMessage {
    /// `content`, `embeds`, `components` and `allowed_mentions`.
    pub body: Value,
    /// `(file name, bytes)`: the whole message as plain text, when some of it was cut.
    pub attachment: Option<(String, Vec<u8>)>,
}

/// How a button's action and value travel in a component's `custom_id`.
const CUSTOM_ID_SEPARATOR: char = '|';

/// The `custom_id` of a button: its action and value.
pub fn custom_id(button: &Button) -> String {
    truncate(
        &format!("{}{CUSTOM_ID_SEPARATOR}{}", button.action, button.value),
        CUSTOM_ID_MAX,
    )
}

/// A `custom_id` back into (action, value).
pub fn parse_custom_id(custom_id: &str) -> Option<(&str, &str)> {
    custom_id.split_once(CUSTOM_ID_SEPARATOR)
}

/// Renders a message. A message with fields (the summary) becomes an embed coloured
/// by severity, its mentions repeated in the content so they notify once; any
/// other message is content.
pub fn render(message: &Message, config: &Config) -> DiscordMessage {
    let mentions = pingable(message);
    let mut cut = false;
    let (content, embeds) = if has_fields(message) {
        let embed = embed(message, config, &mut cut);
        let content = mentions
            .iter()
            .map(|id| format!("<@{id}>"))
            .collect::<Vec<_>>()
            .join(" ");
        (content, vec![embed])
    } else {
        let text = content_text(message);
        let kept = fit(&text, CONTENT_MAX, &mut cut);
        (kept, Vec::new())
    };
    let mut body = json!({
        "content": content,
        "embeds": embeds,
        "components": components(message),
        "allowed_mentions": { "parse": [], "users": mentions },
    });
    if cut && let Some(map) = body.as_object_mut() {
        map.insert(
            "attachments".into(),
            json!([{ "id": 0, "filename": OVERFLOW_FILE }]),
        );
    }
    let attachment = cut.then(|| (OVERFLOW_FILE.to_string(), message.plain_text().into_bytes()));
    DiscordMessage { body, attachment }
}

/// The users a message may ping: its mentions that are Discord ids.
fn pingable(message: &Message) -> Vec<String> {
    message
        .mentions()
        .into_iter()
        .map(|user| user.as_str().to_string())
        .filter(|id| is_snowflake(id))
        .take(MENTIONS_MAX)
        .collect()
}

fn has_fields(message: &Message) -> bool {
    message
        .blocks
        .iter()
        .any(|block| matches!(block, Block::Fields(_)))
}

/// Heading as the title, paragraphs as the description, fields as inline fields,
/// all within the embed's limits.
fn embed(message: &Message, config: &Config, cut: &mut bool) -> Value {
    let mut title = String::new();
    let mut description = Vec::new();
    let mut fields: Vec<&Field> = Vec::new();
    for block in &message.blocks {
        match block {
            Block::Heading(inlines) if title.is_empty() => title = plain(inlines),
            Block::Heading(inlines) => description.push(format!("**{}**", markdown(inlines))),
            Block::Paragraph(inlines) => description.push(markdown(inlines)),
            Block::Fields(found) => fields.extend(found),
            Block::Table { header, rows } => description.push(table(header, rows)),
            Block::Buttons(_) => {}
        }
    }
    if fields.len() > EMBED_FIELDS_MAX {
        *cut = true;
        fields.truncate(EMBED_FIELDS_MAX);
    }
    let title = fit(&title, EMBED_TITLE_MAX, cut);
    let mut budget = EMBED_TOTAL_MAX - title.chars().count();
    let mut rendered_fields = Vec::new();
    for field in fields {
        let name = fit(&escape(&field.label), FIELD_NAME_MAX, cut);
        let value = fit(&markdown(&field.value), FIELD_VALUE_MAX, cut);
        let size = name.chars().count() + value.chars().count();
        if size > budget {
            *cut = true;
            break;
        }
        budget -= size;
        rendered_fields.push(json!({ "name": name, "value": value, "inline": true }));
    }
    let description = fit(
        &description.join("\n"),
        EMBED_DESCRIPTION_MAX.min(budget),
        cut,
    );
    let mut embed = json!({
        "title": title,
        "color": colour(message, config),
        "fields": rendered_fields,
    });
    if !description.is_empty()
        && let Some(map) = embed.as_object_mut()
    {
        map.insert("description".into(), Value::String(description));
    }
    embed
}

/// Red to blue by the rank of the severity the message shows; green once resolved.
fn colour(message: &Message, config: &Config) -> u32 {
    let field = |label: &str| {
        message.blocks.iter().find_map(|block| match block {
            Block::Fields(fields) => fields
                .iter()
                .find(|field| field.label == label)
                .map(|field| plain(&field.value)),
            _ => None,
        })
    };
    if field("Status").is_some_and(|status| status.trim() == "resolved") {
        return RESOLVED_COLOUR;
    }
    let rank = field("Severity")
        .and_then(|text| {
            let word = text.split_whitespace().next()?.to_string();
            let severity = config.resolve(&word)?;
            config
                .severities()
                .iter()
                .position(|known| known.name == severity)
        })
        .map(|rank| rank.min(SEVERITY_COLOURS.len() - 1));
    rank.and_then(|rank| SEVERITY_COLOURS.get(rank).copied())
        .unwrap_or(PLAIN_COLOUR)
}

/// A message without fields as content lines: the heading bold, then each
/// paragraph and table. (A message with fields is an embed: see [`render`].)
fn content_text(message: &Message) -> String {
    let mut lines = Vec::new();
    for block in &message.blocks {
        match block {
            Block::Heading(inlines) => lines.push(format!("**{}**", markdown(inlines))),
            Block::Paragraph(inlines) => lines.push(markdown(inlines)),
            Block::Table { header, rows } => lines.push(table(header, rows)),
            Block::Fields(_) | Block::Buttons(_) => {}
        }
    }
    lines.join("\n")
}

/// A table as a code block: Discord shows its text as is (no markdown, no
/// mentions), so cells need no escaping beyond keeping the fence closed.
fn table(header: &[String], rows: &[Vec<String>]) -> String {
    table_code_block(header, rows, TABLE_MAX, |line| {
        line.chars()
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect()
    })
}

/// Buttons as action rows of up to five.
fn components(message: &Message) -> Vec<Value> {
    let buttons: Vec<&Button> = message
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Buttons(buttons) => Some(buttons),
            _ => None,
        })
        .flatten()
        .collect();
    buttons
        .chunks(ROW_BUTTONS_MAX)
        .take(ROWS_MAX)
        .map(|row| {
            let row: Vec<Value> = row
                .iter()
                .map(|button| {
                    json!({
                        "type": 2,
                        "style": 2,
                        "label": truncate(&button.label, BUTTON_LABEL_MAX),
                        "custom_id": custom_id(button),
                    })
                })
                .collect();
            json!({ "type": 1, "components": row })
        })
        .collect()
}

/// Inline pieces as Discord markdown; user text is escaped so it shows as typed.
fn markdown(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(text) => escape(text),
            Inline::Strong(text) => format!("**{}**", escape(text)),
            Inline::Mention(user) if is_snowflake(user.as_str()) => format!("<@{user}>"),
            Inline::Mention(user) => format!("@{}", escape(user.as_str())),
            Inline::Link { label, url } => format!("[{}](<{}>)", escape(label), url_safe(url)),
            Inline::Room(Some(room)) if is_snowflake(room) => format!("<#{room}>"),
            Inline::Room(room) => escape(&render::room_words(room.as_deref())),
        })
        .collect()
}

/// Inline pieces as plain text (embed titles show no markdown).
fn plain(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(text) | Inline::Strong(text) => text.clone(),
            Inline::Mention(user) => format!("@{user}"),
            Inline::Link { label, .. } => label.clone(),
            Inline::Room(room) => render::room_words(room.as_deref()),
        })
        .collect()
}

/// Escapes Discord markdown, mention and link syntax in user text (and the line
/// starts that make headings, lists and quotes), and breaks `@everyone` / `@here`
/// visually as well (`allowed_mentions` already stops the ping).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut line_start = true;
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '<' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '-' if line_start => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200B}"),
            c if c.is_control() && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
        line_start = c == '\n' || (line_start && c.is_whitespace());
    }
    out
}

/// A URL as the inside of `<…>` in a masked link: nothing that could close it.
fn url_safe(url: &str) -> String {
    url.chars()
        .filter(|c| !matches!(c, '<' | '>' | ')' | ' ') && !c.is_control())
        .collect()
}

/// `text` within `max` characters; a cut ends in `…` and marks the message as cut.
fn fit(text: &str, max: usize, cut: &mut bool) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    *cut = true;
    truncate(text, max)
}

/// The first `max` characters of `text`, ending in `…` if anything was dropped.
/// A backslash escape is never split from the character it escapes.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut kept: String = text.chars().take(max.saturating_sub(1)).collect();
    let trailing = kept.chars().rev().take_while(|c| *c == '\\').count();
    if trailing % 2 == 1 {
        kept.pop();
    }
    kept.push('…');
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn config() -> Config {
        Config::from_toml_str(
            "[bot]\npublic_url = \"https://w.test\"\n\
             [[severity]]\nname = \"sev1\"\nrespond_within = \"15m\"\n\
             [[severity]]\nname = \"sev2\"\nrespond_within = \"15m\"\n\
             [phrases]\ninvestigating = \"a\"\nidentified = \"b\"\nmonitoring = \"c\"\nresolved = \"d\"\n",
        )
        .unwrap()
    }

    fn field(label: &str, value: Vec<Inline>) -> Field {
        Field {
            label: label.into(),
            value,
        }
    }

    #[test]
    fn user_text_cannot_ping_or_format() {
        let message = Message::line(vec![
            Inline::Text("@everyone <@&5> **bold** [x](http://e)".into()),
            Inline::Mention(UserId::new("123")),
        ]);
        let out = render(&message, &config());
        let content = out.body["content"].as_str().unwrap();
        assert!(!content.contains("@everyone"), "{content}");
        assert!(content.contains("\\<@\u{200B}&5\\>"), "{content}");
        assert!(content.contains("\\*\\*bold\\*\\*"), "{content}");
        assert_eq!(escape("- a-b\n# h #x"), "\\- a-b\n\\# h #x");
        assert!(content.ends_with("<@123>"), "{content}");
        assert_eq!(
            out.body["allowed_mentions"],
            json!({ "parse": [], "users": ["123"] })
        );
        assert!(out.attachment.is_none());
    }

    #[test]
    fn summaries_are_coloured_embeds_that_mention_in_content() {
        let message = Message {
            blocks: vec![
                Block::Heading(vec![Inline::Text("INC-1 · SEV2 · down".into())]),
                Block::Fields(vec![
                    field("Severity", vec![Inline::Text("SEV2 (Major)".into())]),
                    field("Status", vec![Inline::Text("investigating".into())]),
                    field("Commander", vec![Inline::Mention(UserId::new("42"))]),
                ]),
                Block::Buttons(vec![Button {
                    action: "ack".into(),
                    value: "INC-1".into(),
                    label: "Acknowledge".into(),
                }]),
            ],
        };
        let out = render(&message, &config());
        let embed = &out.body["embeds"][0];
        assert_eq!(embed["color"], SEVERITY_COLOURS[1]);
        assert_eq!(embed["title"], "INC-1 · SEV2 · down");
        assert_eq!(embed["fields"][2]["value"], "<@42>");
        assert_eq!(out.body["content"], "<@42>");
        assert_eq!(
            out.body["components"][0]["components"][0]["custom_id"],
            "ack|INC-1"
        );
        assert_eq!(parse_custom_id("ack|INC-1"), Some(("ack", "INC-1")));
    }

    #[test]
    fn long_text_is_cut_and_attached_whole() {
        let long = "a".repeat(5000);
        let out = render(&Message::text(long.clone()), &config());
        let content = out.body["content"].as_str().unwrap();
        assert_eq!(content.chars().count(), CONTENT_MAX);
        let (name, bytes) = out.attachment.unwrap();
        assert_eq!(name, OVERFLOW_FILE);
        assert_eq!(bytes.len(), 5000);

        let many: Vec<Field> = (0..30)
            .map(|n| field(&format!("f{n}"), vec![Inline::Text("v".repeat(2000))]))
            .collect();
        let out = render(
            &Message {
                blocks: vec![Block::Fields(many)],
            },
            &config(),
        );
        let embed = &out.body["embeds"][0];
        let fields = embed["fields"].as_array().unwrap();
        assert!(fields.len() <= EMBED_FIELDS_MAX);
        let total: usize = fields
            .iter()
            .map(|f| {
                f["name"].as_str().unwrap().chars().count()
                    + f["value"].as_str().unwrap().chars().count()
            })
            .sum();
        assert!(total <= EMBED_TOTAL_MAX);
        assert!(
            fields
                .iter()
                .all(|f| f["value"].as_str().unwrap().chars().count() <= FIELD_VALUE_MAX)
        );
        assert!(out.attachment.is_some());
    }

    #[test]
    fn tables_are_code_blocks_that_ping_nobody_and_fit_the_content() {
        let rows: Vec<Vec<String>> = (0..300)
            .map(|n| vec![n.to_string(), "@everyone ```".into()])
            .collect();
        let message = Message {
            blocks: vec![
                Block::Paragraph(vec![Inline::Text("Recovery report".into())]),
                Block::Table {
                    header: vec!["step".into(), "action".into()],
                    rows,
                },
            ],
        };
        let out = render(&message, &config());
        let content = out.body["content"].as_str().unwrap();
        assert!(
            content.starts_with("Recovery report\n```\nstep  action"),
            "{content}"
        );
        assert!(content.ends_with("\n```"), "{content}");
        assert_eq!(content.matches("```").count(), 2, "{content}");
        assert!(
            content.contains("0     @everyone ˋˋˋ"),
            "aligned: {content}"
        );
        assert!(content.contains("more row(s)"), "{content}");
        assert!(content.chars().count() <= CONTENT_MAX);
        assert!(
            out.attachment.is_none(),
            "the table was cut to fit, not the message"
        );
        assert_eq!(
            out.body["allowed_mentions"],
            json!({ "parse": [], "users": [] })
        );
    }

    #[test]
    fn truncation_keeps_escapes_whole() {
        assert_eq!(truncate("ab\\*cd", 4), "ab…");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
