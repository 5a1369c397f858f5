//! A fake Discord on 127.0.0.1 for the tests and the interaction benchmark: REST
//! under `/api/v10` with Discord's paths and JSON shapes, and a gateway on
//! `ws://127.0.0.1` speaking the real protocol (HELLO, IDENTIFY, heartbeats and
//! their ACKs, READY, GUILD_CREATE, dispatches with sequence numbers, RESUME with
//! replay, RESUMED).
//!
//! It records every REST request and keeps the threads and messages they made, so
//! tests assert on what a Discord server would have seen.

#![allow(dead_code)] // the tests and the benchmark each use their own part

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::{Signer, SigningKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const APPLICATION_ID: &str = "900000000000000001";
pub const GUILD_ID: &str = "100000000000000001";
pub const INCIDENTS_CHANNEL: &str = "200000000000000001";
pub const ANNOUNCE_CHANNEL: &str = "300000000000000001";
pub const BOT_ID: &str = "900000000000000002";
pub const TOKEN: &str = "fake-bot-token";
/// The heartbeat interval the gateway asks for, short so tests see heartbeats.
pub const HEARTBEAT_MS: u64 = 250;

/// Waits until `check` returns something, polling, for at most `limit`.
pub async fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One REST request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    /// The JSON body (`payload_json` of a multipart body), or `Null`.
    pub body: Value,
    /// Files attached in a multipart body: (file name, content as text).
    pub files: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub status: u16,
    pub at: Instant,
}

/// A message as it stands now.
#[derive(Debug, Clone)]
pub struct FakeMessage {
    pub id: String,
    pub channel: String,
    pub body: Value,
    /// Files attached when it was posted: (file name, content as text).
    pub files: Vec<(String, String)>,
    pub edits: u32,
    pub pinned: bool,
}

/// Discord's limits on what a message carries (see `check_message`).
pub const CONTENT_MAX: usize = 2000;
pub const ATTACHMENT_MAX: usize = 10 * 1024 * 1024;

#[derive(Default)]
struct RestState {
    requests: Vec<Recorded>,
    next_id: u64,
    threads: Vec<Value>,
    members: BTreeMap<String, Vec<String>>,
    messages: Vec<FakeMessage>,
    /// Messages people wrote, readable through `GET /channels/{c}/messages/{m}`.
    authored: BTreeMap<String, Value>,
    /// Message POSTs still to answer with 429 `{retry_after, global: false}`.
    rate_limits: Vec<f64>,
    /// Who gave a message a reaction: (message id, emoji) → user ids, in order.
    reactors: BTreeMap<(String, String), Vec<String>>,
    /// Message POSTs still to carry out and then answer 500, as when the answer
    /// is lost on its way back.
    lost_answers: u32,
}

pub struct FakeDiscord {
    pub api_url: String,
    pub gateway: Arc<Gateway>,
    rest: Arc<Mutex<RestState>>,
}

impl FakeDiscord {
    pub async fn start() -> Self {
        let gateway = Gateway::start().await;
        let rest = Arc::new(Mutex::new(RestState {
            next_id: 500_000_000_000_000_000,
            ..RestState::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake REST");
        let api_url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new()
            .fallback(handle)
            // Discord takes requests of up to 25 MiB.
            .layer(axum::extract::DefaultBodyLimit::max(25 * 1024 * 1024))
            .with_state((rest.clone(), gateway.clone()));
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake REST serves");
        });
        Self {
            api_url,
            gateway,
            rest,
        }
    }

    fn state(&self) -> MutexGuard<'_, RestState> {
        self.rest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `count` message POSTs are carried out, then answered 500 as if
    /// the answer had been lost on its way back.
    pub fn lose_message_answers(&self, count: u32) {
        self.state().lost_answers += count;
    }

    /// The next message POST is answered 429 with this `retry_after`.
    pub fn rate_limit_next_message(&self, retry_after: f64) {
        self.state().rate_limits.push(retry_after);
    }

    /// A message a person wrote, as `GET /channels/{channel}/messages/{id}` returns it.
    pub fn author_message(&self, channel: &str, id: &str, author: &str, content: &str) {
        let message = message_object(id, channel, author, false, content);
        self.state().authored.insert(id.to_string(), message);
    }

    /// `user` pins a message people wrote while warroom is not connected: the
    /// message is pinned and the "pinned a message" notice is in the channel,
    /// but no gateway event reaches warroom.
    pub fn pin_unseen(&self, user: &str, channel: &str, message: &str) {
        let mut state = self.state();
        if let Some(authored) = state.authored.get_mut(message) {
            authored["pinned"] = json!(true);
        }
        state.next_id += 1;
        let notice_id = state.next_id.to_string();
        let notice = pin_notice(&notice_id, channel, message, user, false);
        state.authored.insert(notice_id, notice);
    }

    /// `user` gives a message people wrote the reaction `emoji` while warroom is
    /// not connected: the message shows it, no gateway event reaches warroom.
    pub fn react_unseen(&self, user: &str, message: &str, emoji: &str) {
        let mut state = self.state();
        let reactors = state
            .reactors
            .entry((message.to_string(), emoji.to_string()))
            .or_default();
        reactors.push(user.to_string());
        let count = reactors.len();
        if let Some(authored) = state.authored.get_mut(message) {
            authored["reactions"] = json!([{
                "count": count, "me": false,
                "emoji": { "id": null, "name": emoji },
            }]);
        }
    }

    /// `user` pins a message people wrote, in the Discord client: the message is
    /// pinned, and the gateway carries the "pinned a message" notice (returned, to
    /// deliver again) and the pins update, as Discord sends them.
    pub fn pin_by(&self, user: &str, channel: &str, message: &str) -> Value {
        let notice_id = {
            let mut state = self.state();
            if let Some(authored) = state.authored.get_mut(message) {
                authored["pinned"] = json!(true);
            }
            state.next_id += 1;
            state.next_id.to_string()
        };
        let notice = pin_notice(&notice_id, channel, message, user, false);
        self.gateway.dispatch("MESSAGE_CREATE", notice.clone());
        self.gateway
            .dispatch("CHANNEL_PINS_UPDATE", pins_update(channel));
        notice
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// Requests with this method whose path contains `path_part`.
    pub fn requests_to(&self, method: &Method, path_part: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == *method && r.path.contains(path_part))
            .collect()
    }

    pub fn threads(&self) -> Vec<Value> {
        self.state().threads.clone()
    }

    pub fn members(&self, thread: &str) -> Vec<String> {
        self.state()
            .members
            .get(thread)
            .cloned()
            .unwrap_or_default()
    }

    pub fn messages_in(&self, channel: &str) -> Vec<FakeMessage> {
        self.state()
            .messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// The first callback answer to an interaction.
    pub fn callback(&self, interaction_id: &str) -> Option<Value> {
        let path = format!("/api/v10/interactions/{interaction_id}/");
        self.requests()
            .into_iter()
            .find(|r| r.method == Method::POST && r.path.starts_with(&path))
            .map(|r| r.body)
    }

    /// The final reply to an interaction: its type 4 callback, or the edit of
    /// `@original` after a type 5.
    pub fn reply(&self, interaction_id: &str, token: &str) -> Option<Value> {
        let callback = self.callback(interaction_id)?;
        match callback["type"].as_u64() {
            Some(5) => {
                let original = format!("/webhooks/{APPLICATION_ID}/{token}/messages/@original");
                self.requests_to(&Method::PATCH, &original)
                    .first()
                    .map(|r| r.body.clone())
            }
            _ => Some(callback["data"].clone()),
        }
    }
}

type Shared = (Arc<Mutex<RestState>>, Arc<Gateway>);

async fn handle(
    State((rest, gateway)): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let (body_json, files) = read_body(&headers, &body);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut state = rest.lock().unwrap_or_else(|e| e.into_inner());
    let segments: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let refused = check_message(&method, &segments, &body_json, &files)
        .or_else(|| check_commands(&method, &segments, &body_json));
    let (status, answer) = match refused {
        Some(refused) => refused,
        None => route(&mut state, &method, &segments, &body_json, &files, &gateway),
    };
    state.requests.push(Recorded {
        method,
        path,
        body: body_json,
        files,
        authorization,
        status: status.as_u16(),
        at: Instant::now(),
    });
    match answer {
        Some(value) => (status, axum::Json(value)).into_response(),
        None => status.into_response(),
    }
}

/// What Discord refuses in a bulk overwrite of application commands, global or
/// in a guild: more than 25 options (subcommands) in a command or subcommand,
/// a name that is not 1–32 lowercase letters, digits, `-` or `_`, or a
/// description that is not 1–100 characters.
fn check_commands(
    method: &Method,
    segments: &[&str],
    body: &Value,
) -> Option<(StatusCode, Option<Value>)> {
    let is_overwrite = matches!(
        (method.as_str(), segments),
        (
            "PUT",
            ["applications", _, "commands"] | ["applications", _, "guilds", _, "commands"]
        )
    );
    if !is_overwrite {
        return None;
    }
    fn bad(command: &Value) -> bool {
        let name = command["name"].as_str().unwrap_or_default();
        let description = command["description"].as_str().unwrap_or_default();
        let options = command["options"].as_array().cloned().unwrap_or_default();
        let name_ok = (1..=32).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_lowercase() || c.is_numeric() || c == '-' || c == '_');
        !name_ok
            || !(1..=100).contains(&description.chars().count())
            || options.len() > 25
            || options.iter().any(bad)
    }
    let commands = body.as_array().cloned().unwrap_or_default();
    commands.iter().any(bad).then(|| {
        (
            StatusCode::BAD_REQUEST,
            Some(json!({
                "message": "Invalid Form Body",
                "code": 50035,
                "errors": { "_errors": [{ "code": "APPLICATION_COMMAND_INVALID", "message": "Invalid application command" }] },
            })),
        )
    })
}

/// What Discord refuses in a message body, wherever one is sent (channel
/// messages, their edits, interaction answers, webhook messages), with its real
/// error: content over 2000 characters, an embed over its limits (title 256,
/// description 4096, 25 fields of 256 / 1024, 6000 in all), nothing to show, an
/// attachment over 10 MiB (413), or attachment metadata naming no uploaded file.
fn check_message(
    method: &Method,
    segments: &[&str],
    body: &Value,
    files: &[(String, String)],
) -> Option<(StatusCode, Option<Value>)> {
    let message = match (method.as_str(), segments) {
        ("POST" | "PATCH", ["channels", _, "messages", ..]) if segments.get(3) != Some(&"pins") => {
            body
        }
        ("POST" | "PATCH", ["webhooks", ..]) => body,
        ("POST", ["interactions", _, _, "callback"]) if body["type"] == 4 || body["type"] == 7 => {
            &body["data"]
        }
        _ => return None,
    };
    if files
        .iter()
        .any(|(_, content)| content.len() > ATTACHMENT_MAX)
    {
        return Some((
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(json!({ "message": "Request entity too large", "code": 40005 })),
        ));
    }
    let invalid = |field: &str, code: &str, text: String| {
        Some((
            StatusCode::BAD_REQUEST,
            Some(json!({
                "message": "Invalid Form Body",
                "code": 50035,
                "errors": { field: { "_errors": [{ "code": code, "message": text }] } },
            })),
        ))
    };
    let chars = |value: &Value| value.as_str().map_or(0, |s| s.chars().count());
    if chars(&message["content"]) > CONTENT_MAX {
        return invalid(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {CONTENT_MAX} or fewer in length."),
        );
    }
    let embeds = message["embeds"].as_array().cloned().unwrap_or_default();
    let mut total = 0;
    for embed in &embeds {
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        let too_long = chars(&embed["title"]) > 256
            || chars(&embed["description"]) > 4096
            || fields.len() > 25
            || fields
                .iter()
                .any(|f| chars(&f["name"]) > 256 || chars(&f["value"]) > 1024);
        if too_long {
            return invalid(
                "embeds",
                "BASE_TYPE_MAX_LENGTH",
                "An embed field is too long.".into(),
            );
        }
        total += chars(&embed["title"])
            + chars(&embed["description"])
            + chars(&embed["footer"]["text"])
            + chars(&embed["author"]["name"])
            + fields
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>();
    }
    if embeds.len() > 10 || total > 6000 {
        return invalid(
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000".into(),
        );
    }
    let attachments = message["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if attachments
        .iter()
        .any(|a| a["id"].as_u64().is_none_or(|id| id as usize >= files.len()))
    {
        return invalid(
            "attachments",
            "ATTACHMENT_NOT_FOUND",
            "Attachment data not found".into(),
        );
    }
    let empty = chars(&message["content"]) == 0
        && embeds.is_empty()
        && files.is_empty()
        && message["components"].as_array().is_none_or(Vec::is_empty);
    if method == Method::POST && segments.first() == Some(&"channels") && empty {
        return Some((
            StatusCode::BAD_REQUEST,
            Some(json!({ "message": "Cannot send an empty message", "code": 50006 })),
        ));
    }
    None
}

fn route(
    state: &mut RestState,
    method: &Method,
    segments: &[&str],
    body: &Value,
    files: &[(String, String)],
    gateway: &Gateway,
) -> (StatusCode, Option<Value>) {
    let gateway_url = gateway.url.as_str();
    let ok = |value: Value| (StatusCode::OK, Some(value));
    let no_content = (StatusCode::NO_CONTENT, None);
    let mut new_id = || {
        state.next_id += 1;
        state.next_id.to_string()
    };
    match (method.as_str(), segments) {
        ("GET", ["gateway"]) => ok(json!({ "url": gateway_url })),
        ("GET", ["gateway", "bot"]) => ok(json!({
            "url": gateway_url, "shards": 1,
            "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1 }
        })),
        ("PUT", ["applications", _, "guilds", _, "commands"] | ["applications", _, "commands"]) => {
            let commands: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut command| {
                    command["id"] = json!(new_id());
                    command["application_id"] = json!(APPLICATION_ID);
                    command["version"] = json!(new_id());
                    command
                })
                .collect();
            ok(Value::Array(commands))
        }
        ("GET", ["guilds", _, "threads", "active"]) => {
            ok(json!({ "threads": state.threads.clone(), "members": [] }))
        }
        ("POST", ["channels", parent, "threads"]) => {
            if !matches!(body["type"].as_u64(), None | Some(10..=12)) {
                return (
                    StatusCode::BAD_REQUEST,
                    Some(json!({ "message": "Invalid Form Body", "code": 50035 })),
                );
            }
            let mut thread = json!({
                "id": new_id(), "type": body["type"].clone(), "guild_id": GUILD_ID,
                "parent_id": parent, "name": body["name"].clone(), "owner_id": BOT_ID,
                "thread_metadata": {
                    "archived": false, "auto_archive_duration": body["auto_archive_duration"].clone(),
                    "archive_timestamp": "2026-11-23T14:00:00.000000+00:00", "locked": false
                },
                "message_count": 0, "member_count": 1, "rate_limit_per_user": 0, "flags": 0
            });
            // Only a private thread says whether its members may invite others.
            if body["type"] == 12 {
                thread["thread_metadata"]["invitable"] = json!(body["invitable"] != false);
            }
            state.threads.push(thread.clone());
            (StatusCode::CREATED, Some(thread))
        }
        ("PUT", ["channels", thread, "thread-members", user]) => {
            let members = state.members.entry(thread.to_string()).or_default();
            if !members.iter().any(|m| m == user) {
                members.push(user.to_string());
            }
            no_content
        }
        ("POST", ["channels", channel, "messages"]) => {
            if !state.rate_limits.is_empty() {
                let retry_after = state.rate_limits.remove(0);
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(
                        json!({ "message": "You are being rate limited.", "retry_after": retry_after, "global": false }),
                    ),
                );
            }
            // With `enforce_nonce`, a nonce this channel saw already returns that
            // message instead of creating another.
            let nonce = body["nonce"]
                .as_str()
                .filter(|_| body["enforce_nonce"] == true);
            if let Some(earlier) = nonce.and_then(|nonce| {
                state
                    .messages
                    .iter()
                    .find(|m| m.channel == *channel && m.body["nonce"].as_str() == Some(nonce))
            }) {
                return ok(posted_object(earlier));
            }
            let id = new_id();
            state.messages.push(FakeMessage {
                id: id.clone(),
                channel: channel.to_string(),
                body: body.clone(),
                files: files.to_vec(),
                edits: 0,
                pinned: false,
            });
            let mut message = message_object(
                &id,
                channel,
                BOT_ID,
                true,
                body["content"].as_str().unwrap_or(""),
            );
            message["embeds"] = body.get("embeds").cloned().unwrap_or(json!([]));
            if state.lost_answers > 0 {
                state.lost_answers -= 1;
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Some(json!({ "message": "500: Internal Server Error", "code": 0 })),
                );
            }
            ok(message)
        }
        ("GET", ["channels", channel, "messages"]) => {
            // Newest first, as Discord lists them; people's messages and notices.
            let mut listed: Vec<&Value> = state
                .authored
                .values()
                .filter(|m| m["channel_id"].as_str() == Some(channel))
                .collect();
            listed.sort_by_key(|m| {
                std::cmp::Reverse(m["id"].as_str().and_then(|id| id.parse::<u64>().ok()))
            });
            ok(Value::Array(listed.into_iter().cloned().collect()))
        }
        ("GET", ["channels", _, "messages", id, "reactions", emoji]) => {
            let emoji = percent_decoded(emoji);
            let users = state
                .reactors
                .get(&(id.to_string(), emoji))
                .into_iter()
                .flatten()
                .map(|user| user_object(user, false))
                .collect();
            ok(Value::Array(users))
        }
        ("GET", ["channels", _, "messages", id]) => match state.authored.get(*id) {
            Some(message) => ok(message.clone()),
            None if state.messages.iter().any(|m| m.id == *id) => {
                let posted = state.messages.iter().find(|m| m.id == *id);
                ok(posted.map(posted_object).unwrap_or(Value::Null))
            }
            None => (
                StatusCode::NOT_FOUND,
                Some(json!({ "message": "Unknown Message", "code": 10008 })),
            ),
        },
        ("PATCH", ["channels", channel, "messages", id]) => {
            match state
                .messages
                .iter_mut()
                .find(|m| m.id == *id && m.channel == *channel)
            {
                Some(message) => {
                    message.body = body.clone();
                    message.edits += 1;
                    let id = message.id.clone();
                    ok(message_object(
                        &id,
                        channel,
                        BOT_ID,
                        true,
                        body["content"].as_str().unwrap_or(""),
                    ))
                }
                None => (
                    StatusCode::NOT_FOUND,
                    Some(json!({ "message": "Unknown Message", "code": 10008 })),
                ),
            }
        }
        ("PUT", ["channels", channel, "messages", "pins", id]) => {
            let Some(at) = state
                .messages
                .iter()
                .position(|m| m.id == *id && m.channel == *channel)
            else {
                return (
                    StatusCode::NOT_FOUND,
                    Some(json!({ "message": "Unknown Message", "code": 10008 })),
                );
            };
            let first = !state.messages[at].pinned;
            state.messages[at].pinned = true;
            if first {
                // Discord announces a pin in the channel: the "pinned a message"
                // notice by whoever pinned it (here the bot), and the pins update.
                let notice = pin_notice(&new_id(), channel, id, BOT_ID, true);
                gateway.dispatch("MESSAGE_CREATE", notice);
                gateway.dispatch("CHANNEL_PINS_UPDATE", pins_update(channel));
            }
            no_content
        }
        ("POST", ["interactions", _, _, "callback"]) => no_content,
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => {
            ok(message_object(&new_id(), "0", BOT_ID, true, ""))
        }
        ("POST", ["webhooks", _, _]) => ok(message_object(&new_id(), "0", BOT_ID, true, "")),
        _ => (
            StatusCode::NOT_FOUND,
            Some(json!({ "message": "404: Not Found", "code": 0 })),
        ),
    }
}

/// The JSON of a body, or of `payload_json` in a multipart body, with its files.
fn read_body(headers: &HeaderMap, body: &[u8]) -> (Value, Vec<(String, String)>) {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return (
            serde_json::from_slice(body).unwrap_or(Value::Null),
            Vec::new(),
        );
    };
    let text = String::from_utf8_lossy(body);
    let mut payload = Value::Null;
    let mut files = Vec::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let content = content.trim_end_matches("\r\n");
        if head.contains("name=\"payload_json\"") {
            payload = serde_json::from_str(content).unwrap_or(Value::Null);
        } else if let Some(name) = head
            .split("filename=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
        {
            files.push((name.to_string(), content.to_string()));
        }
    }
    (payload, files)
}

/// A path segment with its `%XX` escapes decoded (an emoji in a URL).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| segment.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                at += 3;
            }
            None => {
                decoded.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

pub fn user_object(id: &str, bot: bool) -> Value {
    json!({
        "id": id, "username": format!("user{id}"), "discriminator": "0", "global_name": null,
        "avatar": null, "bot": bot, "public_flags": 0
    })
}

pub fn member_object(user: &str) -> Value {
    json!({
        "user": user_object(user, false), "nick": null, "avatar": null, "roles": [],
        "joined_at": "2026-01-01T00:00:00.000000+00:00", "premium_since": null,
        "deaf": false, "mute": false, "flags": 0, "pending": false, "permissions": "2248473465835073"
    })
}

/// A message object as Discord returns it.
pub fn message_object(id: &str, channel: &str, author: &str, bot: bool, content: &str) -> Value {
    json!({
        "id": id, "channel_id": channel, "author": user_object(author, bot), "content": content,
        "timestamp": "2026-11-23T14:05:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "pinned": false, "type": 0, "flags": 0, "components": []
    })
}

/// A message the bot posted, as Discord returns it: its content, embeds and buttons.
pub fn posted_object(message: &FakeMessage) -> Value {
    let mut object = message_object(
        &message.id,
        &message.channel,
        BOT_ID,
        true,
        message.body["content"].as_str().unwrap_or(""),
    );
    for part in ["embeds", "components"] {
        object[part] = message.body.get(part).cloned().unwrap_or(json!([]));
    }
    object["pinned"] = json!(message.pinned);
    object
}

/// The "pinned a message" notice (type 6, `CHANNEL_PINNED_MESSAGE`) Discord posts
/// in `channel` when `by` pins message `pinned`: no content, a `message_reference`
/// to the pinned message.
pub fn pin_notice(id: &str, channel: &str, pinned: &str, by: &str, bot: bool) -> Value {
    let mut notice = message_object(id, channel, by, bot, "");
    notice["type"] = json!(6);
    notice["guild_id"] = json!(GUILD_ID);
    notice["message_reference"] = json!({
        "type": 0, "message_id": pinned, "channel_id": channel, "guild_id": GUILD_ID
    });
    if !bot {
        notice["member"] = member_object(by);
        if let Some(member) = notice["member"].as_object_mut() {
            member.remove("user");
        }
    }
    notice
}

/// `CHANNEL_PINS_UPDATE` for a pin in `channel` just now.
pub fn pins_update(channel: &str) -> Value {
    json!({
        "guild_id": GUILD_ID, "channel_id": channel,
        "last_pin_timestamp": "2026-11-23T14:06:00.000000+00:00"
    })
}

/// A click by `user` on the button `custom_id` of `message` (a posted message
/// object, as `posted_object` gives it): a `MESSAGE_COMPONENT` interaction.
pub fn component_interaction(id: &str, user: &str, custom_id: &str, message: &Value) -> Value {
    let channel = message["channel_id"].as_str().unwrap_or_default();
    json!({
        "id": id, "application_id": APPLICATION_ID, "type": 3,
        "data": { "custom_id": custom_id, "component_type": 2 },
        "guild_id": GUILD_ID, "channel_id": channel,
        "channel": { "id": channel, "type": 11, "guild_id": GUILD_ID, "parent_id": INCIDENTS_CHANNEL, "name": "war room" },
        "member": member_object(user), "message": message,
        "token": token_of(id), "version": 1, "app_permissions": "2248473465835073",
        "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
        "authorizing_integration_owners": { "0": GUILD_ID }, "context": 0,
        "attachment_size_limit": 26214400
    })
}

/// An `/incident <subcommand>` interaction used by `user` in `channel`.
pub fn command_interaction(
    id: &str,
    user: &str,
    channel: &str,
    subcommand: &str,
    options: Value,
) -> Value {
    json!({
        "id": id, "application_id": APPLICATION_ID, "type": 2,
        "data": {
            "id": "800000000000000001", "name": "incident", "type": 1,
            "options": [{ "name": subcommand, "type": 1, "options": options }]
        },
        "guild_id": GUILD_ID, "channel_id": channel,
        "member": member_object(user),
        "token": token_of(id), "version": 1, "app_permissions": "2248473465835073",
        "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
        "authorizing_integration_owners": { "0": GUILD_ID }, "context": 0,
        "attachment_size_limit": 26214400
    })
}

/// The interaction token the fake gives interaction `id`.
pub fn token_of(id: &str) -> String {
    format!("token-{id}")
}

/// A typed option of a subcommand.
pub fn option(name: &str, kind: u8, value: Value) -> Value {
    json!({ "name": name, "type": kind, "value": value })
}

pub fn ping_interaction(id: &str) -> Value {
    json!({
        "id": id, "application_id": APPLICATION_ID, "type": 1, "token": token_of(id),
        "version": 1, "entitlements": [], "authorizing_integration_owners": {},
        "attachment_size_limit": 26214400
    })
}

/// A 📌 (or other) reaction added by `user` to `message` in `channel`.
pub fn reaction_add(user: &str, channel: &str, message: &str, emoji: &str) -> Value {
    json!({
        "type": 0, "user_id": user, "channel_id": channel, "message_id": message,
        "guild_id": GUILD_ID, "member": member_object(user), "message_author_id": user,
        "emoji": { "id": null, "name": emoji }, "burst": false, "burst_colors": []
    })
}

pub fn ready_event(session_id: &str, resume_url: &str) -> Value {
    json!({
        "v": 10,
        "user": {
            "id": BOT_ID, "username": "warroom", "discriminator": "0", "global_name": null,
            "avatar": null, "bot": true, "verified": true, "mfa_enabled": false, "flags": 0,
            "public_flags": 0
        },
        "guilds": [{ "id": GUILD_ID, "unavailable": true }],
        "session_id": session_id, "resume_gateway_url": resume_url, "shard": [0, 1],
        "application": { "id": APPLICATION_ID, "flags": 0 }
    })
}

pub fn guild_create_event() -> Value {
    let mut guild = json!({
        "id": GUILD_ID, "name": "Ops", "icon": null, "icon_hash": null, "splash": null,
        "discovery_splash": null, "owner_id": "100000000000000009", "afk_channel_id": null,
        "afk_timeout": 300, "widget_enabled": false, "widget_channel_id": null,
        "verification_level": 1, "default_message_notifications": 1, "explicit_content_filter": 0,
        "roles": [], "emojis": [], "features": [], "mfa_level": 0, "application_id": null,
        "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        "max_presences": null, "max_members": 250000, "vanity_url_code": null, "description": null,
        "banner": null, "premium_tier": 0, "premium_subscription_count": 0,
        "preferred_locale": "en-US", "public_updates_channel_id": null
    });
    let gateway_part = json!({
        "max_video_channel_users": 25, "max_stage_video_channel_users": 50,
        "nsfw_level": 0, "stickers": [], "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "joined_at": "2026-01-01T00:00:00.000000+00:00", "large": false, "unavailable": false,
        "member_count": 4, "voice_states": [], "members": [], "presences": [],
        "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
        "channels": [
            { "id": INCIDENTS_CHANNEL, "type": 0, "guild_id": GUILD_ID, "name": "incidents", "position": 0, "permission_overwrites": [], "nsfw": false, "parent_id": null },
            { "id": ANNOUNCE_CHANNEL, "type": 0, "guild_id": GUILD_ID, "name": "announcements", "position": 1, "permission_overwrites": [], "nsfw": false, "parent_id": null }
        ],
        "threads": []
    });
    if let (Some(all), Some(more)) = (guild.as_object_mut(), gateway_part.as_object()) {
        all.extend(more.clone());
    }
    guild
}

/// A frame to send: `(op, t, d)`; dispatches (op 0) get the next sequence number.
enum Control {
    Dispatch(&'static str, Value),
    /// Drop the TCP connection without a close frame: the client sees close 1006.
    Drop,
}

#[derive(Default)]
struct GatewayState {
    session_id: Option<String>,
    seq: u64,
    /// Every dispatch of the current session, for replay on RESUME.
    sent: Vec<(u64, &'static str, Value)>,
    /// Dispatches waiting for a connection.
    pending: Vec<(&'static str, Value)>,
    live: Option<mpsc::UnboundedSender<Control>>,
    identifies: Vec<Value>,
    resumes: Vec<Value>,
    heartbeats: u32,
    sessions: u32,
}

pub struct Gateway {
    pub url: String,
    state: Mutex<GatewayState>,
}

impl Gateway {
    async fn start() -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake gateway");
        let url = format!("ws://{}", listener.local_addr().expect("address"));
        let gateway = Arc::new(Self {
            url,
            state: Mutex::new(GatewayState::default()),
        });
        let serving = gateway.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let gateway = serving.clone();
                tokio::spawn(async move { gateway.connection(stream).await });
            }
        });
        gateway
    }

    fn state(&self) -> MutexGuard<'_, GatewayState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a client has identified (or resumed) on a connection that is up.
    pub fn is_live(&self) -> bool {
        self.state().live.is_some()
    }

    pub fn identifies(&self) -> Vec<Value> {
        self.state().identifies.clone()
    }

    pub fn resumes(&self) -> Vec<Value> {
        self.state().resumes.clone()
    }

    pub fn heartbeats(&self) -> u32 {
        self.state().heartbeats
    }

    /// Sends a dispatch now, or as soon as a client is connected again.
    pub fn dispatch(&self, event: &'static str, data: Value) {
        let mut state = self.state();
        match &state.live {
            Some(live) if live.send(Control::Dispatch(event, data.clone())).is_ok() => {}
            _ => state.pending.push((event, data)),
        }
    }

    /// Drops the live connection abruptly (close code 1006 for the client).
    pub fn drop_connection(&self) {
        if let Some(live) = self.state().live.take() {
            let _ = live.send(Control::Drop);
        }
    }

    async fn connection(self: Arc<Self>, stream: tokio::net::TcpStream) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let hello =
            json!({ "op": 10, "d": { "heartbeat_interval": HEARTBEAT_MS }, "s": null, "t": null });
        if ws
            .send(WsMessage::Text(hello.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
        let (control, mut controls) = mpsc::unbounded_channel();
        loop {
            tokio::select! {
                frame = ws.next() => {
                    let Some(Ok(frame)) = frame else { break };
                    let WsMessage::Text(text) = frame else { continue };
                    let Ok(payload) = serde_json::from_str::<Value>(&text) else { continue };
                    let replies = self.receive(&payload, &control);
                    for reply in replies {
                        if ws.send(WsMessage::Text(reply.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                }
                next = controls.recv() => match next {
                    Some(Control::Dispatch(event, data)) => {
                        let frame = self.sequence(event, data);
                        if ws.send(WsMessage::Text(frame.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                    Some(Control::Drop) | None => {
                        // No close frame: the TCP connection just goes away.
                        drop(ws);
                        return;
                    }
                },
            }
        }
        let mut state = self.state();
        if state
            .live
            .as_ref()
            .is_some_and(|live| live.same_channel(&control))
        {
            state.live = None;
        }
    }

    /// Answers one client frame; may make this connection the live one.
    fn receive(&self, payload: &Value, control: &mpsc::UnboundedSender<Control>) -> Vec<Value> {
        let mut out = Vec::new();
        match payload["op"].as_u64() {
            Some(1) => {
                self.state().heartbeats += 1;
                out.push(json!({ "op": 11, "d": null, "s": null, "t": null }));
            }
            Some(2) => {
                let session = {
                    let mut state = self.state();
                    state.identifies.push(payload["d"].clone());
                    state.sessions += 1;
                    let session = format!("session-{}", state.sessions);
                    state.session_id = Some(session.clone());
                    state.seq = 0;
                    state.sent.clear();
                    session
                };
                out.push(self.sequence("READY", ready_event(&session, &self.url)));
                out.push(self.sequence("GUILD_CREATE", guild_create_event()));
                out.extend(self.go_live(control));
            }
            Some(6) => {
                let d = &payload["d"];
                let (valid, replay) = {
                    let mut state = self.state();
                    state.resumes.push(d.clone());
                    let valid = state.session_id.as_deref() == d["session_id"].as_str();
                    let after = d["seq"].as_u64().unwrap_or(0);
                    let replay: Vec<Value> = state
                        .sent
                        .iter()
                        .filter(|(seq, _, _)| *seq > after)
                        .map(|(seq, t, d)| json!({ "op": 0, "s": seq, "t": t, "d": d }))
                        .collect();
                    (valid, replay)
                };
                if valid {
                    out.extend(replay);
                    out.push(self.sequence("RESUMED", json!({})));
                    out.extend(self.go_live(control));
                } else {
                    out.push(json!({ "op": 9, "d": false, "s": null, "t": null }));
                }
            }
            _ => {}
        }
        out
    }

    /// Makes `control` the live connection and hands back the dispatches that waited.
    fn go_live(&self, control: &mpsc::UnboundedSender<Control>) -> Vec<Value> {
        let pending = {
            let mut state = self.state();
            state.live = Some(control.clone());
            std::mem::take(&mut state.pending)
        };
        pending
            .into_iter()
            .map(|(event, data)| self.sequence(event, data))
            .collect()
    }

    fn sequence(&self, event: &'static str, data: Value) -> Value {
        let mut state = self.state();
        state.seq += 1;
        let seq = state.seq;
        state.sent.push((seq, event, data.clone()));
        json!({ "op": 0, "s": seq, "t": event, "d": data })
    }
}

/// A test application key pair for the HTTP interactions endpoint.
pub struct TestKey(SigningKey);

impl TestKey {
    pub fn new(seed: u8) -> Self {
        Self(SigningKey::from_bytes(&[seed; 32]))
    }

    pub fn public_hex(&self) -> String {
        hex(self.0.verifying_key().as_bytes())
    }

    /// `X-Signature-Ed25519` for `timestamp ‖ body`.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        hex(&self.0.sign(&message).to_bytes())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seconds since the epoch, as `X-Signature-Timestamp` carries them.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Sends a signed interaction to warroom's `POST /discord/interactions`.
pub async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    key: &TestKey,
    timestamp: i64,
    body: &Value,
) -> (u16, Value) {
    let body = body.to_string();
    let timestamp = timestamp.to_string();
    let signature = key.sign(&timestamp, body.as_bytes());
    post_raw(client, url, &signature, &timestamp, body).await
}

pub async fn post_raw(
    client: &reqwest::Client,
    url: &str,
    signature: &str,
    timestamp: &str,
    body: String,
) -> (u16, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-signature-ed25519", signature)
        .header("x-signature-timestamp", timestamp)
        .body(body)
        .send()
        .await
        .expect("warroom answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Shorthand for a `Duration` in seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
