-- offline-auth reference server, PostgreSQL schema version 7: the
-- operator's page (docs/decisions/0016-operator-page.md). (Version 6
-- belongs to another change; each version is applied once, whichever
-- order they arrive in.)
--
-- A device's last answered upload: when (the server's time), the time and
-- boot count of the newest entry applied, the boot count before that
-- upload (the trend), and when an upload last showed the clock-stretching
-- sign (docs/TIME.md). Written only for a device in `devices`.
CREATE TABLE IF NOT EXISTS device_activity (
    device_id    TEXT PRIMARY KEY,
    last_contact BIGINT NOT NULL,
    newest_entry BIGINT,
    boots        BIGINT,
    boots_before BIGINT,
    stretch_at   BIGINT
);

-- Refused uploads of a known device, counted by reason and hour (the hour's
-- start, seconds since the epoch); rows older than two days are dropped
-- as new ones are counted, so a device has at most 48 rows per reason.
CREATE TABLE IF NOT EXISTS device_refusals (
    device_id TEXT NOT NULL,
    reason    TEXT NOT NULL,
    hour      BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (device_id, reason, hour)
);
