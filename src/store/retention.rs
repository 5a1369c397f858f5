//! Retention: deleting bookkeeping rows once they have served their purpose,
//! a bounded batch at a time, oldest first.
//!
//! Owns: which rows are bookkeeping and may go: handled request ids, inbox
//! items applied, chat operations and pages delivered or given up on, and
//! finished reminders other than the fired response checks and escalations the
//! engine still reads.
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

/// Inbox items applied or given up on, by when; a pending item has no
/// `handled_at` and never matches.
const PRUNE_INBOX: &str = "DELETE FROM inbox WHERE id IN \
     (SELECT id FROM inbox WHERE handled_at < $1 ORDER BY handled_at LIMIT $2)";

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

/// The kinds of bookkeeping row, each deleted oldest first by its own query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bookkeeping {
    /// Request ids first seen before the cut-off; a replay of one is applied again.
    ProcessedRequests,
    /// Inbox items handled before the cut-off; pending ones are never touched.
    HandledInbox,
    /// Operations delivered or failed before the cut-off; pending ones are never touched.
    FinishedOperations,
    /// Reminders finished before the cut-off, but for the fired response checks
    /// and escalations.
    FinishedReminders,
}

impl Bookkeeping {
    fn delete(self) -> &'static str {
        match self {
            Bookkeeping::ProcessedRequests => PRUNE_REQUESTS,
            Bookkeeping::HandledInbox => PRUNE_INBOX,
            Bookkeeping::FinishedOperations => PRUNE_OPERATIONS,
            Bookkeeping::FinishedReminders => PRUNE_REMINDERS,
        }
    }
}

impl Store {
    /// Deletes up to `limit` rows of `kind` older than `before`, oldest first;
    /// returns how many went.
    pub async fn prune(
        &self,
        kind: Bookkeeping,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let _turn = self.writer_turn().await;
        let deleted = sqlx::query(kind.delete())
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
