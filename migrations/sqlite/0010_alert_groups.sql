-- Alert groups from Alertmanager and Grafana: one row per group, whatever became
-- of it (unrouted, proposed, declared, dismissed). The unique key is what makes
-- repeated or concurrent deliveries of one group find one row, and so open at
-- most one incident. migrations/postgres/0010_alert_groups.sql is the same in
-- Postgres' dialect.
CREATE TABLE alert_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    group_key TEXT NOT NULL,
    state TEXT NOT NULL,
    route TEXT,
    platform TEXT,
    incident_id TEXT REFERENCES incidents (id),
    title TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    -- {fingerprint: "firing" | "resolved"} as JSON.
    alerts TEXT NOT NULL,
    resolved INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source, group_key)
);
-- Time to detect reads an incident's alert start through this.
CREATE INDEX alert_groups_incident ON alert_groups (incident_id) WHERE incident_id IS NOT NULL;

-- When the alerts behind an incident began: the start of its time to detect.
-- Empty for incidents declared by hand.
ALTER TABLE incidents ADD COLUMN detected_at BIGINT;
