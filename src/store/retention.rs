//! Retention: deleting bookkeeping rows once they have served their purpose,
//! a bounded batch at a time, oldest first.
//!
//! Owns: which rows are bookkeeping and may go: handled request ids, chat
//! operations and pages delivered or given up on, and finished reminders other
//! than the fired response checks and escalations the engine still reads.
//! Incidents, roles, timelines, follow-ups, pages, status updates, action and
//! runbook runs and message references are kept for good.
//! Must not: decide how long rows are kept (`[retention]` in the config) or when
//! to prune (the pruner worker); every method takes its cut-off and batch size.
//!
//! Each delete picks its victims in a subquery (`WHERE id IN (SELECT … ORDER BY
//! … LIMIT n)`), which SQLite and Postgres both accept, so one call holds the
//! write lock only as long as `limit` rows take, and a backlog drains over
//! several calls instead of in one long transaction.

use super::rows::millis;
use super::{Store, StoreError};
use chrono::{DateTime, Utc};

/// Handled request ids, by when they were first seen.
const PRUNE_REQUESTS: &str = "DELETE FROM processed_requests WHERE key IN \
     (SELECT key FROM processed_requests WHERE created_at < $1 ORDER BY created_at LIMIT $2)";

/// Delivered or failed operations, by when they finished; a pending row has
/// neither time and never matches. The expression is the one `outbox_finished`
/// indexes.
const PRUNE_OPERATIONS: &str = "DELETE FROM outbox WHERE id IN \
     (SELECT id FROM outbox WHERE COALESCE(delivered_at, failed_at) < $1 \
      ORDER BY COALESCE(delivered_at, failed_at) LIMIT $2)";

/// Finished reminders, by when they finished, except a fired response check or
/// escalation: the engine reads those (`has_fired`, `level_reached`) so a
/// reopened or re-graded incident does not call a level in twice. The condition
/// is `reminders_prunable`'s, word for word, so that index serves the query.
const PRUNE_REMINDERS: &str = "DELETE FROM reminders WHERE id IN \
     (SELECT id FROM reminders WHERE done_at < $1 \
      AND (outcome <> 'fired' OR (kind <> 'response' AND target IS NULL)) \
      ORDER BY done_at LIMIT $2)";

impl Store {
    /// Deletes up to `limit` request ids first seen before `before`, oldest
    /// first; returns how many went. A replay of one of them is applied again.
    pub async fn prune_processed_requests(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.prune(PRUNE_REQUESTS, before, limit).await
    }

    /// Deletes up to `limit` operations delivered or failed before `before`,
    /// oldest first; returns how many went. Pending operations are never touched.
    pub async fn prune_finished_operations(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.prune(PRUNE_OPERATIONS, before, limit).await
    }

    /// Deletes up to `limit` reminders finished before `before`, oldest first,
    /// keeping the fired response checks and escalations; returns how many went.
    pub async fn prune_finished_reminders(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.prune(PRUNE_REMINDERS, before, limit).await
    }

    /// Runs one of the deletes above, `$1` the cut-off and `$2` the batch size.
    async fn prune(
        &self,
        delete: &'static str,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let _turn = self.writer_turn().await;
        let deleted = sqlx::query(delete)
            .bind(millis(before))
            .bind(i64::from(limit))
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use crate::schedule::{ReminderKind, ReminderOutcome};

    /// The reminder query and its index spell these words out; they must stay
    /// the words the store writes.
    #[test]
    fn the_kept_reminders_are_named_in_the_words_stored() {
        assert_eq!(ReminderOutcome::Fired.as_str(), "fired");
        assert_eq!(ReminderKind::Response.as_str(), "response");
        assert!(super::PRUNE_REMINDERS.contains("outcome <> 'fired'"));
        assert!(super::PRUNE_REMINDERS.contains("kind <> 'response'"));
    }
}
