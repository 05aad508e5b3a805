-- offline-auth reference server, PostgreSQL schema version 4: revocation.
-- (Versions 3 and 4 belong to other changes; each version is applied once,
-- whichever order they arrive in.)
--
-- One row per revoked device: the operator's reason and the time (the
-- server's, seconds since the epoch). Every instance reads it before it
-- issues a grant or applies an upload, so a revocation made through one
-- instance holds on all. A device is revoked once: the first row stays.
CREATE TABLE IF NOT EXISTS revocations (
    device_id  TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
