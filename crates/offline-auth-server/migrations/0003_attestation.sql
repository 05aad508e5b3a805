-- offline-auth reference server, PostgreSQL schema version 3: attested
-- enrolment (docs/decisions/0012-attested-enrolment.md).

-- Challenges issued by POST /challenge: single-use (used_at is set by the
-- one UPDATE that takes it), short-lived (expires_at, Unix seconds), bound
-- to the device id they were issued for. Shared by every instance.
CREATE TABLE challenges (
    challenge  BYTEA PRIMARY KEY,
    device_id  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX challenges_by_expiry ON challenges (expires_at);

-- What each device's last enrolment proved (its evidence summary) and the
-- key that signs its uploads; replaced at every enrolment.
CREATE TABLE device_evidence (
    device_id      TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    level          TEXT NOT NULL,
    policy         TEXT NOT NULL,
    window_secs    BIGINT NOT NULL,
    os_patch_level BIGINT,
    boot_state     TEXT,
    device_locked  BOOLEAN,
    app_id         TEXT,
    key_kind       TEXT,
    upload_key     BYTEA,
    enrolled_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
