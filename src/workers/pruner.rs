//! The pruner loop: deletes bookkeeping rows past their `[retention]` window in
//! small batches, so the database stops growing by what it only needed for a while.
//!
//! A pass takes one batch from each table; while any batch came back full the
//! loop goes straight on, otherwise it waits its interval. Small batches keep
//! each delete's hold on the write lock short, so commands and deliveries are
//! not held up behind a large backlog. On Postgres every replica prunes; two
//! passes that pick the same rows delete them once.
//!
//! Must not: choose which rows are bookkeeping or write SQL (the store does).

use super::{run_loop, unique_owner};
use crate::clock::SharedClock;
use crate::config::RetentionConfig;
use crate::store::{Bookkeeping, Store, StoreError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Tuning of the pruner's loop.
#[derive(Debug, Clone)]
pub struct PrunerSettings {
    /// Names this pruner in the log; unique per process.
    pub owner: String,
    /// The most rows one delete takes from one table.
    pub batch: u32,
    /// The pause after a pass that found less than a full batch everywhere.
    pub interval: Duration,
}

impl Default for PrunerSettings {
    fn default() -> Self {
        Self {
            owner: unique_owner("pruner"),
            batch: 500,
            interval: Duration::from_secs(10 * 60),
        }
    }
}

/// How many rows one pass deleted, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub processed_requests: u64,
    pub inbox: u64,
    pub operations: u64,
    pub reminders: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.processed_requests + self.inbox + self.operations + self.reminders
    }

    /// Whether some table gave a full batch of `batch`, so more may be waiting.
    pub fn filled(&self, batch: u32) -> bool {
        let batch = u64::from(batch);
        [
            self.processed_requests,
            self.inbox,
            self.operations,
            self.reminders,
        ]
        .iter()
        .any(|&deleted| deleted >= batch)
    }
}

/// Deletes handled request ids, applied inbox items, finished operations and
/// finished reminders once they are older than the config's retention windows.
#[derive(Clone)]
pub struct Pruner {
    store: Store,
    clock: SharedClock,
    retention: RetentionConfig,
    settings: PrunerSettings,
}

impl Pruner {
    pub fn new(
        store: Store,
        clock: SharedClock,
        retention: RetentionConfig,
        settings: PrunerSettings,
    ) -> Self {
        Self {
            store,
            clock,
            retention,
            settings,
        }
    }

    /// One pass: at most one batch from each table, of the rows older than
    /// their window at the clock's now.
    pub async fn prune_due(&self) -> Result<Pruned, StoreError> {
        let now = self.clock.now();
        let retention = &self.retention;
        let prune = |kind: Bookkeeping, window: Duration| {
            let before = now - chrono::TimeDelta::from_std(window).unwrap_or_default();
            self.store.prune(kind, before, self.settings.batch)
        };
        Ok(Pruned {
            processed_requests: prune(Bookkeeping::ProcessedRequests, retention.processed_requests)
                .await?,
            inbox: prune(Bookkeeping::HandledInbox, retention.processed_requests).await?,
            operations: prune(
                Bookkeeping::FinishedOperations,
                retention.delivered_operations,
            )
            .await?,
            reminders: prune(
                Bookkeeping::FinishedReminders,
                retention.delivered_operations,
            )
            .await?,
        })
    }

    /// Prunes until `shutdown` completes: passes back to back while batches
    /// come back full, then one pass every interval.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let settings = &self.settings;
        let this = &self;
        let pass = move || async move {
            let pruned = this.prune_due().await?;
            if pruned.total() > 0 {
                tracing::debug!(
                    processed_requests = pruned.processed_requests,
                    inbox = pruned.inbox,
                    operations = pruned.operations,
                    reminders = pruned.reminders,
                    "pruned bookkeeping rows"
                );
            }
            Ok::<_, StoreError>(if pruned.filled(settings.batch) {
                Duration::ZERO
            } else {
                settings.interval
            })
        };
        // Nothing pokes the pruner: rows become old with time, not with events.
        run_loop(
            "pruner",
            &settings.owner,
            Arc::default(),
            settings.interval,
            shutdown,
            pass,
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::Pruned;

    #[test]
    fn a_full_batch_from_any_table_means_go_on() {
        let some = Pruned {
            processed_requests: 3,
            inbox: 0,
            operations: 500,
            reminders: 0,
        };
        assert!(some.filled(500));
        assert!(!some.filled(501));
        assert_eq!(some.total(), 503);
        assert!(!Pruned::default().filled(1));
    }
}
