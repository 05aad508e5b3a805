"""Fresh renewals and the backend's time, through the Python binding.

The properties are the Rust tests' (crates/offline-auth/tests/
a_fresh_renewal_repairs_a_clock_once_set_ahead.rs and
a_clock_ahead_of_the_backend_is_a_typed_error.rs); here the binding layer:
the nonce as a `str`, `issue_renewal` with an optional nonce, the
`ClockAhead` variant and its fields.
"""
import pytest

import offline_auth as oa
import offline_auth_backend as backend
from conftest import DEVICE, FIXED_NOW, PIN, SCOPES, USER, DictKeystore, FakeClock

DAY = 24 * 3600
WINDOW = 8 * 3600


def test_a_fresh_renewal_repairs_a_clock_once_set_30_days_ahead(vault_path, issuer, config):
    clock = FakeClock(FIXED_NOW)
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    vault.enroll(PIN, issuer.issue(USER, DEVICE, SCOPES, FIXED_NOW, FIXED_NOW + 7 * DAY),
                 backend.generate_sync_key()).lock()
    clock.advance(60)
    real = clock.now
    clock.set_wall(real + 30 * DAY)
    with pytest.raises(oa.VaultError.GrantExpired):
        vault.unlock(PIN)
    clock.set_wall(real)

    # Without the nonce: nothing repaired.
    with pytest.raises(oa.VaultError.GrantExpired):
        vault.unlock_with_grant(PIN, issuer.issue_renewal(USER, DEVICE, SCOPES, real, real + WINDOW, None))

    nonce = vault.renewal_nonce()
    assert isinstance(nonce, str) and 0 < len(nonce) <= 128
    grant = issuer.issue_renewal(USER, DEVICE, SCOPES, real + 1, real + 1 + WINDOW, nonce)
    session = vault.unlock_with_grant(PIN, grant)
    session.put("visits", "v1", b"a")
    session.lock()
    # The whole window but its last minute is usable.
    clock.advance(WINDOW - 60)
    vault.unlock(PIN).lock()
    # The same nonce again (in a newer grant) repairs nothing more.
    clock.set_wall(clock.now + 30 * DAY)
    with pytest.raises(oa.VaultError.GrantExpired):
        vault.unlock(PIN)
    clock.set_wall(clock.now - 30 * DAY)
    again = issuer.issue_renewal(USER, DEVICE, SCOPES, clock.now, clock.now + WINDOW, nonce)
    with pytest.raises(oa.VaultError.GrantExpired):
        vault.unlock_with_grant(PIN, again)


def test_a_clock_ahead_of_the_backend_is_clock_ahead_with_its_fields(vault_path, issuer, config):
    clock = FakeClock(FIXED_NOW)
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    session = vault.enroll(PIN, issuer.issue(USER, DEVICE, SCOPES, FIXED_NOW, FIXED_NOW + 7 * DAY),
                           backend.generate_sync_key())
    clock.set_wall(FIXED_NOW + DAY)
    session.put("visits", "v1", b"a")
    vault.note_server_time(FIXED_NOW)
    with pytest.raises(oa.VaultError.ClockAhead) as ahead:
        session.sync_queue().next_batch(10)
    assert ahead.value.ahead_secs == DAY
    assert 0 < ahead.value.retry_after_secs < DAY
    assert str(ahead.value.ahead_secs) in str(ahead.value)
    with pytest.raises(oa.VaultError.InvalidInput):
        vault.note_server_time(-1)
