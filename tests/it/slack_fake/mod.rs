//! A fake Slack for the Slack tests and the ack benchmark: the Web API methods
//! warroom calls, on 127.0.0.1, with Slack's documented request arguments, error
//! codes and response shapes; the external file upload (an `upload_url` that
//! points back here); `response_url` hooks; and a Socket Mode server.
//!
//! It records every call (method, arguments, HTTP status, time) so tests can check
//! what warroom sent, and it can be told to rate-limit the next call of a method,
//! or to fail a share of all calls at random, from a seed, as a busy Slack does.

#![allow(dead_code)] // the tests and the benchmark each use their own part

use crate::common::seeded::Seeded;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as Frame;

pub const BOT_TOKEN: &str = "xoxb-fake-bot-token";
pub const APP_TOKEN: &str = "xapp-fake-app-token";
pub const BOT_USER: &str = "UWARROOMBOT";
pub const BOT_ID: &str = "B0WARROOM";
pub const TEAM: &str = "T0FAKE";

/// How long a test waits for a condition before failing.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// One Web API call as the fake received it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub args: BTreeMap<String, String>,
    /// The HTTP status the fake answered with.
    pub status: u16,
    /// `ok` in the answer (false for a 429 too).
    pub ok: bool,
    pub at: Instant,
}

impl Call {
    pub fn arg(&self, name: &str) -> &str {
        self.args.get(name).map(String::as_str).unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub topic: String,
    pub purpose: String,
    pub creator: String,
    pub archived: bool,
    pub members: Vec<String>,
    /// Created with `is_private`: listed only for `types=private_channel`.
    pub is_private: bool,
}

#[derive(Debug, Clone)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
    pub user: String,
    pub text: String,
    pub blocks: Value,
    /// The message metadata it was posted with (`event_type`, `event_payload`), if any.
    pub metadata: Value,
    pub pinned: bool,
    pub edits: u32,
    /// The thread's parent, for a reply in a thread.
    pub thread_ts: Option<String>,
}

/// A file shared in a channel by `files.completeUploadExternal`.
#[derive(Debug, Clone)]
pub struct SharedFile {
    pub id: String,
    pub channel: String,
    pub filename: String,
    pub title: String,
    pub content: Vec<u8>,
    /// The message text introducing the file.
    pub initial_comment: String,
    /// The message that shares it (one for all files of one completion).
    pub ts: String,
}

/// An upload begun with `files.getUploadURLExternal`.
#[derive(Debug, Clone)]
struct Upload {
    filename: String,
    length: usize,
    /// What was sent to the `upload_url`, once it was.
    bytes: Option<Vec<u8>>,
    completed: bool,
}

/// Slack's limit on one file, and on a message's text (which Slack cuts; the
/// fake refuses it instead, so a test cannot miss a message that long).
pub const FILE_MAX: usize = 1_000_000_000;
pub const TEXT_MAX: usize = 40_000;

#[derive(Default)]
struct Fake {
    calls: Vec<Call>,
    channels: Vec<Channel>,
    messages: Vec<Posted>,
    uploads: BTreeMap<String, Upload>,
    files: Vec<SharedFile>,
    /// Bodies of the `upload_url` POSTs, in order: (file id, byte count, HTTP status).
    sent_files: Vec<(String, usize, u16)>,
    /// `response_url` posts: (hook name, body).
    responses: Vec<(String, Value)>,
    rate_limits: HashMap<String, VecDeque<u64>>,
    /// Methods whose calls are never answered, like a call in flight when its caller died.
    swallowing: HashSet<String>,
    /// The calls swallowed so far, by method.
    swallowed: Vec<String>,
    /// Methods whose calls are carried out and then never answered, like a call
    /// Slack completed while its caller died.
    applying_then_swallowing: HashSet<String>,
    /// Methods whose next call is carried out but answered HTTP 500, as when the
    /// answer is lost on the way back.
    lose_answers: HashMap<String, u32>,
    /// How long the next calls of a method take before they are answered.
    delays: HashMap<String, VecDeque<Duration>>,
    /// Calls received and not answered yet (swallowed ones aside).
    in_flight: usize,
    /// Random refusals of any call, once a test asks for them.
    faults: Option<Faults>,
    socket_url: Option<String>,
    next_id: u64,
    next_ts: u64,
}

/// Shares of calls refused at random (neither applied nor recorded as done), in
/// percent: with HTTP 429 and `Retry-After`, or with HTTP 500.
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    pub rate_limited_percent: u64,
    pub failed_percent: u64,
    /// What a 429 asks to wait, in seconds.
    pub retry_after: u64,
}

struct Faults {
    rates: FaultRates,
    dice: Seeded,
}

impl Faults {
    /// The refusal the next call gets, if any: (HTTP status, `Retry-After`).
    fn roll(&mut self) -> Option<(u16, Option<u64>)> {
        let roll = self.dice.below(100);
        let rates = self.rates;
        if roll < rates.rate_limited_percent {
            Some((429, Some(rates.retry_after)))
        } else if roll < rates.rate_limited_percent + rates.failed_percent {
            Some((500, None))
        } else {
            None
        }
    }
}

#[derive(Clone)]
pub struct FakeSlack {
    pub addr: SocketAddr,
    state: Arc<Mutex<Fake>>,
    changed: Arc<Notify>,
}

impl FakeSlack {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Slack");
        let addr = listener.local_addr().expect("fake Slack address");
        let fake = Self {
            addr,
            state: Arc::new(Mutex::new(Fake::default())),
            changed: Arc::new(Notify::new()),
        };
        let router = Router::new()
            .route("/api/{method}", post(api))
            .route(
                "/upload/v1/{file}",
                post(upload).layer(axum::extract::DefaultBodyLimit::max(FILE_MAX)),
            )
            .route("/hooks/{name}", post(hook))
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("fake Slack serves");
        });
        fake
    }

    /// `SLACK_API_URL` for warroom.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/", self.addr)
    }

    /// A `response_url` that records what is posted to it under `name`.
    pub fn response_url(&self, name: &str) -> String {
        format!("http://{}/hooks/{name}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, Fake> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next `count` calls of `method` answer HTTP 429 with `Retry-After: seconds`.
    pub fn rate_limit_next(&self, method: &str, seconds: u64) {
        self.state()
            .rate_limits
            .entry(method.to_string())
            .or_default()
            .push_back(seconds);
    }

    /// From now on, every call may be refused as `rates` says, the dice thrown
    /// from `seed`: the same seed refuses the same calls in the same order.
    pub fn inject_faults(&self, seed: u64, rates: FaultRates) {
        self.state().faults = Some(Faults {
            rates,
            dice: Seeded::new(seed),
        });
    }

    /// From now on, calls of `method` are taken in and never answered nor applied,
    /// as a call in flight when warroom was killed; `false` answers new calls again.
    pub fn swallow_calls(&self, method: &str, swallowing: bool) {
        let mut state = self.state();
        if swallowing {
            state.swallowing.insert(method.to_string());
        } else {
            state.swallowing.remove(method);
        }
    }

    /// From now on, calls of `method` are carried out (and recorded as done) but
    /// never answered, like a call Slack completed just as warroom was killed;
    /// `false` answers new calls again.
    pub fn apply_then_swallow(&self, method: &str, swallowing: bool) {
        let mut state = self.state();
        if swallowing {
            state.applying_then_swallowing.insert(method.to_string());
        } else {
            state.applying_then_swallowing.remove(method);
        }
    }

    /// How many calls of `method` were swallowed.
    pub fn swallowed(&self, method: &str) -> usize {
        self.state()
            .swallowed
            .iter()
            .filter(|m| *m == method)
            .count()
    }

    /// The next `count` calls of `method` are carried out, then answered HTTP 500
    /// as if the answer had been lost on its way back.
    pub fn lose_answers(&self, method: &str, count: u32) {
        *self
            .state()
            .lose_answers
            .entry(method.to_string())
            .or_default() += count;
    }

    /// The next call of `method` is answered (and applied) only after `delay`.
    pub fn delay_next(&self, method: &str, delay: Duration) {
        self.state()
            .delays
            .entry(method.to_string())
            .or_default()
            .push_back(delay);
    }

    /// How many calls are being answered right now (a delayed one, say).
    pub fn in_flight(&self) -> usize {
        self.state().in_flight
    }

    /// What `apps.connections.open` hands out.
    pub fn set_socket_url(&self, url: &str) {
        self.state().socket_url = Some(url.to_string());
    }

    /// A channel that exists before warroom runs.
    pub fn add_channel(&self, name: &str, creator: &str, purpose: &str, archived: bool) -> String {
        let mut state = self.state();
        let id = new_id(&mut state, 'C');
        state.channels.push(Channel {
            id: id.clone(),
            name: name.to_string(),
            topic: String::new(),
            purpose: purpose.to_string(),
            creator: creator.to_string(),
            archived,
            members: vec![creator.to_string()],
            is_private: false,
        });
        id
    }

    /// A message a person posts; returns its `ts`.
    pub fn add_message(&self, channel: &str, user: &str, text: &str) -> String {
        self.add_in_thread(channel, None, user, text)
    }

    /// A reply by `user` in the thread of message `parent`.
    pub fn add_reply(&self, channel: &str, parent: &str, user: &str, text: &str) -> String {
        self.add_in_thread(channel, Some(parent), user, text)
    }

    fn add_in_thread(&self, channel: &str, parent: Option<&str>, user: &str, text: &str) -> String {
        let mut state = self.state();
        let ts = new_ts(&mut state);
        state.messages.push(Posted {
            channel: channel.to_string(),
            ts: ts.clone(),
            user: user.to_string(),
            text: text.to_string(),
            blocks: Value::Null,
            metadata: Value::Null,
            pinned: false,
            edits: 0,
            thread_ts: parent.map(str::to_string),
        });
        ts
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Successful calls of `method`, in order.
    pub fn done(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.method == method && call.ok)
            .collect()
    }

    pub fn channel_named(&self, name: &str) -> Option<Channel> {
        self.state()
            .channels
            .iter()
            .find(|c| c.name == name)
            .cloned()
    }

    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.state().channels.iter().find(|c| c.id == id).cloned()
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.state().channels.clone()
    }

    pub fn messages_in(&self, channel: &str) -> Vec<Posted> {
        self.state()
            .messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// Messages posted with the same metadata more than once: one operation of
    /// warroom's shown twice. Each with its channel.
    pub fn repeated_posts(&self) -> Vec<(String, Value)> {
        let state = self.state();
        let mut seen = HashSet::new();
        state
            .messages
            .iter()
            .filter(|m| !m.metadata.is_null())
            .filter(|m| !seen.insert(m.metadata.to_string()))
            .map(|m| (m.channel.clone(), m.metadata.clone()))
            .collect()
    }

    /// Files shared in a channel, oldest first.
    pub fn files_in(&self, channel: &str) -> Vec<SharedFile> {
        self.state()
            .files
            .iter()
            .filter(|file| file.channel == channel)
            .cloned()
            .collect()
    }

    /// Every POST to an `upload_url`: (file id, bytes received, HTTP status).
    pub fn sent_files(&self) -> Vec<(String, usize, u16)> {
        self.state().sent_files.clone()
    }

    pub fn responses(&self, name: &str) -> Vec<Value> {
        self.state()
            .responses
            .iter()
            .filter(|(hook, _)| hook == name)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// Waits (bounded by [`PATIENCE`]) until `condition` holds for the fake's calls.
    pub async fn wait_for(&self, what: &str, condition: impl Fn(&FakeSlack) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let changed = self.changed.notified();
            if condition(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "fake Slack: gave up waiting for {what}; calls: {:#?}",
                    self.calls()
                        .iter()
                        .map(|c| format!("{} {} ok={}", c.method, c.status, c.ok))
                        .collect::<Vec<_>>()
                );
            }
        }
    }
}

fn new_id(state: &mut Fake, kind: char) -> String {
    state.next_id += 1;
    format!("{kind}0FAKE{:04}", state.next_id)
}

/// A message timestamp: the time now, as Slack's are, and after every earlier one.
fn new_ts(state: &mut Fake) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        });
    state.next_ts = now.max(state.next_ts + 100);
    format!(
        "{}.{:06}",
        state.next_ts / 1_000_000,
        state.next_ts % 1_000_000
    )
}

fn channel_json(channel: &Channel) -> Value {
    json!({
        "id": channel.id,
        "name": channel.name,
        "is_channel": !channel.is_private,
        "is_group": channel.is_private,
        "is_im": false,
        "created": 1_790_000_000,
        "is_archived": channel.archived,
        "is_general": false,
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": false,
        "creator": channel.creator,
        "is_ext_shared": false,
        "is_org_shared": false,
        "shared_team_ids": [TEAM],
        "pending_shared": [],
        "pending_connected_team_ids": [],
        "is_pending_ext_shared": false,
        "is_member": channel.members.iter().any(|m| m == BOT_USER),
        "is_private": channel.is_private,
        "is_mpim": false,
        "last_read": "0000000000.000000",
        "topic": { "value": channel.topic, "creator": "", "last_set": 0 },
        "purpose": { "value": channel.purpose, "creator": "", "last_set": 0 },
        "previous_names": [],
        "num_members": channel.members.len(),
    })
}

fn message_json(message: &Posted) -> Value {
    let mut json = json!({
        "type": "message",
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "team": TEAM,
    });
    if let Some(parent) = &message.thread_ts {
        json["thread_ts"] = json!(parent);
    }
    if message.user == BOT_USER {
        json["bot_id"] = json!(BOT_ID);
        json["blocks"] = message.blocks.clone();
    }
    json
}

/// A message's `metadata` argument: empty, or a JSON object with a string
/// `event_type` and an object `event_payload`, as Slack requires.
fn check_metadata(metadata: &str) -> Result<Value, &'static str> {
    if metadata.is_empty() {
        return Ok(Value::Null);
    }
    let Ok(parsed) = serde_json::from_str::<Value>(metadata) else {
        return Err("invalid_metadata_format");
    };
    if !parsed["event_type"].is_string() || !parsed["event_payload"].is_object() {
        return Err("invalid_metadata_schema");
    }
    Ok(parsed)
}

fn error(code: &str) -> Value {
    json!({ "ok": false, "error": code })
}

async fn hook(State(fake): State<FakeSlack>, Path(name): Path<String>, body: Bytes) -> StatusCode {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    fake.state().responses.push((name, body));
    fake.changed.notify_waiters();
    StatusCode::OK
}

/// The `upload_url` of an upload: takes the file's bytes, raw or as the one
/// file of a multipart form, and answers 200; anything else is not 200.
async fn upload(
    State(fake): State<FakeSlack>,
    Path(file): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let bytes = match headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("boundary=").nth(1))
    {
        Some(boundary) => multipart_file(&body, boundary),
        None => Some(body.to_vec()),
    };
    let status = {
        let mut state = fake.state();
        let status = match (state.uploads.get_mut(&file), bytes) {
            (Some(upload), Some(bytes)) if !upload.completed && bytes.len() == upload.length => {
                upload.bytes = Some(bytes);
                StatusCode::OK
            }
            (Some(upload), _) if upload.completed => StatusCode::NOT_FOUND,
            (Some(_), _) => StatusCode::BAD_REQUEST,
            (None, _) => StatusCode::NOT_FOUND,
        };
        let received = body.len();
        state.sent_files.push((file, received, status.as_u16()));
        status
    };
    fake.changed.notify_waiters();
    status
}

/// The content of the first file part of a multipart body.
fn multipart_file(body: &[u8], boundary: &str) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(body);
    text.split(&format!("--{boundary}"))
        .filter_map(|part| part.split_once("\r\n\r\n"))
        .find(|(head, _)| head.contains("filename="))
        .map(|(_, content)| content.trim_end_matches("\r\n").as_bytes().to_vec())
}

async fn api(
    State(fake): State<FakeSlack>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args: BTreeMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let base = format!("http://{}", fake.addr);
    let (swallowed, delay) = {
        let mut state = fake.state();
        if state.swallowing.contains(&method) {
            state.swallowed.push(method.clone());
            (true, None)
        } else {
            state.in_flight += 1;
            let delay = state.delays.get_mut(&method).and_then(VecDeque::pop_front);
            (false, delay)
        }
    };
    if swallowed {
        fake.changed.notify_waiters();
        return std::future::pending().await;
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let response = {
        let mut state = fake.state();
        let limited = state
            .rate_limits
            .get_mut(&method)
            .and_then(VecDeque::pop_front);
        let refused = match limited {
            Some(seconds) => Some((429, Some(seconds))),
            None => state.faults.as_mut().and_then(Faults::roll),
        };
        let (status, answer, retry_after) = match refused {
            Some((429, seconds)) => (429, error("ratelimited"), seconds),
            Some((status, _)) => (status, error("internal_error"), None),
            None if !form && !body.is_empty() => (200, error("invalid_form_data"), None),
            None => {
                let answer = reply_to(&mut state, &method, &args, &token, &base);
                match state
                    .lose_answers
                    .get_mut(&method)
                    .filter(|left| **left > 0)
                {
                    Some(left) => {
                        *left -= 1;
                        (500, error("internal_error"), None)
                    }
                    None => (200, answer, None),
                }
            }
        };
        state.in_flight -= 1;
        state.calls.push(Call {
            method: method.clone(),
            args,
            status,
            ok: answer["ok"] == true,
            at: Instant::now(),
        });
        if state.applying_then_swallowing.contains(&method) {
            state.swallowed.push(method.clone());
            None
        } else {
            let mut response = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                Json(answer),
            )
                .into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().expect("header"));
            }
            Some(response)
        }
    };
    fake.changed.notify_waiters();
    match response {
        Some(response) => response,
        None => std::future::pending().await,
    }
}

/// Slack's answer to one method call.
fn reply_to(
    state: &mut Fake,
    method: &str,
    args: &BTreeMap<String, String>,
    token: &str,
    base: &str,
) -> Value {
    let arg = |name: &str| args.get(name).map(String::as_str).unwrap_or_default();
    if method == "apps.connections.open" {
        if token != APP_TOKEN {
            return error("invalid_auth");
        }
        return match &state.socket_url {
            Some(url) => json!({ "ok": true, "url": url }),
            None => error("internal_error"),
        };
    }
    if token != BOT_TOKEN {
        return error(if token.starts_with("xapp-") {
            "not_allowed_token_type"
        } else {
            "invalid_auth"
        });
    }
    match method {
        "auth.test" => json!({
            "ok": true,
            "url": "https://fake.slack.test/",
            "team": "Fake",
            "user": "warroom",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": false,
        }),
        "conversations.create" => {
            let name = arg("name");
            if name.is_empty() {
                return error("invalid_name_required");
            }
            if name.chars().count() > 80 {
                return error("invalid_name_maxlength");
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            {
                return error("invalid_name_specials");
            }
            if state.channels.iter().any(|c| c.name == name) {
                return error("name_taken");
            }
            let channel = Channel {
                id: new_id(state, 'C'),
                name: name.to_string(),
                topic: String::new(),
                purpose: String::new(),
                creator: BOT_USER.to_string(),
                archived: false,
                members: vec![BOT_USER.to_string()],
                is_private: matches!(arg("is_private"), "true" | "1"),
            };
            let json = channel_json(&channel);
            state.channels.push(channel);
            json!({ "ok": true, "channel": json })
        }
        "conversations.list" => {
            // Like Slack's: public channels unless `types` asks for others.
            let types = match arg("types") {
                "" => "public_channel",
                types => types,
            };
            let listed = |c: &Channel| {
                let kind = if c.is_private {
                    "private_channel"
                } else {
                    "public_channel"
                };
                types.split(',').any(|t| t.trim() == kind)
            };
            let channels: Vec<Value> = state
                .channels
                .iter()
                .filter(|c| listed(c))
                .filter(|c| arg("exclude_archived") != "true" || !c.archived)
                .map(channel_json)
                .collect();
            json!({ "ok": true, "channels": channels, "response_metadata": { "next_cursor": "" } })
        }
        "conversations.setTopic" | "conversations.setPurpose" => {
            let key = if method == "conversations.setTopic" {
                "topic"
            } else {
                "purpose"
            };
            let Some(value) = args.get(key) else {
                return error("missing_argument");
            };
            if value.chars().count() > 250 {
                return error("too_long");
            }
            let Some(channel) = state.channels.iter_mut().find(|c| c.id == arg("channel")) else {
                return error("channel_not_found");
            };
            if key == "topic" {
                channel.topic = value.clone();
            } else {
                channel.purpose = value.clone();
            }
            json!({ "ok": true, "channel": channel_json(channel) })
        }
        "conversations.invite" => {
            let users: Vec<&str> = arg("users").split(',').filter(|u| !u.is_empty()).collect();
            if users.is_empty() {
                return error("no_user");
            }
            if users.len() > 100 {
                return error("too_many_users");
            }
            let Some(channel) = state.channels.iter_mut().find(|c| c.id == arg("channel")) else {
                return error("channel_not_found");
            };
            if users.contains(&BOT_USER) {
                return error("cant_invite_self");
            }
            let present = users.iter().any(|u| channel.members.iter().any(|m| m == u));
            if present && (users.len() == 1 || arg("force") != "true") {
                return error("already_in_channel");
            }
            for user in users {
                if !channel.members.iter().any(|m| m == user) {
                    channel.members.push(user.to_string());
                }
            }
            json!({ "ok": true, "channel": channel_json(channel) })
        }
        "chat.postMessage" => {
            let channel = arg("channel").to_string();
            if !state.channels.iter().any(|c| c.id == channel) {
                return error("channel_not_found");
            }
            let blocks = match check_blocks(args) {
                Ok(blocks) => blocks,
                Err(code) => return error(code),
            };
            let metadata = match check_metadata(arg("metadata")) {
                Ok(metadata) => metadata,
                Err(code) => return error(code),
            };
            let ts = new_ts(state);
            let posted = Posted {
                channel: channel.clone(),
                ts: ts.clone(),
                user: BOT_USER.to_string(),
                text: arg("text").to_string(),
                blocks,
                metadata,
                pinned: false,
                edits: 0,
                thread_ts: None,
            };
            let message = message_json(&posted);
            state.messages.push(posted);
            json!({ "ok": true, "channel": channel, "ts": ts, "message": message })
        }
        "chat.update" => {
            let blocks = match check_blocks(args) {
                Ok(blocks) => blocks,
                Err(code) => return error(code),
            };
            let Some(message) = state
                .messages
                .iter_mut()
                .find(|m| m.channel == arg("channel") && m.ts == arg("ts"))
            else {
                return error("message_not_found");
            };
            message.text = arg("text").to_string();
            message.blocks = blocks;
            message.edits += 1;
            json!({
                "ok": true,
                "channel": message.channel,
                "ts": message.ts,
                "text": message.text,
                "message": message_json(message),
            })
        }
        "pins.add" => {
            if arg("timestamp").is_empty() {
                return error("no_item_specified");
            }
            let Some(message) = state
                .messages
                .iter_mut()
                .find(|m| m.channel == arg("channel") && m.ts == arg("timestamp"))
            else {
                return error("message_not_found");
            };
            if message.pinned {
                return error("already_pinned");
            }
            message.pinned = true;
            json!({ "ok": true })
        }
        "files.getUploadURLExternal" => {
            let filename = arg("filename");
            let Ok(length) = arg("length").parse::<usize>() else {
                return error("invalid_arguments");
            };
            if filename.is_empty() || length == 0 {
                return error("invalid_arguments");
            }
            if length > FILE_MAX {
                return error("file_upload_size_restricted");
            }
            let id = new_id(state, 'F');
            state.uploads.insert(
                id.clone(),
                Upload {
                    filename: filename.to_string(),
                    length,
                    bytes: None,
                    completed: false,
                },
            );
            json!({
                "ok": true,
                "upload_url": format!("{base}/upload/v1/{id}"),
                "file_id": id,
            })
        }
        "files.completeUploadExternal" => complete_upload(state, args),
        "conversations.history" => {
            let channel = arg("channel");
            if !state.channels.iter().any(|c| c.id == channel) {
                return error("channel_not_found");
            }
            let (latest, oldest) = (arg("latest"), arg("oldest"));
            let inclusive = arg("inclusive") == "true" || arg("inclusive") == "1";
            let with_metadata = arg("include_all_metadata") == "true";
            let limit: usize = arg("limit").parse().unwrap_or(100);
            // Like Slack's, history holds a channel's messages, not the replies in threads.
            let mut messages: Vec<Value> = state
                .messages
                .iter()
                .filter(|m| m.channel == channel && m.thread_ts.is_none())
                .map(|posted| {
                    let mut message = message_json(posted);
                    if with_metadata && !posted.metadata.is_null() {
                        message["metadata"] = posted.metadata.clone();
                    }
                    message
                })
                .chain(file_shares(state, channel))
                .filter(|m| {
                    let ts = m["ts"].as_str().unwrap_or_default();
                    (latest.is_empty() || ts < latest || (inclusive && ts == latest))
                        && (oldest.is_empty() || ts > oldest || (inclusive && ts == oldest))
                })
                .collect();
            messages.sort_by(|a, b| b["ts"].as_str().cmp(&a["ts"].as_str()));
            messages.truncate(limit);
            json!({
                "ok": true,
                "messages": messages,
                "has_more": false,
                "pin_count": 0,
                "response_metadata": { "next_cursor": "" },
            })
        }
        // A thread, parent first: `ts` names the parent or any reply in it.
        "conversations.replies" => {
            let channel = arg("channel");
            if !state.channels.iter().any(|c| c.id == channel) {
                return error("channel_not_found");
            }
            let Some(named) = state
                .messages
                .iter()
                .find(|m| m.channel == channel && m.ts == arg("ts"))
            else {
                return error("thread_not_found");
            };
            let parent = named.thread_ts.clone().unwrap_or_else(|| named.ts.clone());
            let (oldest, latest) = (arg("oldest"), arg("latest"));
            let inclusive = arg("inclusive") == "true" || arg("inclusive") == "1";
            let limit: usize = arg("limit").parse().unwrap_or(1000);
            let messages: Vec<Value> = state
                .messages
                .iter()
                .filter(|m| m.channel == channel)
                .filter(|m| m.ts == parent || m.thread_ts.as_deref() == Some(parent.as_str()))
                .filter(|m| {
                    oldest.is_empty() || m.ts.as_str() > oldest || (inclusive && m.ts == oldest)
                })
                .filter(|m| {
                    latest.is_empty() || m.ts.as_str() < latest || (inclusive && m.ts == latest)
                })
                .take(limit)
                .map(message_json)
                .collect();
            json!({ "ok": true, "messages": messages, "has_more": false })
        }
        _ => error("unknown_method"),
    }
}

/// The messages `files.completeUploadExternal` made in `channel`, as the history
/// shows them: the bot's, with the initial comment and the files shared.
fn file_shares(state: &Fake, channel: &str) -> Vec<Value> {
    let mut shares: BTreeMap<&str, Value> = BTreeMap::new();
    for file in state.files.iter().filter(|f| f.channel == channel) {
        let share = shares.entry(&file.ts).or_insert_with(|| {
            json!({
                "type": "message", "user": BOT_USER, "bot_id": BOT_ID, "team": TEAM,
                "text": file.initial_comment, "ts": file.ts, "files": [],
            })
        });
        if let Some(files) = share["files"].as_array_mut() {
            files.push(json!({ "id": file.id, "name": file.filename, "title": file.title }));
        }
    }
    shares.into_values().collect()
}

/// Shares uploaded files: `files` a JSON array of `{id, title}`, each upload
/// received in full and not completed before (Slack completes an upload once).
fn complete_upload(state: &mut Fake, args: &BTreeMap<String, String>) -> Value {
    let arg = |name: &str| args.get(name).map(String::as_str).unwrap_or_default();
    let Ok(Value::Array(files)) = serde_json::from_str::<Value>(arg("files")) else {
        return error("invalid_arguments");
    };
    let channel = arg("channel_id").to_string();
    if !state.channels.iter().any(|c| c.id == channel) {
        return error("channel_not_found");
    }
    let comment = arg("initial_comment").to_string();
    if comment.chars().count() > TEXT_MAX {
        return error("msg_too_long");
    }
    let mut wanted = Vec::new();
    for file in &files {
        let (Some(id), title) = (file["id"].as_str(), file["title"].as_str()) else {
            return error("invalid_arguments");
        };
        match state.uploads.get(id) {
            Some(upload) if !upload.completed && upload.bytes.is_some() => {
                wanted.push((id.to_string(), title.map(str::to_string)));
            }
            _ => return error("file_not_found"),
        }
    }
    let mut answered = Vec::new();
    let ts = new_ts(state);
    for (id, title) in wanted {
        let Some(upload) = state.uploads.get_mut(&id) else {
            return error("file_not_found");
        };
        upload.completed = true;
        let title = title.unwrap_or_else(|| upload.filename.clone());
        answered.push(json!({ "id": id, "title": title }));
        let shared = SharedFile {
            id,
            channel: channel.clone(),
            filename: upload.filename.clone(),
            title,
            content: upload.bytes.clone().unwrap_or_default(),
            initial_comment: comment.clone(),
            ts: ts.clone(),
        };
        state.files.push(shared);
    }
    json!({ "ok": true, "files": answered })
}

/// Slack's checks on `text` and `blocks`: one of them present, text at most
/// 40,000 characters, blocks a JSON array of at most 50, a header's text at most
/// 150 characters, a section's text at most 3000 and its fields at most 10 of
/// 2000 each.
fn check_blocks(args: &BTreeMap<String, String>) -> Result<Value, &'static str> {
    let text = args.get("text").map(String::as_str).unwrap_or_default();
    if text.chars().count() > TEXT_MAX {
        return Err("msg_too_long");
    }
    let Some(raw) = args.get("blocks") else {
        return if text.is_empty() {
            Err("no_text")
        } else {
            Ok(Value::Null)
        };
    };
    let blocks: Value = serde_json::from_str(raw).map_err(|_| "invalid_blocks_format")?;
    let list = blocks.as_array().ok_or("invalid_blocks_format")?;
    if list.len() > 50 {
        return Err("invalid_blocks");
    }
    for block in list {
        let kind = block["type"].as_str().unwrap_or_default();
        if !["section", "header", "actions", "context", "divider"].contains(&kind) {
            return Err("invalid_blocks");
        }
        let text_max = if kind == "header" { 150 } else { 3000 };
        if block["text"]["text"]
            .as_str()
            .is_some_and(|t| t.chars().count() > text_max)
        {
            return Err("invalid_blocks");
        }
        if let Some(fields) = block["fields"].as_array() {
            let too_long = fields
                .iter()
                .any(|f| f["text"].as_str().is_some_and(|t| t.chars().count() > 2000));
            if fields.len() > 10 || too_long {
                return Err("invalid_blocks");
            }
        }
    }
    Ok(blocks)
}

/// The Socket Mode side of the fake: a WebSocket server on 127.0.0.1.
pub struct SocketServer {
    pub url: String,
    listener: TcpListener,
}

pub type SocketLink = WebSocketStream<tokio::net::TcpStream>;

impl SocketServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind socket server");
        let addr = listener.local_addr().expect("socket server address");
        Self {
            url: format!("ws://{addr}/link/?ticket=fake"),
            listener,
        }
    }

    /// Accepts warroom's next connection and greets it as Slack does.
    pub async fn accept(&self) -> SocketLink {
        let (stream, _) = tokio::time::timeout(PATIENCE, self.listener.accept())
            .await
            .expect("warroom connects in time")
            .expect("accept");
        let mut link = tokio_tungstenite::accept_async(stream)
            .await
            .expect("handshake");
        let hello = json!({
            "type": "hello",
            "num_connections": 1,
            "debug_info": { "host": "fake", "approximate_connection_time": 18060 },
            "connection_info": { "app_id": "A0WARROOM" },
        });
        link.send(Frame::text(hello.to_string()))
            .await
            .expect("hello");
        link
    }
}

/// Sends an envelope and returns warroom's ack (the next text frame).
pub async fn send_envelope(link: &mut SocketLink, envelope: &Value) -> Value {
    link.send(Frame::text(envelope.to_string()))
        .await
        .expect("send envelope");
    loop {
        let frame = tokio::time::timeout(PATIENCE, link.next())
            .await
            .expect("an ack in time")
            .expect("the link stays open")
            .expect("a frame");
        if let Frame::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("the ack is JSON");
        }
    }
}
