-- Runbook runs: one row per `/incident run <runbook>`; each step is an ordinary
-- action run linked to it. migrations/sqlite/0005_runbooks.sql is the same but
-- for the key's type.
CREATE TABLE runbook_runs (
    id BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    runbook TEXT NOT NULL,
    -- The key=value words given on the command, for the fallbacks queued later.
    params TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    approved_by TEXT,
    -- Who asked to cancel it while a step was running; no later step starts.
    cancel_requested_by TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX runbook_runs_incident ON runbook_runs (incident_id, id);

-- A step's run: its runbook run, the step's index (from 0), and whether it is
-- the step's fallback.
ALTER TABLE action_runs ADD COLUMN runbook_run_id BIGINT REFERENCES runbook_runs (id);
ALTER TABLE action_runs ADD COLUMN step_index BIGINT;
ALTER TABLE action_runs ADD COLUMN fallback INTEGER NOT NULL DEFAULT 0;
CREATE INDEX action_runs_runbook ON action_runs (runbook_run_id, step_index, id);
