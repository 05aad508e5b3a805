-- The chain MAC of every entry applied, per device: what the verifier is
-- shown for a batch that overlaps the cursor, so a device written back with
-- an older copy of its files is told where its queue parted
-- (docs/decisions/0010-re-basing-a-written-back-queue.md).
CREATE TABLE IF NOT EXISTS applied_chain (
    device_id TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    mac       BYTEA NOT NULL,
    PRIMARY KEY (device_id, seq)
);
