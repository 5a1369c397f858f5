//! Deciding: what a command means for an incident, and everything that follows from it.
//!
//! Owns: permissions (who may steer an incident), the status state machine applied
//! to real incidents, timeline events for everything that happens, and the chat
//! operations to perform. All of it is written in ONE transaction, outbox rows
//! included, so a command either happened completely or not at all.
//! Must not: call a chat API (the outbox delivers), write SQL (the store does), or
//! know Slack or Discord types (adapters translate into [`Command`] and [`Actor`]).

mod actions;
mod alerts;
mod cadence;
mod capture;
mod checklist;
mod declare;
mod lifecycle;
mod pager;
mod postmortem;
pub mod public;
mod queries;
mod records;
mod roles;
mod run_end;
mod run_policy;
mod runbooks;
mod session;
mod stats;

pub use alerts::AlertOutcome;
pub use cadence::{Fired, SYSTEM_USER};
pub use capture::{Capture, CapturedMessage};
pub use pager::PagerSync;
pub use run_policy::performed_by_engine;

use crate::alerts::{AlertGroup, PagerDutyEvent};
use crate::clock::SharedClock;
use crate::command::Command;
use crate::config::Config;
use crate::domain::{Incident, IncidentId, Platform, Tracker, UserId};
use crate::render::{Inline, Message};
use crate::store::{Store, StoreError};
use crate::telemetry::{self, CommandOutcome};
use session::{Session, Wake};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// Who issued a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub platform: Platform,
    pub user: UserId,
}

/// Where a command was issued, and how to recognise it if the platform sends it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The channel (or thread) the command was typed in; a war room implies its incident.
    pub channel: String,
    /// The platform's id for this request (a Slack retry carries the same one, a
    /// Discord interaction id, a button click): a repeat returns the first answer.
    pub request_id: Option<String>,
    /// The channel's (or thread's) name, where the platform sends it: a war room
    /// opened a moment ago is recognised by the incident id in its name before
    /// the outbox has recorded the room's id.
    pub room_name: Option<String>,
}

impl Context {
    /// The incident whose war room this channel's name says it is, if the name
    /// carries an id; the caller checks that the incident's room is still unrecorded.
    fn opening_room_of(&self) -> Option<IncidentId> {
        self.room_name.as_deref().and_then(IncidentId::in_room_name)
    }
}

/// Whether `incident` can be the one whose room a command came from by name
/// alone: its room is not recorded yet, on this platform. Once recorded, only
/// the recorded room counts, so a channel named like a war room is not one.
fn room_being_opened(incident: &Incident, platform: Platform) -> bool {
    incident.room.is_none() && incident.platform == platform
}

/// Who sees the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only the person who typed the command (errors, lookups).
    Ephemeral,
    /// Everyone in the channel.
    InChannel,
}

/// The answer to the person who issued a command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    pub visibility: Visibility,
    pub message: Message,
    /// The incident a declaration opened, for callers that answer with it (the
    /// JSON API); kept with a stored answer, so a replay names it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<IncidentId>,
}

impl Reply {
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Self::ephemeral_message(Message::text(text))
    }

    pub fn ephemeral_message(message: Message) -> Self {
        Self {
            visibility: Visibility::Ephemeral,
            message,
            declared: None,
        }
    }

    /// The reply as plain, platform-safe text.
    pub fn text(&self) -> String {
        self.message.plain_text()
    }
}

/// A failure the user cannot fix: the database did not answer, or could not take
/// the change. Nothing was changed, unless the connection broke during the commit
/// itself ([`StoreError::CommitUnconfirmed`]), when nobody can tell.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    /// What the person who issued the command is told instead of its answer:
    /// never that it was done, and never that nothing changed when it may have.
    pub fn reply(&self) -> Reply {
        let EngineError::Store(error) = self;
        let text = if error.is_out_of_space() {
            "warroom's database is out of disk space, so nothing was changed. Try again in a moment."
        } else if matches!(error, StoreError::CommitUnconfirmed(_)) {
            "warroom lost its database while saving this, so it may or may not have been saved. \
             Check `/incident list` or the incident's timeline before you try again."
        } else {
            "warroom could not reach its database, so nothing was changed. Try again in a moment."
        };
        Reply::ephemeral(text)
    }
}

/// Per-platform choices that come from configuration.
#[derive(Debug, Clone, Default)]
pub struct EngineSettings {
    /// Where declarations, resolutions and public updates are announced, per platform.
    pub announce_channels: BTreeMap<Platform, String>,
    /// Whether pages can be sent (a PagerDuty routing key is configured). Off, the
    /// engine queues no pages and tells each incident's room so once.
    pub paging: bool,
    /// The tracker follow-ups are filed in, when its client runs (`[trackers]`
    /// and its credentials). Off, follow-ups stay in warroom alone.
    pub filing: Option<Tracker>,
}

impl EngineSettings {
    pub fn from_config(config: &Config) -> Self {
        let mut announce_channels = BTreeMap::new();
        if let Some(channel) = config
            .slack()
            .and_then(|slack| slack.announce_channel.clone())
        {
            announce_channels.insert(Platform::Slack, channel);
        }
        if let Some(channel) = config
            .discord()
            .and_then(|discord| discord.announce_channel.clone())
        {
            announce_channels.insert(Platform::Discord, channel);
        }
        Self {
            announce_channels,
            paging: false,
            filing: None,
        }
    }
}

/// The incident engine. Cheap to clone; every platform adapter shares one.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: Arc<Config>,
    clock: SharedClock,
    settings: EngineSettings,
    wakeups: Wakeups,
}

/// The notifiers that make each worker look for work at once instead of at its
/// next poll. Built once, where the workers are; the engine pokes the ones a
/// commit gave work to.
#[derive(Debug, Clone, Default)]
pub struct Wakeups {
    /// The dispatcher: operations were queued.
    pub outbox: Arc<Notify>,
    /// The scheduler: reminders were planned or moved.
    pub schedule: Arc<Notify>,
    /// The action worker: a run became runnable (requested, approved, the next step).
    pub actions: Arc<Notify>,
}

impl Wakeups {
    fn after_commit(&self, wake: Wake) {
        for (woken, notify) in [
            (wake.outbox, &self.outbox),
            (wake.schedule, &self.schedule),
            (wake.actions, &self.actions),
        ] {
            if woken {
                notify.notify_one();
            }
        }
    }
}

impl Engine {
    pub fn new(
        store: Store,
        config: Arc<Config>,
        clock: SharedClock,
        settings: EngineSettings,
        wakeups: Wakeups,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                config,
                clock,
                settings,
                wakeups,
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Takes one delivery of an alert group from monitoring: records it, and
    /// declares, proposes or adds to the group's incident as its route says.
    pub async fn receive_alerts(&self, group: &AlertGroup) -> Result<AlertOutcome, EngineError> {
        alerts::receive(&self.inner, group).await
    }

    /// Takes one PagerDuty webhook event: what responders did there reaches the
    /// incident warroom paged them for, and an incident it did not page for is
    /// taken as an alert group.
    pub async fn receive_pagerduty(
        &self,
        event: &PagerDutyEvent,
    ) -> Result<PagerSync, EngineError> {
        pager::receive(&self.inner, event).await
    }

    /// Handles one command. A command the user got wrong, or may not issue, is an
    /// `Ok` ephemeral reply saying how to fix it, and changes nothing; `Err` means
    /// the database failed and, likewise, nothing was changed, unless the commit
    /// itself was cut off. [`EngineError::reply`] says which to the user.
    pub async fn handle(
        &self,
        actor: &Actor,
        context: &Context,
        command: Command,
    ) -> Result<Reply, EngineError> {
        self.handle_with_outcome(actor, context, command)
            .await
            .map(|(reply, _)| reply)
    }

    /// [`Engine::handle`], saying too how the command ended, for a caller that
    /// answers a refusal differently from a change (the JSON API).
    pub async fn handle_with_outcome(
        &self,
        actor: &Actor,
        context: &Context,
        command: Command,
    ) -> Result<(Reply, CommandOutcome), EngineError> {
        let kind = command.name();
        let handled = self.decide(actor, context, command).await;
        let outcome = match &handled {
            Ok((_, outcome)) => *outcome,
            Err(_) => CommandOutcome::Error,
        };
        telemetry::command_handled(kind, outcome);
        handled
    }

    async fn decide(
        &self,
        actor: &Actor,
        context: &Context,
        command: Command,
    ) -> Result<(Reply, CommandOutcome), EngineError> {
        if let Some(reply) = queries::answer(self, actor, context, &command).await? {
            return Ok((reply, CommandOutcome::Done));
        }
        let mut session = Session::begin(&self.inner, actor.clone(), context.clone()).await?;
        if let Some(key) = &context.request_id {
            let key = request_key(actor.platform, key);
            if let Some(first) = session.tx.claim_request(&key, session.now).await? {
                return Ok((replayed(&first), CommandOutcome::Replayed));
            }
        }
        let outcome = match command {
            Command::Declare(command) => declare::declare(&mut session, command).await,
            Command::AssignRole(command) => roles::assign(&mut session, command).await,
            Command::Ack(command) => lifecycle::acknowledge(&mut session, command).await,
            Command::SetStatus(command) => lifecycle::set_status(&mut session, command).await,
            Command::Resolve(command) => lifecycle::resolve(&mut session, command).await,
            Command::PostUpdate(command) => lifecycle::post_update(&mut session, command).await,
            Command::ChangeSeverity(command) => {
                lifecycle::change_severity(&mut session, command).await
            }
            Command::Snooze(command) => cadence::snooze(&mut session, command).await,
            Command::AddNote(command) => records::add_note(&mut session, command).await,
            Command::AddFollowUp(command) => records::add_followup(&mut session, command).await,
            Command::CompleteFollowUp(command) => {
                records::complete_followup(&mut session, command).await
            }
            Command::Postmortem(command) => postmortem::post(&mut session, command).await,
            Command::RunAction(command) => actions::run(&mut session, command).await,
            Command::Approve(command) => actions::approve(&mut session, command).await,
            Command::Cancel(command) => actions::cancel(&mut session, command).await,
            Command::AlertDecision(command) => alerts::decide(&mut session, command).await,
            read_only @ (Command::Help(_)
            | Command::List(_)
            | Command::Timeline(_)
            | Command::Summary(_)
            | Command::ListFollowUps(_)
            | Command::ListActions(_)
            | Command::Stats(_)) => Err(queries::not_a_change(&read_only)),
        };
        match outcome {
            Err(Stop::Failed(error)) => Err(error),
            Err(Stop::Refused(reply)) => Ok((reply, CommandOutcome::Rejected)),
            Ok(reply) => {
                if let Some(key) = &context.request_id {
                    let stored = serde_json::to_string(&reply).unwrap_or_default();
                    session
                        .tx
                        .save_reply(&request_key(actor.platform, key), &stored)
                        .await?;
                }
                session.commit().await?;
                Ok((reply, CommandOutcome::Done))
            }
        }
    }
}

/// Why a command handler stopped before its changes could be committed. Handlers
/// return `Result<Reply, Stop>`, so `?` ends a command the same way whether the
/// user must be told why (a refusal) or the database failed.
enum Stop {
    /// Nothing changes; the transaction is rolled back and the user told why.
    Refused(Reply),
    Failed(EngineError),
}

impl From<EngineError> for Stop {
    fn from(error: EngineError) -> Self {
        Stop::Failed(error)
    }
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        Stop::Failed(error.into())
    }
}

/// Refuses a command with an explanation for the user.
fn refuse(text: impl Into<String>) -> Stop {
    Stop::Refused(Reply::ephemeral(text))
}

fn request_key(platform: Platform, id: &str) -> String {
    format!("{platform}:{id}")
}

/// The first answer to a replayed request; if it cannot be read back, a plain
/// acknowledgement is still better than applying the command twice.
fn replayed(stored: &str) -> Reply {
    serde_json::from_str(stored)
        .unwrap_or_else(|_| Reply::ephemeral("This request was already handled."))
}

/// A mention of a user, as message pieces.
fn mention(user: &UserId) -> Inline {
    Inline::Mention(user.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_failure_says_whether_anything_may_have_been_saved() {
        let told = |error: StoreError| EngineError::from(error).reply().text();
        let away = told(StoreError::Database(sqlx::Error::PoolTimedOut));
        assert!(away.contains("nothing was changed. Try again"), "{away}");
        let full = told(StoreError::LowOnSpace { free: 0, floor: 1 });
        assert!(
            full.contains("out of disk space, so nothing was changed"),
            "{full}"
        );
        let cut_off = told(StoreError::CommitUnconfirmed(sqlx::Error::Io(
            std::io::Error::other("connection reset"),
        )));
        assert!(
            cut_off.contains("may or may not have been saved"),
            "{cut_off}"
        );
        assert!(!cut_off.contains("nothing was changed"), "{cut_off}");
    }
}
