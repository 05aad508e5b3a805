-- offline-auth reference server, PostgreSQL schema version 6: remote
-- directives (docs/decisions/0015-remote-directives.md).
--
-- One row per directive the operator queued: the signed token delivered as
-- it is in every answer to the device's sync and renewal, until the device
-- acknowledges its jti (acknowledged_at set). Ordered by iat, then id.
CREATE TABLE IF NOT EXISTS directives (
    id              BIGSERIAL PRIMARY KEY,
    device_id       TEXT NOT NULL,
    jti             TEXT NOT NULL UNIQUE,
    iat             BIGINT NOT NULL,
    action          TEXT NOT NULL,
    token           TEXT NOT NULL,
    acknowledged_at BIGINT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS directives_pending ON directives (device_id, iat, id) WHERE acknowledged_at IS NULL;
