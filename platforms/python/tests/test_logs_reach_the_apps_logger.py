"""The library's logs reach Python's `logging` with one call, at the level
the app sets, and carry no secret; a sink that throws fails nothing."""

import logging

import pytest

import offline_auth as oa
import offline_auth_backend as backend
from conftest import PIN, DictKeystore

WRONG = "000111"


def ours(caplog):
    return [r for r in caplog.records if r.name.startswith("offline_auth")]


def enrol_and_mistype(vault_path, grant, config):
    vault = oa.PinVault.open(vault_path, DictKeystore(), config())
    vault.enroll(PIN, grant(), backend.generate_sync_key()).lock()
    with pytest.raises(oa.VaultError.WrongPin):
        vault.unlock(WRONG)
    return vault


def test_security_events_reach_python_logging_without_the_pin(vault_path, grant, config, caplog):
    oa.route_logs_to_python_logging(logging.INFO)
    try:
        with caplog.at_level(logging.DEBUG, logger="offline_auth"):
            enrol_and_mistype(vault_path, grant, config)
        records = ours(caplog)
        assert [(r.name, r.levelno) for r in records] == [("offline_auth.security", logging.INFO)]
        assert records[0].getMessage() == "wrong PIN; 9 attempts remaining"
        for record in records:
            assert PIN not in record.getMessage() and WRONG not in record.getMessage()
    finally:
        oa.clear_log_sink()


def test_the_level_the_app_sets_filters_and_clearing_stops(vault_path, grant, config, caplog):
    oa.route_logs_to_python_logging(logging.WARNING)
    try:
        with caplog.at_level(logging.DEBUG, logger="offline_auth"):
            vault = enrol_and_mistype(vault_path, grant, config)  # a wrong PIN is INFO: filtered
            assert ours(caplog) == []
            vault.wipe()  # a wipe is WARN
            assert [(r.name, r.levelno) for r in ours(caplog)] == [("offline_auth.security", logging.WARNING)]
            oa.clear_log_sink()
            oa.PinVault.open(vault_path, DictKeystore(), config()).wipe()
            assert len(ours(caplog)) == 1
    finally:
        oa.clear_log_sink()


class Throwing(oa.LogSink):
    def __init__(self):
        self.calls = 0

    def log(self, level, target, message):
        self.calls += 1
        raise RuntimeError("the app's log sink failed")


def test_a_throwing_sink_fails_no_call(vault_path, grant, config):
    sink = Throwing()
    oa.set_log_sink(sink, oa.LogLevel.TRACE)
    try:
        vault = enrol_and_mistype(vault_path, grant, config)
        assert sink.calls == 1
        assert vault.unlock(PIN) is not None
    finally:
        oa.clear_log_sink()
