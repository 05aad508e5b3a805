-- offline-auth reference server, PostgreSQL schema version 5: the App
-- Attest counter (docs/decisions/0012-attested-enrolment.md).
--
-- The last assertion counter accepted for a device enrolled with Apple App
-- Attest (0 at enrolment, NULL for other kinds). An upload's assertion is
-- accepted only by the one UPDATE that raises it (`... WHERE
-- app_attest_counter < new`), so two instances cannot both accept one
-- counter.
ALTER TABLE device_evidence ADD COLUMN IF NOT EXISTS app_attest_counter BIGINT;
