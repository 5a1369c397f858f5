-- The public face: what was said publicly about an incident, and component states
-- set explicitly (by `status` actions) rather than derived from open incidents.
-- migrations/sqlite/0002_status_page.sql is the same schema in SQLite's dialect.

-- Public status updates, written by the engine in the command's transaction. Only
-- text posted as a status update (or given with a status change) lands here; the
-- status page and the Atom feed read nothing else an incident's people wrote.
CREATE TABLE status_updates (
    id BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    status TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX status_updates_incident ON status_updates (incident_id, at, id);
CREATE INDEX status_updates_at ON status_updates (at, id);

-- A component's state as last set explicitly. With an incident, the state holds
-- while that incident is open; without one, until it is set again.
CREATE TABLE component_states (
    component TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    incident_id TEXT REFERENCES incidents (id) ON DELETE CASCADE,
    set_by TEXT NOT NULL,
    set_at BIGINT NOT NULL
);
