-- Cadence and paging. migrations/sqlite/0002_cadence.sql is the same in SQLite's dialect.

-- How a reminder ended (fired, cancelled, skipped) and, for escalations and
-- missed response targets, the escalation level it called in.
ALTER TABLE reminders ADD COLUMN outcome TEXT;
ALTER TABLE reminders ADD COLUMN target TEXT;
CREATE INDEX reminders_pending ON reminders (incident_id, kind) WHERE done_at IS NULL;

-- Every page warroom meant to send, one per PagerDuty dedup key, and how far it
-- got: off (no routing key), drill, triggered, acknowledged, resolved.
CREATE TABLE pages (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    dedup_key TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, dedup_key)
);
