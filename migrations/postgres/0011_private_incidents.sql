-- Private incidents: a private war room, a declaration announced without its
-- title, and nothing about them on the status page, the feed or the JSON API
-- (unless the API token's scope allows them). Existing incidents stay public.
-- The sqlite and postgres migrations 0011 are the same.
ALTER TABLE incidents ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
