-- offline-auth reference server, PostgreSQL schema version 1.
-- Applied by the server at start-up (store/postgres.rs), once, under an
-- advisory lock, in one transaction with its row in schema_migrations.

-- The grant issuer's key: one row, created by the first instance to start
-- (INSERT ... ON CONFLICT DO NOTHING) and read back by every instance.
CREATE TABLE issuer (
    id          INT PRIMARY KEY CHECK (id = 1),
    kid         TEXT NOT NULL,
    private_key BYTEA NOT NULL
);

-- One row per device: its owner (the tenant), sync key, cursor (seq and
-- MAC of the last entry applied: the chain head), the last grant issued
-- and its iat. Uploads lock this row (SELECT ... FOR UPDATE).
CREATE TABLE devices (
    device_id   TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    sync_key    BYTEA NOT NULL,
    cursor_seq  BIGINT NOT NULL,
    cursor_mac  BYTEA NOT NULL,
    last_iat    BIGINT NOT NULL DEFAULT 0,
    grant_token TEXT,
    enrolled_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    synced_at   TIMESTAMPTZ
);

-- The users' records, as the devices' edits leave them.
CREATE TABLE records (
    user_id    TEXT NOT NULL,
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BYTEA NOT NULL,
    seq        BIGINT NOT NULL,
    device_id  TEXT NOT NULL,
    PRIMARY KEY (user_id, collection, key)
);

-- Every receipt issued for an applied batch: seqs from_seq..=through_seq
-- of device_id were applied by it (applied = their count).
CREATE TABLE receipts (
    id          BIGSERIAL PRIMARY KEY,
    device_id   TEXT NOT NULL,
    from_seq    BIGINT NOT NULL,
    through_seq BIGINT NOT NULL,
    applied     INT NOT NULL,
    head_mac    BYTEA NOT NULL,
    issued_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX receipts_by_device ON receipts (device_id, through_seq);
