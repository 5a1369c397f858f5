-- What a platform sent and warroom acknowledged, kept until it has been applied,
-- so a crash between the acknowledgement and the handling loses nothing.
CREATE TABLE inbox (
    id BIGSERIAL PRIMARY KEY,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    handled_at BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX inbox_pending ON inbox (id) WHERE handled_at IS NULL;

-- Stored operations say which format they were written in, so a release that
-- cannot read a row sets it aside instead of guessing.
ALTER TABLE outbox ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
-- A notice in the room about another row set aside; a notice is not noticed again.
ALTER TABLE outbox ADD COLUMN notice_of BIGINT;
