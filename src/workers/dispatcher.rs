//! The delivery loop: lease due outbox rows, perform them on their platform, and
//! record the outcome.
//!
//! Owns: retry policy (exponential backoff for transient errors, `Retry-After` for
//! rate limits, giving up after a number of attempts) and resolving where an
//! operation goes (the incident's war room, a message posted earlier under a handle).
//! Must not: decide what to say, or touch rows it does not hold a lease on (the
//! store checks the lease on every change).
//!
//! Lanes are independent: each pass claims at most the head of every lane and
//! delivers them concurrently, so a slow or rate-limited incident never holds up
//! another. Rate limits do not count as failed attempts: the platform told us when
//! to come back, and a long 429 storm must not make us drop messages.

use super::{Heartbeat, SHORT_LEASE, run_loop, unique_owner};
use crate::clock::SharedClock;
use crate::domain::{IncidentId, Platform};
use crate::outbox::{
    Attempt, ChatPlatform, Delivered, DeliveryError, Destination, IssueDraft, IssueTracker,
    MessageRef, Operation, OutboxEntry, PageEvent, Pager, Post, Upload,
};
use crate::render::{Block, Inline, Message};
use crate::store::{LeasedWork, Store, StoreError};
use crate::telemetry::{self, DeadLetter, DeliveryResult};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// Tuning of the delivery loop.
#[derive(Debug, Clone)]
pub struct DispatcherSettings {
    /// Names this dispatcher in leases; unique per process (see [`unique_owner`]).
    pub owner: String,
    /// How long a claimed row stays ours unless renewed; a crashed process's rows
    /// return after it. The loop's heartbeat renews it while a delivery runs.
    pub lease: Duration,
    /// How long one platform call may take before it counts as a transient failure.
    pub delivery_timeout: Duration,
    /// How many rows (one per lane) one pass claims and delivers concurrently.
    pub batch: u32,
    /// Wait after the first transient failure; doubles with each further one.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Failed attempts (rate limits excluded) after which an operation is given up.
    pub max_attempts: u32,
    /// How often to look for due rows when nobody pokes the notifier.
    pub poll_interval: Duration,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        Self {
            owner: unique_owner("dispatcher"),
            lease: SHORT_LEASE,
            delivery_timeout: Duration::from_secs(30),
            batch: 32,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            max_attempts: 10,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Delivers queued operations.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    platforms: HashMap<Platform, Arc<dyn ChatPlatform>>,
    /// Where page rows go; `None` when paging is off.
    pager: Option<Arc<dyn Pager>>,
    /// Where issues are filed: the trackers whose credentials are set.
    trackers: Vec<Arc<dyn IssueTracker>>,
    clock: SharedClock,
    settings: DispatcherSettings,
    wakeup: Arc<Notify>,
}

impl Dispatcher {
    /// `wakeup` is the notifier the engine pokes after committing new rows, so
    /// delivery starts at once instead of at the next poll.
    pub fn new(
        store: Store,
        platforms: Vec<Arc<dyn ChatPlatform>>,
        clock: SharedClock,
        settings: DispatcherSettings,
        wakeup: Arc<Notify>,
    ) -> Self {
        Self::with_services(store, platforms, None, Vec::new(), clock, settings, wakeup)
    }

    /// Like [`Dispatcher::new`], delivering page rows through `pager` and
    /// filing issues through `trackers`.
    pub fn with_services(
        store: Store,
        platforms: Vec<Arc<dyn ChatPlatform>>,
        pager: Option<Arc<dyn Pager>>,
        trackers: Vec<Arc<dyn IssueTracker>>,
        clock: SharedClock,
        settings: DispatcherSettings,
        wakeup: Arc<Notify>,
    ) -> Self {
        let platforms = platforms
            .into_iter()
            .map(|adapter| (adapter.platform(), adapter))
            .collect();
        Self {
            inner: Arc::new(Inner {
                store,
                platforms,
                pager,
                trackers,
                clock,
                settings,
                wakeup,
            }),
        }
    }

    /// The notifier that makes the loop look for work now.
    pub fn notifier(&self) -> Arc<Notify> {
        self.inner.wakeup.clone()
    }

    /// One pass: claims what is due (the head of each lane) and delivers it,
    /// lanes concurrently. Returns how many operations were attempted.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let inner = &self.inner;
        let settings = &inner.settings;
        let claimed = inner
            .store
            .claim_outbox(
                &settings.owner,
                inner.clock.now(),
                settings.lease,
                settings.batch,
            )
            .await?;
        let attempted = claimed.len();
        let mut deliveries = JoinSet::new();
        for entry in claimed {
            let inner = inner.clone();
            deliveries.spawn(async move { inner.deliver(entry).await });
        }
        let mut first_error = None;
        while let Some(finished) = deliveries.join_next().await {
            match finished {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(%error, "recording a delivery outcome failed; the row is retried when its lease ends");
                    first_error.get_or_insert(error);
                }
                Err(panicked) => {
                    tracing::error!(error = %panicked, "a delivery task died; the row is retried when its lease ends");
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(attempted),
        }
    }

    /// Delivers until `shutdown` completes. Work in flight when it does is finished
    /// first; anything left is delivered by the next process (the rows stay queued).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let settings = &self.inner.settings;
        let this = &self;
        let pass = move || async move {
            let attempted = this.deliver_due().await?;
            // After a busy pass the next rows of those lanes may be due at once.
            Ok::<_, StoreError>(if attempted > 0 {
                Duration::ZERO
            } else {
                settings.poll_interval
            })
        };
        let wakeup = self.inner.wakeup.clone();
        let heartbeat = Heartbeat::start(
            self.inner.store.clone(),
            LeasedWork::Outbox,
            settings.owner.clone(),
            settings.lease,
            self.inner.clock.clone(),
        );
        run_loop(
            "outbox dispatcher",
            &settings.owner,
            wakeup,
            settings.poll_interval,
            shutdown,
            pass,
        )
        .await;
        heartbeat.stop().await;
    }
}

impl Inner {
    /// Performs one leased operation and records the outcome.
    async fn deliver(&self, entry: OutboxEntry) -> Result<(), StoreError> {
        let settings = &self.settings;
        let owner = settings.owner.as_str();
        let kind = entry.operation.kind();
        let attempt = tokio::time::timeout(settings.delivery_timeout, self.attempt(&entry)).await;
        let outcome = match attempt {
            Ok(Ok(delivered)) => Ok(delivered),
            Ok(Err(Undelivered::Store(error))) => return Err(error),
            Ok(Err(Undelivered::Delivery(error))) => Err(error),
            Err(_) => Err(DeliveryError::Transient(format!(
                "no answer within {:?}",
                settings.delivery_timeout
            ))),
        };
        let now = self.clock.now();
        let store = &self.store;
        let kept = match outcome {
            Ok(delivered) => {
                telemetry::delivery(entry.platform, DeliveryResult::Delivered);
                tracing::debug!(id = entry.id, incident = ?entry.incident, kind, "delivered");
                store
                    .complete_outbox(entry.id, owner, now, delivered)
                    .await?
            }
            Err(DeliveryError::RateLimited { retry_after }) => {
                telemetry::delivery(entry.platform, DeliveryResult::RateLimited);
                tracing::info!(
                    id = entry.id,
                    kind,
                    ?retry_after,
                    "rate limited; waiting as asked"
                );
                let reason = format!("rate limited; retry after {retry_after:?}");
                store
                    .postpone_outbox(&entry, owner, later(now, retry_after), &reason)
                    .await?
            }
            Err(DeliveryError::Transient(error)) if entry.attempts + 1 < settings.max_attempts => {
                telemetry::delivery(entry.platform, DeliveryResult::Retried);
                let wait = backoff(settings, entry.attempts);
                tracing::warn!(id = entry.id, kind, attempt = entry.attempts + 1, ?wait, %error, "delivery failed; will retry");
                store
                    .retry_outbox(entry.id, owner, later(now, wait), &error)
                    .await?
            }
            Err(error) => {
                telemetry::delivery(entry.platform, DeliveryResult::Failed);
                tracing::warn!(id = entry.id, incident = ?entry.incident, kind, %error, "giving up on an operation");
                let set_aside = match &entry.operation {
                    Operation::Page { if_refused, .. }
                    | Operation::FileIssue { if_refused, .. } => {
                        let report = refusal_report(if_refused, &error);
                        store
                            .fail_outbox_reporting(&entry, owner, now, &error.to_string(), &report)
                            .await?
                    }
                    _ if entry.notice_of.is_none() && entry.incident.is_some() => {
                        let notice = Operation::set_aside_notice(
                            &format!("an operation ({kind})"),
                            &error.to_string(),
                        );
                        store
                            .fail_outbox_reporting(&entry, owner, now, &error.to_string(), &notice)
                            .await?
                    }
                    _ => {
                        store
                            .fail_outbox(entry.id, owner, now, &error.to_string())
                            .await?
                    }
                };
                // Counted once the row is set aside, not when another dispatcher
                // owns it by now and may yet deliver it.
                if set_aside {
                    telemetry::dead_letter(entry.platform.as_str(), DeadLetter::Refused);
                }
                set_aside
            }
        };
        if !kept {
            tracing::warn!(
                id = entry.id,
                kind,
                "lease lost before the outcome was recorded; another dispatcher owns the operation now"
            );
        }
        Ok(())
    }

    /// Talks to the platform, the pager for a page or the tracker for an issue,
    /// including for operations that cannot be delivered.
    async fn attempt(&self, entry: &OutboxEntry) -> Result<Delivered, Undelivered> {
        match &entry.operation {
            Operation::Page { event, .. } => return self.page(entry, event).await,
            Operation::FileIssue {
                issue, if_filed, ..
            } => return self.file_issue(entry, issue, if_filed).await,
            _ => {}
        }
        let Some(platform) = self.platforms.get(&entry.platform) else {
            // Transient: a restart with the adapter configured should still deliver it.
            let missing = format!("no {} adapter is configured", entry.platform);
            return Err(DeliveryError::Transient(missing).into());
        };
        let incident = entry.incident.as_ref();
        let attempt = Attempt::of(entry);
        match &entry.operation {
            Operation::CreateRoom(spec) => {
                if incident.is_none() {
                    return Err(permanent(
                        "a war room is created for an incident, and this operation has none",
                    )
                    .into());
                }
                Ok(Delivered::Room(platform.create_room(spec).await?))
            }
            Operation::Invite { users } => {
                platform.invite(&self.room(incident).await?, users).await?;
                Ok(Delivered::Nothing)
            }
            Operation::SetTopic { topic } => {
                platform
                    .set_topic(&self.room(incident).await?, topic)
                    .await?;
                Ok(Delivered::Nothing)
            }
            Operation::Post {
                to,
                message,
                handle,
            } => {
                let channel = self.channel(to, incident).await?;
                if handle.is_some() && incident.is_none() {
                    return Err(permanent(
                        "a message handle belongs to an incident, and this post has none",
                    )
                    .into());
                }
                let message = &self.room_linked(incident, message).await?;
                let posted = platform
                    .post(&Post {
                        channel: &channel,
                        message,
                        handle: handle.as_deref(),
                        attempt,
                    })
                    .await?;
                Ok(match handle {
                    Some(handle) => Delivered::Message {
                        handle: handle.clone(),
                        posted,
                    },
                    None => Delivered::Nothing,
                })
            }
            Operation::Edit { handle, message } => {
                let message = &self.room_linked(incident, message).await?;
                platform
                    .edit(&self.posted(incident, handle).await?, message)
                    .await?;
                Ok(Delivered::Nothing)
            }
            Operation::Pin { handle } => {
                platform.pin(&self.posted(incident, handle).await?).await?;
                Ok(Delivered::Nothing)
            }
            Operation::Upload { to, file, summary } => {
                let channel = self.channel(to, incident).await?;
                platform
                    .upload(&Upload {
                        channel: &channel,
                        file,
                        summary,
                        attempt,
                    })
                    .await?;
                Ok(Delivered::Nothing)
            }
            Operation::Page { .. } | Operation::FileIssue { .. } => {
                Err(permanent("pages and issues are not chat operations").into())
            }
        }
    }

    /// Files an issue; the war room is then told its link (queued with the
    /// outcome, see [`Delivered::Issue`]).
    async fn file_issue(
        &self,
        entry: &OutboxEntry,
        issue: &IssueDraft,
        if_filed: &Message,
    ) -> Result<Delivered, Undelivered> {
        let Some(tracker) = self.trackers.iter().find(|t| t.tracker() == issue.tracker) else {
            return Err(permanent(&format!(
                "issues are not filed in {} by this process (its credentials are not set)",
                issue.tracker
            ))
            .into());
        };
        let link = tracker.file(issue, Attempt::of(entry)).await?;
        let mut announce = if_filed.clone();
        if let Some(Block::Paragraph(line)) = announce.blocks.last_mut() {
            line.push(Inline::Text(" ".into()));
            line.push(Inline::Link {
                label: link.key.clone(),
                url: link.url.clone(),
            });
        }
        Ok(Delivered::Issue {
            followup: issue.followup,
            link,
            announce: Operation::Post {
                to: Destination::Room,
                message: announce,
                handle: None,
            },
        })
    }

    /// Sends a page. A trigger gets the war room added to its details if the room
    /// exists by now (the page lane does not wait for it: paging comes first).
    async fn page(&self, entry: &OutboxEntry, event: &PageEvent) -> Result<Delivered, Undelivered> {
        let Some(pager) = &self.pager else {
            return Err(
                permanent("paging is off in this process (no PAGERDUTY_ROUTING_KEY)").into(),
            );
        };
        let mut event = event.clone();
        if let Some(id) = &entry.incident
            && let Some(room) = self.store.incident(id).await?.and_then(|i| i.room)
        {
            if let Some(url) = self
                .platforms
                .get(&entry.platform)
                .and_then(|platform| platform.room_url(&room))
            {
                event.details.insert("room_url".into(), url);
            }
            event.details.insert("room".into(), room);
        }
        pager.send(&event).await?;
        Ok(Delivered::Nothing)
    }

    /// The incident's war room. Lanes are delivered in order, so by the time a room
    /// operation is at the head of its lane, `create room` has succeeded or failed
    /// for good: a missing room will not appear by waiting.
    async fn room(&self, incident: Option<&IncidentId>) -> Result<String, Undelivered> {
        let Some(id) = incident else {
            return Err(
                permanent("the operation is not about an incident, so it has no war room").into(),
            );
        };
        match self.store.incident(id).await?.map(|incident| incident.room) {
            Some(Some(room)) => Ok(room),
            Some(None) => Err(permanent(&format!(
                "incident {id} has no war room (creating it failed)"
            ))
            .into()),
            None => Err(permanent(&format!("incident {id} does not exist")).into()),
        }
    }

    /// The channel a destination names.
    async fn channel(
        &self,
        to: &Destination,
        incident: Option<&IncidentId>,
    ) -> Result<String, Undelivered> {
        match to {
            Destination::Channel(channel) => Ok(channel.clone()),
            Destination::Room => self.room(incident).await,
        }
    }

    /// `message` with its war-room links pointing at the incident's room, once it
    /// has one; until then (or if opening it failed) they stay words.
    async fn room_linked(
        &self,
        incident: Option<&IncidentId>,
        message: &Message,
    ) -> Result<Message, Undelivered> {
        let room = match incident {
            Some(id) if message.links_room() => self.store.incident(id).await?.and_then(|i| i.room),
            _ => None,
        };
        Ok(match room {
            Some(room) => message.clone().with_room(&room),
            None => message.clone(),
        })
    }

    /// The message posted earlier under `handle`; like the room, it exists by now or never will.
    async fn posted(
        &self,
        incident: Option<&IncidentId>,
        handle: &str,
    ) -> Result<MessageRef, Undelivered> {
        let Some(id) = incident else {
            return Err(permanent(
                "a message handle belongs to an incident, and this operation has none",
            )
            .into());
        };
        self.store.message_ref(id, handle).await?.ok_or_else(|| {
            permanent(&format!(
                "incident {id} has no message `{handle}` (posting it failed)"
            ))
            .into()
        })
    }
}

/// Why an attempt delivered nothing: the store failed us (the row stays leased
/// and comes back), or the delivery failed, which is the attempt's outcome.
enum Undelivered {
    Store(StoreError),
    Delivery(DeliveryError),
}

impl From<StoreError> for Undelivered {
    fn from(error: StoreError) -> Self {
        Undelivered::Store(error)
    }
}

impl From<DeliveryError> for Undelivered {
    fn from(error: DeliveryError) -> Self {
        Undelivered::Delivery(error)
    }
}

fn permanent(reason: &str) -> DeliveryError {
    DeliveryError::Permanent(reason.to_string())
}

/// What the war room is told when a page could not be sent: the engine's words,
/// then the paging service's reason.
fn refusal_report(if_refused: &Message, error: &DeliveryError) -> Operation {
    let mut message = if_refused.clone();
    message
        .blocks
        .push(Block::Paragraph(vec![Inline::Text(error.to_string())]));
    Operation::Post {
        to: Destination::Room,
        message,
        handle: None,
    }
}

/// `base · 2^failures`, capped at the maximum.
fn backoff(settings: &DispatcherSettings, failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures).unwrap_or(u32::MAX);
    settings
        .backoff_base
        .saturating_mul(factor)
        .min(settings.backoff_max)
}

/// `now + wait`, saturating instead of overflowing on absurd waits.
fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    let wait = TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX);
    now.checked_add_signed(wait)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What an operation is, for logs (never its content).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let settings = DispatcherSettings::default();
        let waits: Vec<_> = [0, 1, 2, 8, 9, 40]
            .iter()
            .map(|&n| backoff(&settings, n).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 256, 300, 300]);
    }

    #[test]
    fn absurd_waits_saturate() {
        let now = Utc::now();
        assert_eq!(later(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            later(now, Duration::from_secs(1)),
            now + TimeDelta::seconds(1)
        );
    }
}
