//! The outbox's operations on Slack: war-room channels, invites, topics, messages,
//! edits, pins and file uploads, through the Web API.
//!
//! Owns: Slack's channel-name rules and what "the same room again" means on
//! Slack (at-least-once delivery may create a room twice). Must not: decide what
//! to post; the engine queued it and [`super::blocks`] shapes it.

use super::api::{ApiError, WebApi, find_in, next_cursor, string_at};
use super::blocks::{fallback_text, render, topic_text};
use crate::domain::{Platform, UserId};
use crate::outbox::{Attempt, ChatPlatform, DeliveryError, MessageRef, Post, RoomSpec, Upload};
use crate::render::{Message, escape_entities as escape};
use chrono::TimeDelta;
use serde_json::{Value, json};
use std::sync::Arc;

/// Slack's limit on one uploaded file.
const FILE_MAX: usize = Platform::Slack.file_limit();
/// Slack's limit on channel names.
pub const CHANNEL_NAME_MAX: usize = 80;
/// Slack's limit on a channel's topic and purpose.
const TOPIC_MAX: usize = 250;
/// How many names (`name`, `name-2`, …) to try before giving up on a room.
const NAME_ATTEMPTS: usize = 10;
/// How many pages of `conversations.list` to read looking for a taken name.
const LIST_PAGES: usize = 50;
/// The `event_type` of the metadata every post carries, naming its outbox row.
const POST_METADATA: &str = "warroom_post";
/// How far before a post was queued to look for an earlier attempt of it: Slack's
/// clock and ours may differ by this much.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(2);
/// How many pages of `conversations.history` (of `HISTORY_PAGE` messages) to read
/// looking for an earlier attempt of a post.
const HISTORY_PAGES: usize = 5;
const HISTORY_PAGE: &str = "200";

/// Slack as the outbox sees it.
pub struct SlackPlatform {
    api: Arc<WebApi>,
    prefix: String,
}

impl SlackPlatform {
    pub fn new(api: Arc<WebApi>, channel_prefix: &str) -> Self {
        Self {
            api,
            prefix: channel_prefix.to_string(),
        }
    }

    /// The channel with exactly this name, if the bot can see it.
    async fn find_channel(&self, name: &str, private: bool) -> Result<Option<Value>, ApiError> {
        let mut cursor = String::new();
        for _ in 0..LIST_PAGES {
            let answer = self
                .api
                .call(
                    "conversations.list",
                    &[
                        ("types", channel_type(private)),
                        ("exclude_archived", "false"),
                        ("limit", "1000"),
                        ("cursor", &cursor),
                    ],
                )
                .await?;
            if let Some(channel) = find_in(&answer, "channels", "name", name) {
                return Ok(Some(channel.clone()));
            }
            cursor = next_cursor(&answer);
            if cursor.is_empty() {
                break;
            }
        }
        Ok(None)
    }

    /// The message an earlier attempt of this post made, found in the channel's
    /// history by the metadata every post carries.
    async fn posted_before(
        &self,
        channel: &str,
        attempt: &Attempt,
    ) -> Result<Option<MessageRef>, DeliveryError> {
        let marker = attempt.marker();
        let earlier = self
            .find_since(channel, attempt, |message| {
                message
                    .pointer("/metadata/event_type")
                    .and_then(Value::as_str)
                    == Some(POST_METADATA)
                    && message
                        .pointer("/metadata/event_payload/post")
                        .and_then(Value::as_str)
                        == Some(marker.as_str())
            })
            .await?;
        earlier
            .map(|message| {
                Ok(MessageRef {
                    channel: channel.to_string(),
                    id: string_at(&message, "conversations.history", &["ts"])?,
                })
            })
            .transpose()
    }

    /// Whether an earlier attempt of this upload shared it already: a message of
    /// the bot's, since the upload was queued, with a file of this name and title.
    /// Slack's upload takes no metadata, so name and title are what tell it.
    async fn shared_before(&self, upload: &Upload<'_>) -> Result<bool, DeliveryError> {
        let bot = self.api.bot_user().await?.to_string();
        let (name, title) = (&upload.file.filename, &upload.file.title);
        let earlier = self
            .find_since(upload.channel, &upload.attempt, |message| {
                let files = message.get("files").and_then(Value::as_array);
                message.get("user").and_then(Value::as_str) == Some(&bot)
                    && files.into_iter().flatten().any(|file| {
                        file.get("name").and_then(Value::as_str) == Some(name)
                            && file.get("title").and_then(Value::as_str) == Some(title)
                    })
            })
            .await?;
        Ok(earlier.is_some())
    }

    /// The newest message in `channel` since `attempt` was queued that `wanted`
    /// picks. A history Slack will not show us (a missing scope, a direct
    /// message) is taken as "not there": posting twice beats not posting.
    async fn find_since(
        &self,
        channel: &str,
        attempt: &Attempt,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Option<Value>, DeliveryError> {
        let since = attempt.queued_at - CLOCK_SKEW;
        let oldest = format!(
            "{}.{:06}",
            since.timestamp(),
            since.timestamp_subsec_micros()
        );
        let mut cursor = String::new();
        for _ in 0..HISTORY_PAGES {
            let answer = match self
                .api
                .call(
                    "conversations.history",
                    &[
                        ("channel", channel),
                        ("oldest", &oldest),
                        ("include_all_metadata", "true"),
                        ("limit", HISTORY_PAGE),
                        ("cursor", &cursor),
                    ],
                )
                .await
                .map_err(DeliveryError::from)
            {
                Ok(answer) => answer,
                Err(DeliveryError::Permanent(error)) => {
                    tracing::warn!(%error, "cannot look for an earlier attempt; delivering again");
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
            let messages = answer.get("messages").and_then(Value::as_array);
            if let Some(earlier) = messages.into_iter().flatten().find(|m| wanted(m)) {
                tracing::info!(
                    row = attempt.row,
                    "an earlier attempt delivered this already"
                );
                return Ok(Some(earlier.clone()));
            }
            cursor = next_cursor(&answer);
            if cursor.is_empty() {
                break;
            }
        }
        Ok(None)
    }

    /// Whether a channel that took our name is the room an earlier attempt of this
    /// same operation made: created by this bot, not archived, and with this
    /// room's purpose (or none yet, if that attempt stopped right after creating).
    async fn is_ours(&self, channel: &Value, purpose: &str) -> Result<bool, ApiError> {
        let bot = self.api.bot_user().await?;
        let creator = channel.get("creator").and_then(Value::as_str);
        let archived = channel
            .get("is_archived")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let existing = channel
            .pointer("/purpose/value")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let same_purpose = existing.is_empty() || unescape(existing) == purpose;
        Ok(creator == Some(bot) && !archived && same_purpose)
    }

    /// Creates the channel or finds the one an earlier attempt created; a name
    /// taken by anything else (another incident's room, a person's channel, an
    /// archived room) moves on to `name-2`, `name-3`, …
    async fn create_or_reuse(
        &self,
        base: &str,
        purpose: &str,
        private: bool,
    ) -> Result<String, DeliveryError> {
        for attempt in 1..=NAME_ATTEMPTS {
            let name = with_suffix(base, attempt);
            match self
                .api
                .call(
                    "conversations.create",
                    &[("name", &name), ("is_private", &private.to_string())],
                )
                .await
            {
                Ok(answer) => {
                    return Ok(string_at(
                        &answer,
                        "conversations.create",
                        &["channel", "id"],
                    )?);
                }
                Err(error) if error.is("name_taken") => {
                    if let Some(channel) = self.find_channel(&name, private).await?
                        && self.is_ours(&channel, purpose).await?
                    {
                        let id = string_at(&channel, "conversations.list", &["id"])?;
                        tracing::info!(channel = %id, "war room existed already; reusing it");
                        return Ok(id);
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(DeliveryError::Permanent(format!(
            "no free channel name: {base} and {} variants are taken",
            NAME_ATTEMPTS - 1
        )))
    }

    async fn invite_one_by_one(&self, room: &str, users: &[&str]) -> Result<(), DeliveryError> {
        for user in users {
            match self
                .api
                .call(
                    "conversations.invite",
                    &[("channel", room), ("users", user)],
                )
                .await
            {
                Ok(_) => {}
                Err(error) if error.is("already_in_channel") || error.is("cant_invite_self") => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ChatPlatform for SlackPlatform {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn create_room(&self, spec: &RoomSpec) -> Result<String, DeliveryError> {
        let base = channel_name(&self.prefix, &spec.name);
        let purpose = cut(&spec.purpose, TOPIC_MAX);
        let room = self.create_or_reuse(&base, &purpose, spec.private).await?;
        // Set on every attempt: a retry after a crash between these calls must
        // still leave the room complete, and setting the same value is harmless.
        self.api
            .call(
                "conversations.setPurpose",
                &[("channel", &room), ("purpose", &escape(&purpose))],
            )
            .await?;
        self.set_topic(&room, &spec.topic).await?;
        Ok(room)
    }

    async fn invite(&self, room: &str, users: &[UserId]) -> Result<(), DeliveryError> {
        let users: Vec<&str> = users.iter().map(UserId::as_str).collect();
        if users.is_empty() {
            return Ok(());
        }
        let joined = users.join(",");
        match self
            .api
            .call(
                "conversations.invite",
                &[("channel", room), ("users", &joined), ("force", "true")],
            )
            .await
        {
            Ok(_) => Ok(()),
            // One member already present fails the whole call; invite the rest alone.
            Err(error) if error.is("already_in_channel") || error.is("cant_invite_self") => {
                if users.len() == 1 {
                    Ok(())
                } else {
                    self.invite_one_by_one(room, &users).await
                }
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn set_topic(&self, room: &str, topic: &Message) -> Result<(), DeliveryError> {
        self.api
            .call(
                "conversations.setTopic",
                &[("channel", room), ("topic", &topic_text(topic, TOPIC_MAX))],
            )
            .await?;
        Ok(())
    }

    /// Every post carries its attempt's marker as message metadata; a retry that
    /// may follow a delivered attempt looks for it in the channel's history first,
    /// so a post whose answer was lost (a timeout, a 5xx, a crash before it was
    /// recorded) is not shown twice.
    async fn post(&self, post: &Post<'_>) -> Result<MessageRef, DeliveryError> {
        let (channel, message, attempt) = (post.channel, post.message, post.attempt);
        if attempt.maybe_delivered
            && let Some(earlier) = self.posted_before(channel, &attempt).await?
        {
            return Ok(earlier);
        }
        let slack = render(message);
        let blocks = Value::Array(slack.blocks).to_string();
        let metadata = json!({
            "event_type": POST_METADATA,
            "event_payload": { "post": attempt.marker() },
        })
        .to_string();
        let answer = self
            .api
            .call(
                "chat.postMessage",
                &[
                    ("channel", channel),
                    ("text", &slack.text),
                    ("blocks", &blocks),
                    ("metadata", &metadata),
                    ("unfurl_links", "false"),
                    ("unfurl_media", "false"),
                ],
            )
            .await?;
        Ok(MessageRef {
            // Slack answers with the channel id even when posted to by name.
            channel: string_at(&answer, "chat.postMessage", &["channel"])
                .unwrap_or_else(|_| channel.to_string()),
            id: string_at(&answer, "chat.postMessage", &["ts"])?,
        })
    }

    async fn edit(&self, posted: &MessageRef, message: &Message) -> Result<(), DeliveryError> {
        let slack = render(message);
        let blocks = Value::Array(slack.blocks).to_string();
        self.api
            .call(
                "chat.update",
                &[
                    ("channel", &posted.channel),
                    ("ts", &posted.id),
                    ("text", &slack.text),
                    ("blocks", &blocks),
                ],
            )
            .await?;
        Ok(())
    }

    async fn pin(&self, posted: &MessageRef) -> Result<(), DeliveryError> {
        match self
            .api
            .call(
                "pins.add",
                &[("channel", &posted.channel), ("timestamp", &posted.id)],
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.is("already_pinned") => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Slack's external upload in three steps: ask for an upload URL, send the
    /// bytes there, then complete the upload, which shares the file in the channel
    /// with the summary as its `initial_comment`. One message then carries both,
    /// so no retry can leave a summary without its file or post the summary twice,
    /// as a separate summary message with the file in its thread could.
    ///
    /// A failure before the last step (a 429 or 5xx included) leaves an upload
    /// that was never completed, which Slack discards; the retry starts over with
    /// a new upload URL, and nothing shows twice. If `files.completeUploadExternal`
    /// succeeded but its answer was lost (a timeout, a dropped connection, a
    /// crash), the retry finds the shared file in the channel's history and stops.
    async fn upload(&self, upload: &Upload<'_>) -> Result<(), DeliveryError> {
        let (channel, file, summary) = (upload.channel, upload.file, upload.summary);
        if upload.attempt.maybe_delivered && self.shared_before(upload).await? {
            return Ok(());
        }
        const GET_URL: &str = "files.getUploadURLExternal";
        let bytes = file.content.as_bytes();
        if bytes.is_empty() || bytes.len() > FILE_MAX {
            return Err(DeliveryError::Permanent(format!(
                "{} is {} bytes; Slack takes files of 1 byte to {FILE_MAX} bytes",
                file.filename,
                bytes.len()
            )));
        }
        let length = bytes.len().to_string();
        let answer = self
            .api
            .call(
                GET_URL,
                &[("filename", &file.filename), ("length", &length)],
            )
            .await?;
        let upload_url = string_at(&answer, GET_URL, &["upload_url"])?;
        let file_id = string_at(&answer, GET_URL, &["file_id"])?;
        self.api.send_file(&upload_url, bytes.to_vec()).await?;
        let files = json!([{ "id": file_id, "title": file.title }]).to_string();
        self.api
            .call(
                "files.completeUploadExternal",
                &[
                    ("files", &files),
                    ("channel_id", channel),
                    ("initial_comment", &fallback_text(summary)),
                ],
            )
            .await?;
        Ok(())
    }
}

/// A war room's channel name under Slack's rules: lower-case `[a-z0-9_-]`, at
/// most 80 characters, starting with the configured prefix. The room name starts
/// with the incident id (`INC-20261123-001 · checkout is down`), whose `INC` the
/// prefix replaces: `inc-20261123-001-checkout-is-down`.
pub fn channel_name(prefix: &str, room_name: &str) -> String {
    let mut slug = String::with_capacity(room_name.len());
    for c in room_name.chars().flat_map(char::to_lowercase) {
        let kept = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            c
        } else {
            '-'
        };
        if kept == '-' && (slug.is_empty() || slug.ends_with('-')) {
            continue;
        }
        slug.push(kept);
    }
    let slug = slug.trim_end_matches('-');
    let rest = slug.strip_prefix("inc-").unwrap_or(slug);
    let name = if rest.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}-{rest}")
    };
    fit(&name, CHANNEL_NAME_MAX)
}

/// The `conversations.list` type of a war room, public or private.
fn channel_type(private: bool) -> &'static str {
    if private {
        "private_channel"
    } else {
        "public_channel"
    }
}

/// `name` for the first attempt, `name-N` after, still within Slack's limit.
fn with_suffix(name: &str, attempt: usize) -> String {
    if attempt <= 1 {
        return name.to_string();
    }
    let suffix = format!("-{attempt}");
    format!("{}{suffix}", fit(name, CHANNEL_NAME_MAX - suffix.len()))
}

/// At most `max` bytes of an ASCII name, without a trailing `-`.
fn fit(name: &str, max: usize) -> String {
    let cut = name.get(..max.min(name.len())).unwrap_or(name);
    cut.trim_end_matches('-').to_string()
}

/// At most `max` characters.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Slack returns stored text with `&`, `<`, `>` escaped.
fn unescape(text: &str) -> String {
    crate::command::decode_slack_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_slacks_rules() {
        assert_eq!(
            channel_name("inc", "INC-20261123-001 · checkout is down"),
            "inc-20261123-001-checkout-is-down"
        );
        assert_eq!(
            channel_name(
                "ops_inc",
                "INC-20261123-002 · Ünïcode & <b>Bold</b>!! API_v2"
            ),
            "ops_inc-20261123-002-n-code-b-bold-b-api_v2"
        );
        let long = channel_name("inc", &format!("INC-20261123-003 · {}", "word ".repeat(40)));
        assert!(long.len() <= CHANNEL_NAME_MAX, "{long}");
        assert!(long.starts_with("inc-20261123-003-word-word"));
        assert!(!long.ends_with('-'));
        assert!(
            long.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        );
        assert_eq!(channel_name("inc", "!!!"), "inc");
    }

    #[test]
    fn suffixes_keep_names_within_the_limit() {
        let base = "a".repeat(CHANNEL_NAME_MAX);
        assert_eq!(with_suffix(&base, 1), base);
        let second = with_suffix(&base, 2);
        assert_eq!(second.len(), CHANNEL_NAME_MAX);
        assert!(second.ends_with("a-2"));
        assert_eq!(with_suffix("inc-1-x", 10), "inc-1-x-10");
    }
}
