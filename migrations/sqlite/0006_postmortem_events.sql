-- Postmortem counts (/incident stats and /metrics) find their events by kind.
-- migrations/postgres/0005_postmortem_events.sql is the same.
CREATE INDEX timeline_events_kind ON timeline_events (kind, incident_id);
