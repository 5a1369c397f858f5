//! An in-process chat platform and pager for tests and benches.
//!
//! Owns: a record of every operation performed, in order and with the time the
//! injected clock gave, plus the resulting rooms and messages; and knobs to make
//! the next operation of a kind fail (rate limit, server error, permanent error) or
//! "crash after send": perform it, record it, signal the test, then never return,
//! so the test can kill the dispatcher between "sent" and "marked delivered".
//! Must not: talk to any network or know about the store.
//!
//! It behaves like a careful real adapter where tests depend on it: creating a room
//! whose name exists returns that room, inviting a member again changes nothing,
//! and pinning a pinned message keeps one pin.

use super::{
    ChatPlatform, DeliveryError, MessageRef, PageEvent, Pager, Post, RoomSpec, Upload, UploadFile,
};
use crate::clock::SharedClock;
use crate::domain::{Platform, UserId};
use crate::render::Message;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// The kinds of operation, to aim failures at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    CreateRoom,
    Invite,
    SetTopic,
    Post,
    Edit,
    Pin,
    Upload,
}

/// How an operation should fail instead of happening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429 with this `Retry-After`.
    RateLimited(Duration),
    /// HTTP 5xx: worth retrying.
    ServerError,
    /// A request that will never succeed.
    Permanent,
}

/// One operation the platform performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Performed {
    pub at: DateTime<Utc>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `reused` is true when a room of that name existed and was returned.
    CreateRoom {
        name: String,
        room: String,
        reused: bool,
    },
    Invite {
        room: String,
        users: Vec<UserId>,
    },
    SetTopic {
        room: String,
        topic: String,
    },
    Post {
        posted: MessageRef,
        handle: Option<String>,
        message: Message,
    },
    Edit {
        posted: MessageRef,
        message: Message,
    },
    Pin {
        posted: MessageRef,
    },
    /// A file shared with its summary; the summary is also in the room's messages.
    Upload {
        posted: MessageRef,
        file: UploadFile,
        summary: Message,
    },
}

impl Action {
    /// The kind of operation that performed it, which failures and crashes aim at.
    fn kind(&self) -> OperationKind {
        match self {
            Action::CreateRoom { .. } => OperationKind::CreateRoom,
            Action::Invite { .. } => OperationKind::Invite,
            Action::SetTopic { .. } => OperationKind::SetTopic,
            Action::Post { .. } => OperationKind::Post,
            Action::Edit { .. } => OperationKind::Edit,
            Action::Pin { .. } => OperationKind::Pin,
            Action::Upload { .. } => OperationKind::Upload,
        }
    }
}

/// An operation refused through [`TestingPlatform::fail_next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub at: DateTime<Utc>,
    pub kind: OperationKind,
    pub failure: Failure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: String,
    pub name: String,
    pub topic: String,
    pub purpose: String,
    pub members: Vec<UserId>,
}

/// A message as it stands now (edits applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessage {
    pub posted: MessageRef,
    pub handle: Option<String>,
    pub message: Message,
    pub edits: u32,
    pub pinned: bool,
    /// The file shared with it, for an upload's summary.
    pub file: Option<UploadFile>,
}

#[derive(Default)]
struct State {
    performed: Vec<Performed>,
    refused: Vec<Refusal>,
    rooms: Vec<Room>,
    messages: Vec<PostedMessage>,
    failures: HashMap<OperationKind, VecDeque<Failure>>,
    crashes: HashMap<OperationKind, oneshot::Sender<()>>,
    next_message: u64,
}

pub struct TestingPlatform {
    platform: Platform,
    clock: SharedClock,
    state: Mutex<State>,
    /// Woken whenever an operation is performed, for [`TestingPlatform::wait_for_operations`].
    performed: Notify,
}

impl TestingPlatform {
    pub fn new(clock: SharedClock) -> Self {
        Self::standing_in_for(Platform::Testing, clock)
    }

    /// A testing platform that answers for `platform`, so incidents declared
    /// "on Slack" in a test are delivered here.
    pub fn standing_in_for(platform: Platform, clock: SharedClock) -> Self {
        Self {
            platform,
            clock,
            state: Mutex::new(State::default()),
            performed: Notify::new(),
        }
    }

    /// Makes the next operation of `kind` fail; several calls queue several failures.
    pub fn fail_next(&self, kind: OperationKind, failure: Failure) {
        self.state()
            .failures
            .entry(kind)
            .or_default()
            .push_back(failure);
    }

    /// Makes the next operation of `kind` happen and be recorded, then never
    /// return, as if the process died before hearing back. The receiver fires once
    /// the operation has been recorded.
    pub fn crash_after_next(&self, kind: OperationKind) -> oneshot::Receiver<()> {
        let (sent, receiver) = oneshot::channel();
        self.state().crashes.insert(kind, sent);
        receiver
    }

    /// Every operation performed, in order.
    pub fn operations(&self) -> Vec<Performed> {
        self.state().performed.clone()
    }

    /// Every operation refused by an injected failure, in order.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.state().refused.clone()
    }

    /// Waits until at least `count` operations have been performed.
    pub async fn wait_for_operations(&self, count: usize) {
        self.wait_until(|platform| platform.state().performed.len() >= count)
            .await;
    }

    /// Waits until `done` holds, looking again after every operation performed.
    pub async fn wait_until(&self, done: impl Fn(&Self) -> bool) {
        loop {
            let changed = self.performed.notified();
            if done(self) {
                return;
            }
            changed.await;
        }
    }

    pub fn rooms(&self) -> Vec<Room> {
        self.state().rooms.clone()
    }

    pub fn room_named(&self, name: &str) -> Option<Room> {
        self.state()
            .rooms
            .iter()
            .find(|room| room.name == name)
            .cloned()
    }

    pub fn members(&self, room: &str) -> Vec<UserId> {
        self.room(room).map(|room| room.members).unwrap_or_default()
    }

    pub fn topic(&self, room: &str) -> Option<String> {
        self.room(room).map(|room| room.topic)
    }

    /// Messages in a room or channel, oldest first, as they stand now.
    pub fn messages_in(&self, channel: &str) -> Vec<PostedMessage> {
        self.state()
            .messages
            .iter()
            .filter(|message| message.posted.channel == channel)
            .cloned()
            .collect()
    }

    /// The plain text of each message in a room or channel, oldest first.
    pub fn texts_in(&self, channel: &str) -> Vec<String> {
        self.messages_in(channel)
            .iter()
            .map(|message| message.message.plain_text())
            .collect()
    }

    /// The current text of the newest message posted under `handle` in a channel.
    pub fn current_text(&self, channel: &str, handle: &str) -> Option<String> {
        self.messages_in(channel)
            .iter()
            .rev()
            .find(|message| message.handle.as_deref() == Some(handle))
            .map(|message| message.message.plain_text())
    }

    /// The files shared in a room or channel, oldest first.
    pub fn files_in(&self, channel: &str) -> Vec<UploadFile> {
        self.messages_in(channel)
            .into_iter()
            .filter_map(|message| message.file)
            .collect()
    }

    /// Every pinned message.
    pub fn pinned(&self) -> Vec<MessageRef> {
        self.state()
            .messages
            .iter()
            .filter(|message| message.pinned)
            .map(|message| message.posted.clone())
            .collect()
    }

    /// How many messages are pinned in a room or channel.
    pub fn pins(&self, channel: &str) -> usize {
        self.pinned()
            .iter()
            .filter(|posted| posted.channel == channel)
            .count()
    }

    fn room(&self, id: &str) -> Option<Room> {
        self.state()
            .rooms
            .iter()
            .find(|room| room.id == id)
            .cloned()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock left consistent data behind:
        // every change below is made in one step.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies an injected failure, if one is queued for `kind`.
    fn refuse(&self, kind: OperationKind) -> Result<(), DeliveryError> {
        let mut state = self.state();
        let Some(failure) = state.failures.get_mut(&kind).and_then(VecDeque::pop_front) else {
            return Ok(());
        };
        let at = self.clock.now();
        state.refused.push(Refusal {
            at,
            kind,
            failure: failure.clone(),
        });
        Err(match failure {
            Failure::RateLimited(retry_after) => DeliveryError::RateLimited { retry_after },
            Failure::ServerError => {
                DeliveryError::Transient("HTTP 500 from the testing platform".into())
            }
            Failure::Permanent => {
                DeliveryError::Permanent("the testing platform refused the request".into())
            }
        })
    }

    /// Records a performed operation, then crashes if a crash is armed for its kind.
    async fn record(&self, action: Action) {
        let crash = {
            let mut state = self.state();
            let at = self.clock.now();
            let kind = action.kind();
            state.performed.push(Performed { at, action });
            state.crashes.remove(&kind)
        };
        self.performed.notify_waiters();
        if let Some(crashed) = crash {
            // The test may have stopped listening; the crash happens either way.
            let _ = crashed.send(());
            std::future::pending::<()>().await;
        }
    }

    /// An operation that changes a room or a message in place: refused when a
    /// failure is queued for its kind, else `change` applied and `action` recorded.
    async fn perform(
        &self,
        action: Action,
        change: impl FnOnce() -> Result<(), DeliveryError>,
    ) -> Result<(), DeliveryError> {
        self.refuse(action.kind())?;
        change()?;
        self.record(action).await;
        Ok(())
    }

    fn with_message(
        &self,
        posted: &MessageRef,
        change: impl FnOnce(&mut PostedMessage),
    ) -> Result<(), DeliveryError> {
        let mut state = self.state();
        let message = state
            .messages
            .iter_mut()
            .find(|message| &message.posted == posted)
            .ok_or_else(|| {
                DeliveryError::Permanent(format!("no message {} in {}", posted.id, posted.channel))
            })?;
        change(message);
        Ok(())
    }

    fn with_room(&self, room: &str, change: impl FnOnce(&mut Room)) -> Result<(), DeliveryError> {
        let mut state = self.state();
        let found = state
            .rooms
            .iter_mut()
            .find(|candidate| candidate.id == room)
            .ok_or_else(|| DeliveryError::Permanent(format!("no room {room}")))?;
        change(found);
        Ok(())
    }

    /// Adds a message (with its file, for an upload) to the room's history.
    fn keep_message(
        &self,
        channel: &str,
        message: &Message,
        handle: Option<&str>,
        file: Option<&UploadFile>,
    ) -> MessageRef {
        let mut state = self.state();
        state.next_message += 1;
        let posted = MessageRef {
            channel: channel.to_string(),
            id: format!("m{}", state.next_message),
        };
        state.messages.push(PostedMessage {
            posted: posted.clone(),
            handle: handle.map(str::to_string),
            message: message.clone(),
            edits: 0,
            pinned: false,
            file: file.cloned(),
        });
        posted
    }
}

#[async_trait::async_trait]
impl ChatPlatform for TestingPlatform {
    fn platform(&self) -> Platform {
        self.platform
    }

    async fn create_room(&self, spec: &RoomSpec) -> Result<String, DeliveryError> {
        self.refuse(OperationKind::CreateRoom)?;
        let (room, reused) = {
            let mut state = self.state();
            match state.rooms.iter().find(|room| room.name == spec.name) {
                Some(existing) => (existing.id.clone(), true),
                None => {
                    let id = format!("room-{}", state.rooms.len() + 1);
                    state.rooms.push(Room {
                        id: id.clone(),
                        name: spec.name.clone(),
                        topic: spec.topic.plain_text(),
                        purpose: spec.purpose.clone(),
                        members: Vec::new(),
                    });
                    (id, false)
                }
            }
        };
        self.record(Action::CreateRoom {
            name: spec.name.clone(),
            room: room.clone(),
            reused,
        })
        .await;
        Ok(room)
    }

    async fn invite(&self, room: &str, users: &[UserId]) -> Result<(), DeliveryError> {
        let action = Action::Invite {
            room: room.to_string(),
            users: users.to_vec(),
        };
        self.perform(action, || {
            self.with_room(room, |room| {
                for user in users {
                    if !room.members.contains(user) {
                        room.members.push(user.clone());
                    }
                }
            })
        })
        .await
    }

    async fn set_topic(&self, room: &str, topic: &Message) -> Result<(), DeliveryError> {
        let topic = topic.plain_text();
        let action = Action::SetTopic {
            room: room.to_string(),
            topic: topic.clone(),
        };
        self.perform(action, || {
            self.with_room(room, |room| room.topic = topic.clone())
        })
        .await
    }

    async fn post(&self, post: &Post<'_>) -> Result<MessageRef, DeliveryError> {
        self.refuse(OperationKind::Post)?;
        let posted = self.keep_message(post.channel, post.message, post.handle, None);
        self.record(Action::Post {
            posted: posted.clone(),
            handle: post.handle.map(str::to_string),
            message: post.message.clone(),
        })
        .await;
        Ok(posted)
    }

    async fn edit(&self, posted: &MessageRef, message: &Message) -> Result<(), DeliveryError> {
        let action = Action::Edit {
            posted: posted.clone(),
            message: message.clone(),
        };
        self.perform(action, || {
            self.with_message(posted, |current| {
                current.message = message.clone();
                current.edits += 1;
            })
        })
        .await
    }

    async fn pin(&self, posted: &MessageRef) -> Result<(), DeliveryError> {
        let action = Action::Pin {
            posted: posted.clone(),
        };
        self.perform(action, || {
            self.with_message(posted, |current| current.pinned = true)
        })
        .await
    }

    async fn upload(&self, upload: &Upload<'_>) -> Result<(), DeliveryError> {
        self.refuse(OperationKind::Upload)?;
        let posted = self.keep_message(upload.channel, upload.summary, None, Some(upload.file));
        self.record(Action::Upload {
            posted,
            file: upload.file.clone(),
            summary: upload.summary.clone(),
        })
        .await;
        Ok(())
    }
}

/// An in-process pager for tests and benches: records every event with the
/// time the injected clock gave.
pub struct RecordingPager {
    clock: SharedClock,
    sent: Mutex<Vec<(DateTime<Utc>, PageEvent)>>,
}

impl RecordingPager {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            sent: Mutex::new(Vec::new()),
        }
    }

    /// Every event sent, in order, with when it was sent.
    pub fn sent(&self) -> Vec<(DateTime<Utc>, PageEvent)> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait::async_trait]
impl Pager for RecordingPager {
    async fn send(&self, event: &PageEvent) -> Result<(), DeliveryError> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((self.clock.now(), event.clone()));
        Ok(())
    }
}
