-- The tracker issue a follow-up was filed as (`#12` or `OPS-12`, and its URL),
-- set once the tracker made it. Both stay NULL for a follow-up kept in warroom
-- alone.
-- migrations/sqlite/0012_followup_issues.sql is the same.
ALTER TABLE followups ADD COLUMN issue_key TEXT;
ALTER TABLE followups ADD COLUMN issue_url TEXT;
