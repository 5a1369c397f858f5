//! The terminal as a chat platform: `warroom console` to try warroom without any
//! account, and `warroom simulate` to see what a team's process does over time.
//!
//! Owns: [`ConsolePlatform`], the [`ChatPlatform`] whose rooms, posts, edits, pins
//! and uploads become [`Happening`]s on a [`Screen`] (printed as text, or kept for
//! a simulation); [`ConsolePager`], which shows pages and sends them on only when
//! paging is configured and this is not a dry run; the prompt that reads commands
//! from a terminal ([`prompt`]); and the simulation that steps a manual clock
//! through a severity's process ([`simulate`]).
//! Must not: decide anything about an incident (the engine does, as for Slack and
//! Discord), or build the application (the binary wires it, as for `serve`).

pub mod prompt;
mod show;
pub mod simulate;

pub use prompt::Console;
pub use show::{button_words, message_lines};
pub use simulate::{Script, SimulatedLine, Simulation};

use crate::actions::{EnvLookup, Runner};
use crate::clock::SharedClock;
use crate::config::{Config, Settings};
use crate::domain::{Platform, UserId};
use crate::engine::{Reply, Visibility};
use crate::outbox::{
    ChatPlatform, DeliveryError, MessageRef, PageEvent, Pager, PagerDuty, PagerSetupError, Post,
    RoomSpec, Upload, UploadFile,
};
use crate::render::{Block, Button, Message};
use chrono::{DateTime, Utc};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The channel declarations are typed in until a war room opens.
pub const INCIDENTS_CHANNEL: &str = "incidents";

/// Where declarations and resolutions are announced on the console.
pub const ANNOUNCE_CHANNEL: &str = "announce";

/// Where pages are shown: they go to the paging service, not to a room.
const PAGER: &str = "pager";

/// Something warroom did on the console platform, when its clock said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Happening {
    pub at: DateTime<Utc>,
    /// The room or channel it happened in (`pager` for pages, the channel a
    /// person typed in for their commands).
    pub channel: String,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    RoomOpened,
    Invited(Vec<UserId>),
    Topic(String),
    Posted(Message),
    Edited(Message),
    Pinned,
    Uploaded {
        file: UploadFile,
        summary: Message,
    },
    /// `sent` is false on a dry run: the paging service was not called.
    Paged {
        event: PageEvent,
        sent: bool,
    },
    /// A person typed a command (in a simulation, the scripted acts).
    Typed {
        by: String,
        text: String,
    },
    /// The answer only the person who typed the command sees.
    Answered {
        to: String,
        text: String,
    },
    /// An answer to a command that everyone in the channel sees.
    Replied(Message),
}

impl What {
    /// Its name in `warroom simulate --json`.
    pub fn kind(&self) -> &'static str {
        match self {
            What::RoomOpened => "room_opened",
            What::Invited(_) => "invited",
            What::Topic(_) => "topic",
            What::Posted(_) => "posted",
            What::Edited(_) => "edited",
            What::Pinned => "pinned",
            What::Uploaded { .. } => "uploaded",
            What::Paged { .. } => "paged",
            What::Typed { .. } => "typed",
            What::Answered { .. } => "answered",
            What::Replied(_) => "replied",
        }
    }

    /// How the engine's answer to `person`'s command is shown.
    pub fn reply(reply: Reply, person: &str) -> Self {
        match reply.visibility {
            Visibility::Ephemeral => What::Answered {
                to: person.to_owned(),
                text: reply.text(),
            },
            Visibility::InChannel => What::Replied(reply.message),
        }
    }
}

/// Where happenings go: printed on a terminal as they come, or kept in order.
#[derive(Clone)]
pub struct Screen {
    state: Arc<Mutex<ScreenState>>,
}

struct ScreenState {
    out: Option<Box<dyn Write + Send>>,
    kept: Vec<Happening>,
    timezone: chrono_tz::Tz,
}

impl Screen {
    /// Prints every happening to `out`, times shown in `timezone`.
    pub fn terminal(out: Box<dyn Write + Send>, timezone: chrono_tz::Tz) -> Self {
        Self::with(Some(out), timezone)
    }

    /// Keeps every happening for [`Screen::take`].
    pub fn recording() -> Self {
        Self::with(None, chrono_tz::UTC)
    }

    fn with(out: Option<Box<dyn Write + Send>>, timezone: chrono_tz::Tz) -> Self {
        Self {
            state: Arc::new(Mutex::new(ScreenState {
                out,
                kept: Vec::new(),
                timezone,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ScreenState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn show(&self, happening: Happening) {
        let mut state = self.lock();
        let ScreenState {
            out,
            kept,
            timezone,
        } = &mut *state;
        match out {
            Some(out) => {
                let text = show::printed(&happening, *timezone);
                // A closed terminal leaves nobody to tell.
                let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            }
            None => kept.push(happening),
        }
    }

    /// Prints `text` as it is (the prompt, the console's own notes); a
    /// recording screen ignores it.
    pub fn print(&self, text: &str) {
        if let Some(out) = &mut self.lock().out {
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        }
    }

    /// Everything kept so far, oldest first, leaving none.
    pub fn take(&self) -> Vec<Happening> {
        std::mem::take(&mut self.lock().kept)
    }
}

/// The console as a chat platform. A room's id is its name, a person's id their
/// config key, so everything shown reads as the config names it.
pub struct ConsolePlatform {
    screen: Screen,
    clock: SharedClock,
    posted: Mutex<Posted>,
}

#[derive(Default)]
struct Posted {
    rooms: Vec<String>,
    messages: u64,
    /// Every button shown, newest last: a press by name finds the newest.
    buttons: Vec<Button>,
}

impl ConsolePlatform {
    pub fn new(screen: Screen, clock: SharedClock) -> Self {
        Self {
            screen,
            clock,
            posted: Mutex::new(Posted::default()),
        }
    }

    fn posted(&self) -> MutexGuard<'_, Posted> {
        self.posted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn show(&self, channel: &str, what: What) {
        self.screen.show(Happening {
            at: self.clock.now(),
            channel: channel.to_owned(),
            what,
        });
    }

    fn remember_buttons(&self, message: &Message) {
        let buttons = message.blocks.iter().flat_map(|block| match block {
            Block::Buttons(buttons) => buttons.as_slice(),
            _ => &[],
        });
        self.posted().buttons.extend(buttons.cloned());
    }

    /// The newest button shown whose action is `action` (`approve:3`).
    pub fn button(&self, action: &str) -> Option<Button> {
        self.posted()
            .buttons
            .iter()
            .rev()
            .find(|button| button.action == action)
            .cloned()
    }

    /// The rooms opened so far, oldest first.
    pub fn rooms(&self) -> Vec<String> {
        self.posted().rooms.clone()
    }
}

#[async_trait::async_trait]
impl ChatPlatform for ConsolePlatform {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    async fn create_room(&self, spec: &RoomSpec) -> Result<String, DeliveryError> {
        let room = room_name(&spec.name);
        let opened = {
            let mut posted = self.posted();
            let new = !posted.rooms.contains(&room);
            if new {
                posted.rooms.push(room.clone());
            }
            new
        };
        if opened {
            self.show(&room, What::RoomOpened);
        }
        Ok(room)
    }

    async fn invite(&self, room: &str, users: &[UserId]) -> Result<(), DeliveryError> {
        self.show(room, What::Invited(users.to_vec()));
        Ok(())
    }

    async fn set_topic(&self, room: &str, topic: &Message) -> Result<(), DeliveryError> {
        self.show(room, What::Topic(topic.plain_text()));
        Ok(())
    }

    async fn post(&self, post: &Post<'_>) -> Result<MessageRef, DeliveryError> {
        let id = {
            let mut posted = self.posted();
            posted.messages += 1;
            posted.messages
        };
        self.remember_buttons(post.message);
        self.show(post.channel, What::Posted(post.message.clone()));
        Ok(MessageRef {
            channel: post.channel.to_owned(),
            id: id.to_string(),
        })
    }

    async fn edit(&self, posted: &MessageRef, message: &Message) -> Result<(), DeliveryError> {
        self.remember_buttons(message);
        self.show(&posted.channel, What::Edited(message.clone()));
        Ok(())
    }

    async fn pin(&self, posted: &MessageRef) -> Result<(), DeliveryError> {
        self.show(&posted.channel, What::Pinned);
        Ok(())
    }

    async fn upload(&self, upload: &Upload<'_>) -> Result<(), DeliveryError> {
        self.remember_buttons(upload.summary);
        self.show(
            upload.channel,
            What::Uploaded {
                file: upload.file.clone(),
                summary: upload.summary.clone(),
            },
        );
        Ok(())
    }
}

/// The longest room name: enough for the incident id and the start of its title.
const ROOM_NAME_MAX: usize = 48;

/// A room name that is easy to type after `/join`: lower case, words joined by
/// `-` (`inc-20261203-001-checkout-is-down`).
fn room_name(name: &str) -> String {
    let lowered = name.to_lowercase();
    let words: Vec<&str> = lowered
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    words.join("-").chars().take(ROOM_NAME_MAX).collect()
}

/// Shows every page, and sends it on through `forward` when there is one.
pub struct ConsolePager {
    screen: Screen,
    clock: SharedClock,
    forward: Option<Arc<dyn Pager>>,
}

impl ConsolePager {
    pub fn new(screen: Screen, clock: SharedClock, forward: Option<Arc<dyn Pager>>) -> Self {
        Self {
            screen,
            clock,
            forward,
        }
    }
}

#[async_trait::async_trait]
impl Pager for ConsolePager {
    async fn send(&self, event: &PageEvent) -> Result<(), DeliveryError> {
        self.screen.show(Happening {
            at: self.clock.now(),
            channel: PAGER.to_owned(),
            what: What::Paged {
                event: event.clone(),
                sent: self.forward.is_some(),
            },
        });
        match &self.forward {
            Some(pager) => pager.send(event).await,
            None => Ok(()),
        }
    }
}

/// The parts a console (or a simulation) gives the application instead of the
/// ones `serve` would make: no Slack or Discord, an HTTP server on a free local
/// port, the console platform, and a pager and runner that only show on a dry run.
pub struct Parts {
    pub settings: Settings,
    pub screen: Screen,
    pub platform: Arc<ConsolePlatform>,
    /// `None`: paging as the settings configure it (off without a routing key).
    pub pager: Option<Arc<dyn Pager>>,
    pub runner: Runner,
}

impl Parts {
    pub fn new(
        mut settings: Settings,
        config: &Config,
        screen: Screen,
        clock: SharedClock,
        dry_run: bool,
    ) -> Result<Self, PagerSetupError> {
        settings.slack.bot_token = None;
        settings.slack.app_token = None;
        settings.discord.token = None;
        settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let forward = if dry_run {
            None
        } else {
            PagerDuty::from_settings(&settings.pagerduty)?
                .map(|pagerduty| Arc::new(pagerduty) as Arc<dyn Pager>)
        };
        let pager = (dry_run || forward.is_some()).then(|| {
            Arc::new(ConsolePager::new(screen.clone(), clock.clone(), forward)) as Arc<dyn Pager>
        });
        let env: EnvLookup = Arc::new(|name: &str| std::env::var(name).ok());
        let runner = Runner::new(env, config.actions().values());
        Ok(Self {
            settings,
            platform: Arc::new(ConsolePlatform::new(screen.clone(), clock)),
            screen,
            pager,
            runner: if dry_run { runner.dry_run() } else { runner },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_easy_to_type() {
        assert_eq!(
            room_name("INC-20261123-001 · Checkout is DOWN!"),
            "inc-20261123-001-checkout-is-down"
        );
        assert_eq!(room_name(&"x".repeat(100)).len(), ROOM_NAME_MAX);
    }
}
