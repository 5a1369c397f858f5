-- Retention: the pruner deletes bookkeeping rows oldest first, finding them
-- through these indexes instead of scanning the tables it keeps small.
-- migrations/postgres/0008_retention.sql is the same in Postgres' dialect.

-- Delivered or failed operations, by when they finished.
CREATE INDEX outbox_finished ON outbox (COALESCE(delivered_at, failed_at));
-- Inbox items applied (or given up on), by when.
CREATE INDEX inbox_handled ON inbox (handled_at) WHERE handled_at IS NOT NULL;
-- Finished reminders that may go, by when they finished. A fired response check
-- or escalation stays with its incident: the engine reads it to know that a
-- level was already called in. The condition is repeated word for word in the
-- pruner's query (src/store/retention.rs), so the index serves it.
CREATE INDEX reminders_prunable ON reminders (done_at)
    WHERE done_at IS NOT NULL AND (outcome <> 'fired' OR (kind <> 'response' AND target IS NULL));
