//! `warroom simulate`: the configured process of one severity, played on a
//! manual clock by the engine and workers `serve` runs, with scripted people.
//!
//! There is no second model of the rules here: the simulation declares an
//! incident as its commander, then moves the clock from one moment to the next
//! where something is due (a scripted act, or the store's next reminder), lets
//! the scheduler fire what is due and the dispatcher deliver it to the console
//! platform, and reports what the platform and the pager were given, when.

use super::{ConsolePlatform, INCIDENTS_CHANNEL, PAGER, Parts, Screen, What, show};
use crate::clock::{Clock, ManualClock};
use crate::command::{self, SeverityWords};
use crate::domain::{Platform, Role, UserId};
use crate::engine::{Actor, Context, Engine, EngineError};
use crate::store::StoreError;
use crate::workers::{ActionWorker, Dispatcher, Scheduler};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What the simulated people do, and for how long the clock runs.
#[derive(Debug, Clone)]
pub struct Script {
    /// A severity name or alias, as typed.
    pub severity: String,
    pub run_for: Duration,
    /// The commander acknowledges this long after the declaration.
    pub ack_after: Option<Duration>,
    /// The comms lead (else the commander) posts a status update this often.
    pub updates_every: Option<Duration>,
    /// The commander resolves this long after the declaration.
    pub resolve_after: Option<Duration>,
}

/// One thing that happened, this long after the declaration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SimulatedLine {
    /// `HH:MM` since the declaration.
    pub at: String,
    pub minutes: u64,
    /// `#room`, `#announce`, or `pager`.
    #[serde(rename = "where")]
    pub place: String,
    /// What kind of thing happened: `posted`, `paged`, `invited`, `typed`, …
    pub kind: &'static str,
    /// Its first line.
    pub what: String,
    /// All of its lines.
    pub lines: Vec<String>,
}

impl fmt::Display for SimulatedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.at, self.place, self.what)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("`{0}` is not a severity of the config")]
    UnknownSeverity(String),
    #[error("the config has no [people] to play the incident")]
    NobodyToPlay,
    #[error("the scripted command `{0}` does not parse: {1}")]
    Script(String, String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for SimulateError {
    fn from(error: StoreError) -> Self {
        SimulateError::Engine(error.into())
    }
}

/// The most moments one simulation steps through: far more than any real
/// process has, and a stop should a config ever plan reminders without end.
const MOST_STEPS: usize = 100_000;

/// A simulation over an application built with the console's [`Parts`].
pub struct Simulation {
    engine: Engine,
    dispatcher: Dispatcher,
    scheduler: Scheduler,
    actions: ActionWorker,
    platform: Arc<ConsolePlatform>,
    screen: Screen,
    clock: ManualClock,
}

/// One scripted act: who types what, this long after the declaration.
struct Act {
    after: Duration,
    by: String,
    text: String,
}

impl Simulation {
    /// `clock` is the one the application was built with.
    pub fn new(
        engine: Engine,
        workers: (Dispatcher, Scheduler, ActionWorker),
        parts: &Parts,
        clock: ManualClock,
    ) -> Self {
        let (dispatcher, scheduler, actions) = workers;
        Self {
            engine,
            dispatcher,
            scheduler,
            actions,
            platform: parts.platform.clone(),
            screen: parts.screen.clone(),
            clock,
        }
    }

    /// Plays `script` and returns what happened, in order.
    pub async fn run(&self, script: &Script) -> Result<Vec<SimulatedLine>, SimulateError> {
        let mut acts = self.acts(script)?;
        let start = self.clock.now();
        let mut channel = INCIDENTS_CHANNEL.to_owned();
        for _ in 0..MOST_STEPS {
            let due = self
                .engine
                .store()
                .next_reminder_due(self.clock.now())
                .await?;
            let next = [
                acts.front().map(|act| act.after),
                due.map(|due| since(start, due)),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|next| *next <= script.run_for) else {
                break;
            };
            if start + to_delta(next) > self.clock.now() {
                self.clock.set(start + to_delta(next));
            }
            while let Some(act) = acts.pop_front_if(|act| act.after <= next) {
                self.act(&act, &channel).await?;
                self.deliver().await?;
                if let Some(room) = self.platform.rooms().last() {
                    channel = room.clone();
                }
            }
            while self.scheduler.run_due().await? > 0 {}
            self.deliver().await?;
        }
        let mut happened = self.screen.take();
        // Pages travel in a lane of their own, delivered beside the room's: put
        // them after the room's happenings of the same moment, so that every run
        // prints the same lines in the same order.
        happened.sort_by_key(|happening| (happening.at, happening.channel == PAGER));
        Ok(happened
            .into_iter()
            .filter(|happening| {
                !matches!(
                    happening.what,
                    What::Topic(_) | What::Edited(_) | What::Pinned
                )
            })
            .map(|happening| {
                let lines = show::lines(&happening.what);
                let after = since(start, happening.at).as_secs() / 60;
                SimulatedLine {
                    at: format!("{:02}:{:02}", after / 60, after % 60),
                    minutes: after,
                    place: show::place(&happening.channel),
                    kind: happening.what.kind(),
                    what: lines.first().cloned().unwrap_or_default(),
                    lines,
                }
            })
            .collect())
    }

    /// The script as commands typed by the people the config assigns: the
    /// commander declares, acknowledges and resolves; the comms lead updates.
    fn acts(&self, script: &Script) -> Result<VecDeque<Act>, SimulateError> {
        let config = self.engine.config();
        let severity = config
            .resolve(&script.severity)
            .ok_or_else(|| SimulateError::UnknownSeverity(script.severity.clone()))?;
        let assigned = config.assignment(&severity);
        let holder = |role: Role| {
            assigned
                .iter()
                .find(|(held, _)| *held == role)
                .map(|(_, person)| person.to_string())
        };
        let commander = holder(Role::Commander)
            .or_else(|| config.people().next().map(|person| person.key.clone()))
            .ok_or(SimulateError::NobodyToPlay)?;
        let comms = holder(Role::Comms).unwrap_or_else(|| commander.clone());
        let act = |after, by: &str, text: String| Act {
            after,
            by: by.to_owned(),
            text,
        };
        let mut acts = vec![act(
            Duration::ZERO,
            &commander,
            format!("{0} Simulated {0} incident", severity.as_str()),
        )];
        acts.extend(
            script
                .ack_after
                .map(|after| act(after, &commander, "ack".to_owned())),
        );
        let open_until = script.resolve_after.unwrap_or(script.run_for);
        if let Some(every) = script.updates_every.filter(|every| !every.is_zero()) {
            let mut after = every;
            let mut count = 1;
            while after < open_until {
                acts.push(act(
                    after,
                    &comms,
                    format!("update Simulated status update {count}"),
                ));
                after += every;
                count += 1;
            }
        }
        acts.extend(
            script
                .resolve_after
                .map(|after| act(after, &commander, "resolve".to_owned())),
        );
        acts.sort_by_key(|act| act.after);
        Ok(acts.into())
    }

    async fn act(&self, act: &Act, channel: &str) -> Result<(), SimulateError> {
        let text = format!("/incident {}", act.text);
        self.show(
            channel,
            What::Typed {
                by: act.by.clone(),
                text: text.clone(),
            },
        );
        let command = command::parse(&act.text, self.engine.config())
            .map_err(|error| SimulateError::Script(text, error.to_string()))?;
        let actor = Actor {
            platform: Platform::Console,
            user: UserId::new(act.by.clone()),
        };
        let context = Context {
            channel: channel.to_owned(),
            request_id: None,
            room_name: None,
        };
        let reply = self.engine.handle(&actor, &context, command).await?;
        self.show(channel, What::reply(reply, &act.by));
        Ok(())
    }

    fn show(&self, channel: &str, what: What) {
        self.screen.show(super::Happening {
            at: self.clock.now(),
            channel: channel.to_owned(),
            what,
        });
    }

    /// Runs queued actions and delivers queued operations until none is left.
    async fn deliver(&self) -> Result<(), SimulateError> {
        loop {
            let ran = self.actions.run_due().await?;
            let delivered = self.dispatcher.deliver_due().await?;
            if ran == 0 && delivered == 0 {
                return Ok(());
            }
        }
    }
}

fn since(start: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (at - start).to_std().unwrap_or_default()
}

fn to_delta(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or_default()
}

/// A SQLite file of its own for one simulation, removed (with its lock and
/// write-ahead log) when dropped, so a simulation never touches a real database.
pub struct ScratchDatabase {
    path: PathBuf,
}

impl ScratchDatabase {
    pub fn new() -> Self {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let name = format!("warroom-simulate-{}-{nanos}.db", std::process::id());
        Self {
            path: std::env::temp_dir().join(name),
        }
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

impl Default for ScratchDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", ".lock"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            // Gone already, or never made: either way nothing is left behind.
            let _ = std::fs::remove_file(path);
        }
    }
}
