-- The first schema. Times are unix milliseconds (BIGINT), JSON is TEXT and flags are
-- INTEGER 0/1, because sqlx's Any driver carries nothing richer on both backends.
-- migrations/sqlite/0001_initial.sql is the same schema in SQLite's dialect.

CREATE TABLE incidents (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    drill INTEGER NOT NULL DEFAULT 0,
    services TEXT NOT NULL DEFAULT '[]',
    platform TEXT NOT NULL,
    origin_channel TEXT NOT NULL,
    room TEXT,
    declared_by TEXT NOT NULL,
    declared_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    identified_at BIGINT,
    mitigated_at BIGINT,
    resolved_at BIGINT,
    last_update_at BIGINT,
    summary TEXT
);
CREATE INDEX incidents_room ON incidents (platform, room);
CREATE INDEX incidents_declared ON incidents (declared_at, id);

CREATE TABLE incident_roles (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, role)
);

CREATE TABLE timeline_events (
    id BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX timeline_events_incident ON timeline_events (incident_id, at, id);

CREATE TABLE followups (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    text TEXT NOT NULL,
    owner TEXT,
    due TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, number)
);

-- INC-YYYYMMDD-NNN: the last number handed out per UTC day (day as YYYYMMDD).
CREATE TABLE incident_counters (
    day TEXT PRIMARY KEY NOT NULL,
    last BIGINT NOT NULL
);

-- Chat operations to deliver. lane = incident id, or '<platform>:global'.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    lane TEXT NOT NULL,
    incident_id TEXT REFERENCES incidents (id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    operation TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    delivered_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
-- The claim query looks for the oldest pending row of each lane.
CREATE INDEX outbox_pending ON outbox (lane, id) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_incident ON outbox (incident_id, id);

-- Messages posted under a handle, so later edits and pins can find them.
CREATE TABLE message_refs (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    handle TEXT NOT NULL,
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, handle)
);

-- Platform request ids already handled, with the reply given.
CREATE TABLE processed_requests (
    key TEXT PRIMARY KEY NOT NULL,
    reply TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX processed_requests_created ON processed_requests (created_at);

-- Status-update reminders and escalations, leased like the outbox.
CREATE TABLE reminders (
    id BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT,
    done_at BIGINT
);
CREATE INDEX reminders_due ON reminders (due_at, id) WHERE done_at IS NULL;
CREATE INDEX reminders_incident ON reminders (incident_id, kind);

-- Runs of configured actions (http, program, page), leased like the outbox.
CREATE TABLE action_runs (
    id BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    approved_by TEXT,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at BIGINT,
    finished_at BIGINT,
    result TEXT,
    output_hash TEXT,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX action_runs_status ON action_runs (status, next_attempt_at, id);
CREATE INDEX action_runs_incident ON action_runs (incident_id, id);
