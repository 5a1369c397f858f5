//! The outbox's operations on Discord: a war room is a public thread in
//! `discord.incidents_channel`, and messages are posted, edited and pinned over REST.
//!
//! Owns: mapping [`ChatPlatform`] calls onto Discord's endpoints and its errors onto
//! [`DeliveryError`]. Must not: decide what to post, or retry (the dispatcher does).

use super::embeds::{self as markup, truncate};
use super::rest::{Rest, RestError, text_field};
use crate::config::Config;
use crate::domain::{Platform, UserId, hex, is_snowflake};
use crate::outbox::{ChatPlatform, DeliveryError, MessageRef, Post, RoomSpec, Upload};
use crate::render::Message;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

/// Discord's limit on one attachment.
const ATTACHMENT_MAX: usize = Platform::Discord.file_limit();
/// Thread names are at most 100 characters.
pub const THREAD_NAME_MAX: usize = 100;
/// A week of quiet before the thread leaves the channel list (the longest Discord allows).
pub const AUTO_ARCHIVE_MINUTES: u32 = 10080;
/// Channel type of a public thread.
const PUBLIC_THREAD: u8 = 11;
/// A thread only its members (and moderators) see.
const PRIVATE_THREAD: u8 = 12;
/// Discord's limits on a message's `nonce` and an attachment's description.
const NONCE_MAX: usize = 25;
const ATTACHMENT_DESCRIPTION_MAX: usize = 1024;

/// Where war rooms open.
#[derive(Debug, Clone)]
pub struct Place {
    pub guild_id: String,
    pub incidents_channel: String,
}

pub struct DiscordPlatform {
    rest: Rest,
    place: Place,
    config: Arc<Config>,
}

impl DiscordPlatform {
    pub fn new(rest: Rest, place: Place, config: Arc<Config>) -> Self {
        Self {
            rest,
            place,
            config,
        }
    }

    /// A thread of this name under the incidents channel that is already open, as an
    /// earlier attempt whose answer was lost would have left it.
    async fn existing_thread(&self, name: &str) -> Result<Option<String>, RestError> {
        let path = format!("/guilds/{}/threads/active", self.place.guild_id);
        let active = self.rest.json(Method::GET, &path, None).await?;
        let threads = active.get("threads").and_then(Value::as_array);
        Ok(threads.into_iter().flatten().find_map(|thread| {
            let here = text_field(thread, "parent_id") == Some(&self.place.incidents_channel);
            let same = text_field(thread, "name") == Some(name);
            (here && same)
                .then(|| text_field(thread, "id").map(str::to_string))
                .flatten()
        }))
    }
}

#[async_trait::async_trait]
impl ChatPlatform for DiscordPlatform {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    async fn create_room(&self, spec: &RoomSpec) -> Result<String, DeliveryError> {
        let name = thread_name(&spec.name);
        if let Some(id) = self.existing_thread(&name).await.map_err(delivery)? {
            return Ok(id);
        }
        let path = format!("/channels/{}/threads", self.place.incidents_channel);
        let mut body = json!({
            "name": name,
            "auto_archive_duration": AUTO_ARCHIVE_MINUTES,
            "type": PUBLIC_THREAD,
        });
        if spec.private {
            // Members cannot bring others in: only warroom adds people.
            body["type"] = json!(PRIVATE_THREAD);
            body["invitable"] = json!(false);
        }
        let thread = self
            .rest
            .json(Method::POST, &path, Some(&body))
            .await
            .map_err(delivery)?;
        text_field(&thread, "id")
            .map(str::to_string)
            .ok_or_else(|| {
                DeliveryError::Permanent("the new thread came back without an id".into())
            })
    }

    /// Adds each person to the thread; adding a member twice is a no-op on Discord.
    async fn invite(&self, room: &str, users: &[UserId]) -> Result<(), DeliveryError> {
        for user in users {
            if !is_snowflake(user.as_str()) {
                tracing::warn!(
                    user = user.as_str(),
                    "not a Discord user id; not added to the thread"
                );
                continue;
            }
            let path = format!("/channels/{room}/thread-members/{user}");
            self.rest
                .json(Method::PUT, &path, None)
                .await
                .map_err(delivery)?;
        }
        Ok(())
    }

    /// Threads have no topic. The same one-line state is in the pinned summary, which
    /// is edited in place; renaming the thread instead would break finding it again
    /// by name and runs into Discord's limit of two renames per ten minutes.
    async fn set_topic(&self, _room: &str, _topic: &Message) -> Result<(), DeliveryError> {
        Ok(())
    }

    /// Sent with the attempt's `nonce` and `enforce_nonce`: Discord returns the
    /// message an earlier attempt of this operation created in the last few
    /// minutes instead of creating a second one, so a post whose answer was lost
    /// (a timeout, a crash before it was recorded) is not repeated by the retry.
    async fn post(&self, post: &Post<'_>) -> Result<MessageRef, DeliveryError> {
        let channel = post.channel;
        let mut rendered = markup::render(post.message, &self.config);
        if let Some(body) = rendered.body.as_object_mut() {
            let marker = post.attempt.marker();
            body.insert("nonce".into(), json!(nonce(&["post", &marker])));
            body.insert("enforce_nonce".into(), json!(true));
        }
        let path = format!("/channels/{channel}/messages");
        let posted = self
            .rest
            .message(Method::POST, &path, &rendered)
            .await
            .map_err(delivery)?;
        let id = text_field(&posted, "id").ok_or_else(|| {
            DeliveryError::Permanent("the posted message came back without an id".into())
        })?;
        Ok(MessageRef {
            channel: channel.to_string(),
            id: id.to_string(),
        })
    }

    async fn edit(&self, posted: &MessageRef, message: &Message) -> Result<(), DeliveryError> {
        let rendered = markup::render(message, &self.config);
        let path = format!("/channels/{}/messages/{}", posted.channel, posted.id);
        self.rest
            .message(Method::PATCH, &path, &rendered)
            .await
            .map_err(delivery)?;
        Ok(())
    }

    async fn pin(&self, posted: &MessageRef) -> Result<(), DeliveryError> {
        let path = format!("/channels/{}/messages/pins/{}", posted.channel, posted.id);
        self.rest
            .json(Method::PUT, &path, None)
            .await
            .map_err(delivery)?;
        Ok(())
    }

    /// One message: the summary (an embed, as a message with fields renders) with
    /// the file as `files[0]`. Its `nonce` is derived from the channel and the
    /// file, and `enforce_nonce` makes Discord return the message it already
    /// created with that nonce in the last few minutes instead of a second one, so
    /// a retry after a lost answer does not post the draft twice.
    async fn upload(&self, upload: &Upload<'_>) -> Result<(), DeliveryError> {
        let (channel, file, summary) = (upload.channel, upload.file, upload.summary);
        let bytes = file.content.as_bytes();
        if bytes.len() > ATTACHMENT_MAX {
            return Err(DeliveryError::Permanent(format!(
                "{} is {} bytes; Discord takes attachments of at most {ATTACHMENT_MAX}",
                file.filename,
                bytes.len()
            )));
        }
        let rendered = markup::render(summary, &self.config);
        let mut files = vec![(file.filename.clone(), bytes.to_vec())];
        files.extend(rendered.attachment);
        // The draft is `files[0]`; a summary too long for its embed brings its own file.
        let attachments: Vec<Value> = files
            .iter()
            .enumerate()
            .map(|(id, (filename, _))| match id {
                0 => json!({
                    "id": id,
                    "filename": filename,
                    "description": truncate(&file.title, ATTACHMENT_DESCRIPTION_MAX),
                }),
                _ => json!({ "id": id, "filename": filename }),
            })
            .collect();
        let mut body = rendered.body;
        if let Some(map) = body.as_object_mut() {
            map.insert("attachments".into(), Value::Array(attachments));
            let parts = [channel, &file.filename, &file.title, &file.content];
            map.insert("nonce".into(), json!(nonce(&parts)));
            map.insert("enforce_nonce".into(), json!(true));
        }
        let path = format!("/channels/{channel}/messages");
        self.rest
            .with_files(Method::POST, &path, &body, &files)
            .await
            .map_err(delivery)?;
        Ok(())
    }
}

/// A message's `nonce`: the first 25 hex digits of a SHA-256 over `parts`, so the
/// same operation always sends the same one (an upload is named by its channel
/// and file, a post by its attempt's marker).
fn nonce(parts: &[&str]) -> String {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        hash.update(part.as_bytes());
        hash.update(&[0]);
    }
    let mut nonce = hex(hash.finish().as_ref());
    nonce.truncate(NONCE_MAX);
    nonce
}

/// The room name within Discord's 100 characters, never empty.
pub fn thread_name(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return "incident".to_string();
    }
    truncate(name, THREAD_NAME_MAX)
}

/// What the dispatcher should do about a failed call.
fn delivery(error: RestError) -> DeliveryError {
    match error {
        RestError::RateLimited { retry_after, .. } => DeliveryError::RateLimited { retry_after },
        error if error.is_transient() => DeliveryError::Transient(error.to_string()),
        error => DeliveryError::Permanent(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_names_fit() {
        let long = format!("INC-20261123-001 · {}", "x".repeat(200));
        let name = thread_name(&long);
        assert_eq!(name.chars().count(), THREAD_NAME_MAX);
        assert!(name.starts_with("INC-20261123-001 · "));
        assert_eq!(thread_name("  "), "incident");
    }

    #[test]
    fn an_upload_has_one_nonce_within_discords_limit() {
        let upload = |channel: &'static str, content: &'static str| {
            nonce(&[
                channel,
                "postmortem-INC-20261123-001.md",
                "Postmortem draft",
                content,
            ])
        };
        let first = upload("200", "# Postmortem");
        assert_eq!(first.len(), NONCE_MAX);
        assert_eq!(
            first,
            upload("200", "# Postmortem"),
            "a retry sends the same nonce"
        );
        assert_ne!(
            first,
            upload("201", "# Postmortem"),
            "another channel, another message"
        );
        assert_ne!(
            first,
            upload("200", "# Postmortem, later"),
            "another draft, another message"
        );
    }

    #[test]
    fn errors_decide_retries() {
        let limited = delivery(RestError::RateLimited {
            retry_after: std::time::Duration::from_secs(1),
            global: false,
        });
        assert!(matches!(limited, DeliveryError::RateLimited { .. }));
        let server = RestError::Status {
            status: 502,
            code: None,
            message: "bad gateway".into(),
        };
        assert!(matches!(delivery(server), DeliveryError::Transient(_)));
        let missing = RestError::Status {
            status: 403,
            code: Some(50013),
            message: "Missing Permissions".into(),
        };
        assert!(matches!(delivery(missing), DeliveryError::Permanent(_)));
    }
}
