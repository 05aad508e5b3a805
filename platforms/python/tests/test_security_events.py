"""Security events reach a listener written in Python, with their fields and
no secret, on the thread that made the call; a listener that raises changes
nothing about the call that reported to it."""
import threading

import pytest

import offline_auth as oa
import offline_auth_backend as backend
from conftest import PIN, DictKeystore, FakeClock

WRONG = "000111"


class Recorder(oa.SecurityEventListener):
    def __init__(self):
        self.events = []
        self.threads = set()

    def on_event(self, event):
        self.events.append(event)
        self.threads.add(threading.get_ident())


class Raising(oa.SecurityEventListener):
    def __init__(self):
        self.calls = 0

    def on_event(self, event):
        self.calls += 1
        raise RuntimeError("the app's listener failed")


def enrolled(vault_path, grant, config, **overrides):
    clock = FakeClock()
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config(**overrides))
    vault.enroll(PIN, grant(now=clock.now), backend.generate_sync_key()).lock()
    return vault


def test_wrong_pins_a_lockout_and_a_wipe_reach_a_python_listener(vault_path, grant, config):
    vault = enrolled(vault_path, grant, config)
    recorder = Recorder()
    vault.set_security_event_listener(recorder)

    for _ in range(4):
        with pytest.raises(oa.VaultError.WrongPin):
            vault.unlock(WRONG)
    vault.wipe()

    assert recorder.events == [
        oa.SecurityEvent.WRONG_PIN(attempts_remaining=9),
        oa.SecurityEvent.WRONG_PIN(attempts_remaining=8),
        oa.SecurityEvent.WRONG_PIN(attempts_remaining=7),
        oa.SecurityEvent.WRONG_PIN(attempts_remaining=6),
        oa.SecurityEvent.LOCKED_OUT(failed_attempts=4, retry_after_secs=30),
        oa.SecurityEvent.WIPED(reason=oa.WipeReason.REQUESTED),
    ]
    assert recorder.events[4].retry_after_secs == 30
    assert recorder.threads == {threading.get_ident()}
    for event in recorder.events:
        assert PIN not in repr(event) and WRONG not in repr(event)


def test_the_attempt_limit_reports_an_automatic_wipe(vault_path, grant, config):
    vault = enrolled(vault_path, grant, config, max_failed_attempts=2)
    recorder = Recorder()
    vault.set_security_event_listener(recorder)
    with pytest.raises(oa.VaultError.WrongPin):
        vault.unlock(WRONG)
    with pytest.raises(oa.VaultError.Wiped):
        vault.unlock(WRONG)
    assert recorder.events == [
        oa.SecurityEvent.WRONG_PIN(attempts_remaining=1),
        oa.SecurityEvent.WIPED(reason=oa.WipeReason.ATTEMPT_LIMIT),
    ]


def test_a_raising_python_listener_changes_no_result(vault_path, grant, config):
    vault = enrolled(vault_path, grant, config)
    raising = Raising()
    vault.set_security_event_listener(raising)

    with pytest.raises(oa.VaultError.WrongPin) as exc:
        vault.unlock(WRONG)
    assert exc.value.attempts_remaining == 9
    vault.unlock(PIN).lock()
    vault.wipe()
    assert raising.calls == 2
    assert vault.status().wiped

    # Cleared: no more calls.
    vault.clear_security_event_listener()
    vault.wipe()
    assert raising.calls == 2
