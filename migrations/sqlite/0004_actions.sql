-- Action runs: the capped, redacted output a run printed, shown with its result.
-- migrations/postgres/0004_actions.sql is the same.
ALTER TABLE action_runs ADD COLUMN output TEXT;
-- Who asked to stop a run that was already running; its worker watches for it.
ALTER TABLE action_runs ADD COLUMN stop_requested_by TEXT;
