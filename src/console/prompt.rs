//! The prompt of `warroom console`: a line at a time, as a configured person.
//!
//! `/incident …` is parsed by the same grammar the Slack and Discord adapters
//! use and handled by the engine as that person; `/as NAME` switches person,
//! `/press WORDS` presses a shown button by what it says after `/press`, `/join
//! ROOM` moves to another channel, `/quit` (or the end of input) stops. After each
//! line the console waits until what the line queued has been delivered, so the
//! war room's answer is on screen before the next prompt.

use super::{ConsolePlatform, Happening, INCIDENTS_CHANNEL, Parts, Screen, What};
use crate::clock::SharedClock;
use crate::command::{self, Command, from_button};
use crate::domain::{Platform, UserId};
use crate::engine::{Actor, Context, Engine, EngineError};
use crate::workers::{ActionWorker, Dispatcher, Scheduler};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, watch};

/// The longest the console waits for a line's messages to be delivered before
/// prompting anyway. An action the line made runnable is run to its end first,
/// bounded by its own configured timeout, so its result is on screen too.
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

const HELP: &str = "\
Type commands as in Slack or Discord, and these:
  /incident help       the /incident commands (try /incident sev1 Checkout is down)
  /as NAME             act as another person of the config
  /press WORDS         press a button, by the words shown after /press
  /join ROOM           type in another channel or war room
  /quit                leave (so does Ctrl-D)
";

/// The application's workers, as the console runs them: the delivery loop and
/// the scheduler as `serve` does, and the action worker one pass at a time,
/// every `poll` and after each line, so that while the console waits for a
/// line's effects no run is still going in another pass.
pub struct Workers {
    pub dispatcher: Dispatcher,
    pub scheduler: Scheduler,
    pub actions: ActionWorker,
    /// How often the action worker looks without a line (approvals expire).
    pub poll: Duration,
}

/// A person at the console, typing into the engine.
pub struct Console {
    engine: Engine,
    workers: Workers,
    /// Held for each pass of the action worker.
    action_pass: Arc<Mutex<()>>,
    platform: Arc<ConsolePlatform>,
    screen: Screen,
    clock: SharedClock,
    /// The config key of who is typing.
    me: String,
    /// Where they type.
    channel: String,
    /// How many rooms had opened when the console last looked.
    rooms_seen: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("`{0}` is not a person of the config; [people] names who can take part")]
    UnknownPerson(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Console {
    /// A console typing as `me`, a key of `[people]`, into `engine`.
    pub fn new(
        engine: Engine,
        workers: Workers,
        parts: &Parts,
        clock: SharedClock,
        me: &str,
    ) -> Result<Self, ConsoleError> {
        let me = known_person(&engine, me)?;
        Ok(Self {
            engine,
            workers,
            action_pass: Arc::default(),
            platform: parts.platform.clone(),
            screen: parts.screen.clone(),
            clock,
            me,
            channel: INCIDENTS_CHANNEL.to_owned(),
            rooms_seen: 0,
        })
    }

    /// Runs the workers and reads `lines` until they end or `/quit`; then
    /// stops the workers and waits for them.
    pub async fn run(self, lines: mpsc::Receiver<String>) -> Result<(), ConsoleError> {
        let (stop, stopped) = watch::channel(false);
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                // Either a stop was sent or the sender is gone: both mean stop.
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        let workers = &self.workers;
        let loops = [
            tokio::spawn(workers.dispatcher.clone().run(until_stopped())),
            tokio::spawn(workers.scheduler.clone().run(until_stopped())),
            tokio::spawn(action_passes(
                workers.actions.clone(),
                self.action_pass.clone(),
                workers.poll,
                until_stopped(),
            )),
        ];
        let read = self.read(lines).await;
        let _ = stop.send(true);
        for ended in loops {
            if let Err(error) = ended.await {
                tracing::error!(%error, "a console worker ended abnormally");
            }
        }
        read
    }

    async fn read(mut self, mut lines: mpsc::Receiver<String>) -> Result<(), ConsoleError> {
        self.screen.print(HELP);
        loop {
            self.screen.print(&format!("{}> ", self.me));
            let Some(line) = lines.recv().await else {
                break;
            };
            if !self.line(line.trim()).await? {
                break;
            }
            self.settle().await?;
        }
        self.screen.print("\n");
        self.settle().await
    }

    /// Handles one line; `false` means stop.
    async fn line(&mut self, line: &str) -> Result<bool, ConsoleError> {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match word {
            "" => {}
            "/quit" | "/exit" => return Ok(false),
            "/help" => self.screen.print(HELP),
            "/as" => match known_person(&self.engine, rest) {
                Ok(person) => self.me = person,
                Err(error) => self.note(&error.to_string()),
            },
            "/join" => {
                let channel = rest.trim_start_matches('#');
                if channel.is_empty() {
                    self.note("/join needs a channel, like /join incidents");
                } else {
                    self.channel = channel.to_owned();
                }
            }
            "/incident" => match command::parse(rest, self.engine.config()) {
                Ok(command) => self.handle(command).await?,
                Err(error) => self.answer(&error.to_string()),
            },
            "/press" => self.press(rest).await?,
            _ => self.note("Commands start with /incident; /help lists the others."),
        }
        Ok(true)
    }

    async fn press(&mut self, words: &str) -> Result<(), ConsoleError> {
        let action = words.split_whitespace().collect::<Vec<_>>().join(":");
        let Some(button) = self.platform.button(&action) else {
            self.note(&format!(
                "No button `/press {words}` has been shown; buttons show what to type under their message."
            ));
            return Ok(());
        };
        match from_button(&button.action, &button.value, &UserId::new(self.me.clone())) {
            Ok(command) => self.handle(command).await,
            Err(error) => {
                self.answer(&error.to_string());
                Ok(())
            }
        }
    }

    async fn handle(&mut self, command: Command) -> Result<(), ConsoleError> {
        let actor = Actor {
            platform: Platform::Console,
            user: UserId::new(self.me.clone()),
        };
        let context = Context {
            channel: self.channel.clone(),
            request_id: None,
            room_name: None,
        };
        let reply = self.engine.handle(&actor, &context, command).await?;
        self.show(What::reply(reply, &self.me));
        Ok(())
    }

    /// Delivers what the last line queued and runs the actions it made
    /// runnable, until nothing is left or [`SETTLE_LIMIT`] has passed; then
    /// moves into a war room that opened meanwhile.
    async fn settle(&mut self) -> Result<(), ConsoleError> {
        let started = tokio::time::Instant::now();
        let action_pass = self.action_pass.clone();
        let _no_other_pass = action_pass.lock().await;
        while started.elapsed() < SETTLE_LIMIT {
            let ran = self.workers.actions.run_due().await?;
            let delivered = self
                .workers
                .dispatcher
                .deliver_due()
                .await
                .map_err(EngineError::from)?;
            let now = self.clock.now();
            let (pending, _) = self
                .engine
                .store()
                .outbox_backlog(now)
                .await
                .map_err(EngineError::from)?;
            if ran == 0 && delivered == 0 && pending == 0 {
                break;
            }
            if delivered == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let rooms = self.platform.rooms();
        if let Some(room) = rooms.get(self.rooms_seen..).and_then(<[String]>::last) {
            self.channel = room.clone();
            self.note(&format!(
                "You are now in #{room}; /join {INCIDENTS_CHANNEL} to go back."
            ));
        }
        self.rooms_seen = rooms.len();
        Ok(())
    }

    fn show(&self, what: What) {
        self.screen.show(Happening {
            at: self.clock.now(),
            channel: self.channel.clone(),
            what,
        });
    }

    fn answer(&self, text: &str) {
        self.show(What::Answered {
            to: self.me.clone(),
            text: text.to_owned(),
        });
    }

    fn note(&self, text: &str) {
        self.screen.print(&format!("  {text}\n"));
    }
}

/// The action worker's passes between lines, every `poll` until `shutdown`.
async fn action_passes(
    actions: ActionWorker,
    action_pass: Arc<Mutex<()>>,
    poll: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(poll) => {}
        }
        let _one_pass = action_pass.lock().await;
        if let Err(error) = actions.run_due().await {
            tracing::warn!(%error, "an action worker pass failed; the next one tries again");
        }
    }
}

fn known_person(engine: &Engine, name: &str) -> Result<String, ConsoleError> {
    let name = name.trim_start_matches('@');
    engine
        .config()
        .person(name)
        .map(|person| person.key.clone())
        .ok_or_else(|| ConsoleError::UnknownPerson(name.to_owned()))
}

/// The lines of standard input, read on a thread of their own (the terminal
/// blocks) and handed over as they come.
pub fn stdin_lines() -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if send.blocking_send(line).is_err() {
                break;
            }
        }
    });
    receive
}
