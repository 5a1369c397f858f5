//! The inbox: what a platform sent, kept from before its acknowledgement until it
//! has been applied, so a crash in between loses no click and no event.
//!
//! Owns: [`Inbox`], with which an adapter keeps an item before acknowledging it and
//! then applies it ([`Kept::apply`]), and the [`InboxWorker`], which applies what a
//! stopped process left behind through the adapter's [`Replay`].
//! Must not: read payloads (the adapters do) or decide anything (the engine does).
//!
//! Applying an item twice is harmless: the engine knows a request it has seen by
//! its request id. So a crash after the engine committed but before the item was
//! marked handled only repeats an answer, never a change.

use super::{Heartbeat, SHORT_LEASE, run_loop, unique_owner};
use crate::clock::SharedClock;
use crate::domain::Platform;
use crate::store::{LeasedWork, Received, Store, StoreError};
use chrono::TimeDelta;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Failed attempts after which an item is set aside with its error.
const MAX_ATTEMPTS: u32 = 5;

/// How often to look for items a stopped process left.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How many items one pass applies.
const BATCH: u32 = 32;

/// A platform adapter's way to apply an item it kept.
#[async_trait::async_trait]
pub trait Replay: Send + Sync + 'static {
    fn platform(&self) -> Platform;

    /// Applies an item kept with [`Inbox::keep`] whose receiver stopped before
    /// applying it. An error is retried later.
    async fn replay(&self, kind: &str, payload: &str) -> Result<(), String>;
}

/// Where adapters keep what they acknowledge. Cheap to clone.
#[derive(Clone)]
pub struct Inbox {
    store: Store,
    clock: SharedClock,
    /// This process's lease on what it keeps, renewed by the worker's heartbeat.
    owner: Arc<str>,
    lease: Duration,
}

impl Inbox {
    pub fn new(store: Store, clock: SharedClock) -> Self {
        Self {
            store,
            clock,
            owner: unique_owner("inbox").into(),
            lease: SHORT_LEASE,
        }
    }

    /// Keeps an item, leased to this process, before it is acknowledged. An error
    /// means it was not kept: the adapter must not acknowledge it as received.
    pub async fn keep(
        &self,
        platform: Platform,
        kind: &str,
        payload: &str,
    ) -> Result<Kept, StoreError> {
        let id = self
            .store
            .receive(
                platform,
                kind,
                payload,
                &self.owner,
                self.clock.now(),
                self.lease,
            )
            .await?;
        Ok(Kept {
            id,
            inbox: self.clone(),
        })
    }

    /// [`Inbox::keep`], given up after `within`: for an answer that must go back
    /// in time whether or not what it promises could be kept (a slash command's
    /// "Working on it…"), so that a database that is away costs the promise its
    /// crash safety, not the user their answer. `None` (logged) if not kept.
    pub async fn keep_within(
        &self,
        within: Duration,
        platform: Platform,
        kind: &str,
        payload: &str,
    ) -> Option<Kept> {
        match tokio::time::timeout(within, self.keep(platform, kind, payload)).await {
            Ok(Ok(kept)) => Some(kept),
            Ok(Err(error)) => {
                tracing::error!(%error, %platform, kind, "could not keep a deferred request; a crash now would lose its answer");
                None
            }
            Err(_) => {
                tracing::error!(?within, %platform, kind, "the database did not keep a deferred request in time; a crash now would lose its answer");
                None
            }
        }
    }
}

/// An item kept and acknowledged, to be applied now.
pub struct Kept {
    id: i64,
    inbox: Inbox,
}

impl Kept {
    /// Runs `work`, which applies the item, then marks it handled. If the process
    /// dies before, the item is applied again by the [`InboxWorker`].
    pub async fn apply(self, work: impl Future<Output = ()>) {
        fault_before_handling().await;
        work.await;
        let inbox = &self.inbox;
        if let Err(error) = inbox.store.handled(self.id, inbox.clock.now(), None).await {
            tracing::warn!(%error, id = self.id, "could not mark an inbox item handled; it will be applied again, harmlessly");
        }
    }
}

/// Test builds only: with `WARROOM_FAULT=hang-before-handling` an acknowledged
/// item is never applied by its receiver, so a test can kill the process at
/// exactly that point.
async fn fault_before_handling() {
    #[cfg(feature = "testing")]
    if std::env::var("WARROOM_FAULT").is_ok_and(|fault| fault == "hang-before-handling") {
        tracing::warn!("fault point: hanging before handling an acknowledged item");
        std::future::pending::<()>().await;
    }
}

/// Applies the items a stopped process kept but did not apply.
#[derive(Clone)]
pub struct InboxWorker {
    inbox: Inbox,
    adapters: Arc<HashMap<Platform, Arc<dyn Replay>>>,
}

impl InboxWorker {
    pub fn new(inbox: Inbox, adapters: Vec<Arc<dyn Replay>>) -> Self {
        let adapters = adapters
            .into_iter()
            .map(|adapter| (adapter.platform(), adapter))
            .collect();
        Self {
            inbox,
            adapters: Arc::new(adapters),
        }
    }

    /// One pass: claims the items left behind and applies them, oldest first.
    /// Returns how many it claimed.
    pub async fn replay_due(&self) -> Result<usize, StoreError> {
        let inbox = &self.inbox;
        let claimed = inbox
            .store
            .claim_received(&inbox.owner, inbox.clock.now(), inbox.lease, BATCH)
            .await?;
        for item in &claimed {
            self.replay(item).await?;
        }
        Ok(claimed.len())
    }

    async fn replay(&self, item: &Received) -> Result<(), StoreError> {
        let inbox = &self.inbox;
        let outcome = match self.adapters.get(&item.platform) {
            Some(adapter) => adapter.replay(&item.kind, &item.payload).await,
            None => Err(format!("no {} adapter is configured", item.platform)),
        };
        let now = inbox.clock.now();
        match outcome {
            Ok(()) => {
                tracing::info!(id = item.id, kind = %item.kind, platform = %item.platform, "applied an item a stopped process had acknowledged");
                inbox.store.handled(item.id, now, None).await?;
            }
            Err(error) if item.attempts + 1 >= MAX_ATTEMPTS => {
                tracing::error!(id = item.id, kind = %item.kind, %error, "giving up on an acknowledged item");
                inbox.store.handled(item.id, now, Some(&error)).await?;
            }
            Err(error) => {
                let wait = TimeDelta::seconds(1i64 << item.attempts.min(10));
                tracing::warn!(id = item.id, kind = %item.kind, %error, "applying an acknowledged item failed; will retry");
                inbox
                    .store
                    .retry_received(item.id, now + wait, &error)
                    .await?;
            }
        }
        Ok(())
    }

    /// Applies left-behind items until `shutdown` completes, renewing the leases
    /// of the items this process keeps meanwhile.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let inbox = &self.inbox;
        let heartbeat = Heartbeat::start(
            inbox.store.clone(),
            LeasedWork::Inbox,
            inbox.owner.to_string(),
            inbox.lease,
            inbox.clock.clone(),
        );
        let this = &self;
        let pass = move || async move {
            let claimed = this.replay_due().await?;
            Ok::<_, StoreError>(if claimed >= BATCH as usize {
                Duration::ZERO
            } else {
                POLL_INTERVAL
            })
        };
        run_loop(
            "inbox worker",
            &inbox.owner,
            Arc::new(Notify::new()),
            POLL_INTERVAL,
            shutdown,
            pass,
        )
        .await;
        heartbeat.stop().await;
    }
}
