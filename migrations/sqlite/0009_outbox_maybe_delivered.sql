-- Whether an earlier attempt of an operation may have reached its platform
-- without the outcome being recorded (a timeout, a 5xx, or the process dying
-- during it). Before posting such a row again the adapter looks for the message
-- the earlier attempt made. A process that died mid-attempt leaves its lease
-- owner on the row instead, which the claim reads the same way.
-- migrations/postgres/0009_outbox_maybe_delivered.sql is the same.
ALTER TABLE outbox ADD COLUMN maybe_delivered INTEGER NOT NULL DEFAULT 0;
