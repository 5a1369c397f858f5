//! One command's unit of work: its transaction, its clock reading, and the helpers
//! every handler uses to find the incident, record events and queue operations.

use super::{Actor, Context, EngineError, Inner, SYSTEM_USER, Stop, refuse, room_being_opened};
use crate::command::UserRef;
use crate::config::Config;
use crate::domain::{EventKind, Incident, IncidentId, Platform, TimelineEvent, UserId};
use crate::outbox::{Destination, Operation};
use crate::render::{self, Message};
use crate::store::Tx;
use crate::telemetry::{self, Observation};
use chrono::{DateTime, Utc};

pub(super) struct Session<'a> {
    pub inner: &'a Inner,
    pub actor: Actor,
    pub context: Context,
    pub tx: Tx,
    /// One reading of the clock for the whole command, so every row it writes agrees.
    pub now: DateTime<Utc>,
    /// Which workers have new work once this session commits.
    pub wake: Wake,
    /// Metrics to record once the transaction has committed, so a command that
    /// fails to commit is not counted as having happened.
    pub observed: Vec<Observation>,
    /// The page (its `dedup_key`) whose change PagerDuty itself reported: its new
    /// state is recorded but never sent back.
    pub pager_told: Option<String>,
}

/// The workers a session's changes give work to, woken once its transaction
/// has committed (before, they would find nothing).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Wake {
    /// Operations were queued for the dispatcher.
    pub outbox: bool,
    /// Reminder rows were planned or moved, so the scheduler's next one may be earlier.
    pub schedule: bool,
    /// An action run became runnable.
    pub actions: bool,
}

impl<'a> Session<'a> {
    pub async fn begin(
        inner: &'a Inner,
        actor: Actor,
        context: Context,
    ) -> Result<Self, EngineError> {
        let tx = inner.store.begin().await?;
        Ok(Self {
            inner,
            actor,
            context,
            tx,
            now: inner.clock.now(),
            wake: Wake::default(),
            observed: Vec::new(),
            pager_told: None,
        })
    }

    /// How everything nobody typed begins (a reminder fires, an action run ends,
    /// an approval expires): a session as the `warroom` system user on the
    /// incident's own platform, with the incident locked. `None` if there is no
    /// such incident.
    pub async fn as_system(
        inner: &'a Inner,
        id: &IncidentId,
    ) -> Result<Option<(Self, Incident)>, EngineError> {
        // The platform is learnt by a read before the transaction, which then
        // locks and re-reads the incident.
        let Some(found) = inner.store.incident(id).await? else {
            return Ok(None);
        };
        let actor = Actor {
            platform: found.platform,
            user: UserId::new(SYSTEM_USER),
        };
        let context = Context {
            channel: String::new(),
            request_id: None,
            room_name: None,
        };
        let mut session = Self::begin(inner, actor, context).await?;
        let Some(incident) = session.tx.lock_incident(id).await? else {
            return Ok(None);
        };
        Ok(Some((session, incident)))
    }

    /// Commits everything the session wrote, then wakes the workers it gave
    /// work to and records its metrics. The one way a session ends in a change.
    pub async fn commit(self) -> Result<(), EngineError> {
        let Session {
            inner,
            tx,
            wake,
            observed,
            ..
        } = self;
        tx.commit().await?;
        inner.wakeups.after_commit(wake);
        observed.into_iter().for_each(telemetry::observe);
        Ok(())
    }

    pub fn config(&self) -> &'a Config {
        &self.inner.config
    }

    pub fn me(&self) -> &UserId {
        &self.actor.user
    }

    /// The incident a command is about, locked for this transaction: the one named,
    /// or the one whose war room the command was typed in.
    pub async fn target(&mut self, named: Option<IncidentId>) -> Result<Incident, Stop> {
        let platform = self.actor.platform;
        let found = match &named {
            Some(id) => self.tx.lock_incident(id).await?,
            None => match self
                .tx
                .lock_incident_by_room(platform, &self.context.channel)
                .await?
            {
                Some(incident) => Some(incident),
                None => match self.context.opening_room_of() {
                    Some(id) => self
                        .tx
                        .lock_incident(&id)
                        .await?
                        .filter(|incident| room_being_opened(incident, platform)),
                    None => None,
                },
            },
        };
        match (found, named) {
            (Some(incident), _) if incident.platform != platform => Err(refuse(format!(
                "{} is run on {}; command it from there.",
                incident.id, incident.platform
            ))),
            (Some(incident), _) => Ok(incident),
            (None, Some(id)) => Err(refuse(format!(
                "There is no incident {id}. `/incident list` shows the open ones."
            ))),
            (None, None) => Err(refuse(
                "This channel is not an incident war room. Run the command in the war room, or name the incident \
                 right after the subcommand, e.g. `/incident status INC-20261123-001 identified`. \
                 `/incident list` shows the open incidents.",
            )),
        }
    }

    /// A user named in a command, as an id on this platform.
    pub fn resolve_user(&self, user: UserRef) -> Result<UserId, Stop> {
        match user {
            UserRef::Id(id) => Ok(id),
            UserRef::Person(name) => self.config().person_id(&name, self.actor.platform).ok_or_else(|| {
                refuse(format!(
                    "I don't know who `{name}` is on {}: mention them (@name) so the platform fills in who they are, \
                     or add them under [people] in the config.",
                    self.actor.platform
                ))
            }),
        }
    }

    pub async fn record(
        &mut self,
        incident: &IncidentId,
        kind: EventKind,
        text: String,
    ) -> Result<(), EngineError> {
        self.record_at(incident, kind, text, self.now).await
    }

    pub async fn record_at(
        &mut self,
        incident: &IncidentId,
        kind: EventKind,
        text: String,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let event = TimelineEvent {
            at,
            kind,
            actor: self.actor.user.as_str().to_string(),
            text,
        };
        self.tx.record_event(incident, &event).await?;
        Ok(())
    }

    /// Records `event` on the incident's timeline and posts `message` in its war
    /// room: how most changes are told.
    pub async fn record_and_post(
        &mut self,
        incident: &Incident,
        kind: EventKind,
        event: String,
        message: Message,
    ) -> Result<(), EngineError> {
        self.record(&incident.id, kind, event).await?;
        self.post_in_room(incident, message).await
    }

    pub async fn enqueue(
        &mut self,
        incident: &Incident,
        operation: Operation,
    ) -> Result<(), EngineError> {
        self.tx
            .enqueue(Some(&incident.id), incident.platform, &operation, self.now)
            .await?;
        self.wake.outbox = true;
        Ok(())
    }

    /// Posts in the war room; a drill's messages are marked DRILL.
    pub async fn post_in_room(
        &mut self,
        incident: &Incident,
        message: Message,
    ) -> Result<(), EngineError> {
        self.post(incident, Destination::Room, message).await
    }

    /// Posts in the platform's announce channel, when one is configured. Like
    /// [`Session::post_in_room`], marks a drill's messages DRILL.
    /// Nothing of a private incident is announced once it is declared.
    pub async fn announce(
        &mut self,
        incident: &Incident,
        message: Message,
    ) -> Result<(), EngineError> {
        if incident.private {
            return Ok(());
        }
        self.announce_under(incident, message, None).await.map(drop)
    }

    /// Announces, as [`Session::announce`], under `handle` so the announcement can
    /// be edited later. Says whether there was an announce channel to post in.
    pub async fn announce_under(
        &mut self,
        incident: &Incident,
        message: Message,
        handle: Option<&str>,
    ) -> Result<bool, EngineError> {
        let Some(channel) = self.announce_channel(incident.platform) else {
            return Ok(false);
        };
        let post = Operation::Post {
            to: Destination::Channel(channel),
            message: render::for_incident(incident, message),
            handle: handle.map(str::to_owned),
        };
        self.enqueue(incident, post).await?;
        Ok(true)
    }

    /// Where declarations are announced on `platform`, when a channel is configured.
    pub fn announce_channel(&self, platform: Platform) -> Option<String> {
        self.inner
            .settings
            .announce_channels
            .get(&platform)
            .cloned()
    }

    /// A drill's messages are marked DRILL wherever they go.
    async fn post(
        &mut self,
        incident: &Incident,
        to: Destination,
        message: Message,
    ) -> Result<(), EngineError> {
        let post = Operation::Post {
            to,
            message: render::for_incident(incident, message),
            handle: None,
        };
        self.enqueue(incident, post).await
    }

    /// Brings the room's topic and pinned summary up to date with the incident.
    pub async fn refresh_room(&mut self, incident: &Incident) -> Result<(), EngineError> {
        let topic = render::topic(incident);
        self.enqueue(incident, Operation::SetTopic { topic })
            .await?;
        let summary = render::summary(incident, self.config());
        self.enqueue(
            incident,
            Operation::Edit {
                handle: render::SUMMARY_HANDLE.to_string(),
                message: summary,
            },
        )
        .await
    }
}
