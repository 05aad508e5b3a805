"""Remote directives through the bindings (binding layer only; the
properties are proven by the Rust tests): a directive signed by the backend
package's `GrantIssuer.issue_directive`, applied with
`PinVault.apply_directive`, its outcome, its typed refusals, the
`LockedUntilRenewal` error and the `DIRECTIVE_APPLIED` security event."""
import pytest

import offline_auth as oa
import offline_auth_backend as backend

from conftest import DEVICE, PIN, DictKeystore, FakeClock


class Recorder(oa.SecurityEventListener):
    def __init__(self):
        self.events = []

    def on_event(self, event):
        self.events.append(event)


def test_a_lock_directive_is_applied_once_and_reported(vault_path, grant, config, issuer):
    clock = FakeClock()
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    vault.enroll(PIN, grant(now=clock.now), backend.generate_sync_key()).lock()
    recorder = Recorder()
    vault.set_security_event_listener(recorder)

    lock = issuer.issue_directive(DEVICE, "lock_until_renewal", clock.now)
    outcome = vault.apply_directive(lock)
    assert outcome.action == oa.DirectiveAction.LOCK_UNTIL_RENEWAL and outcome.finished
    assert vault.applied_directives() == [outcome.jti]
    assert recorder.events == [
        oa.SecurityEvent.DIRECTIVE_APPLIED(action=oa.DirectiveAction.LOCK_UNTIL_RENEWAL, jti=outcome.jti)
    ]
    with pytest.raises(oa.VaultError.LockedUntilRenewal):
        vault.unlock(PIN)
    with pytest.raises(oa.VaultError.DirectiveReplayed):
        vault.apply_directive(lock)

    clock.advance(60)
    vault.unlock_with_grant(PIN, grant(now=clock.now)).lock()
    vault.unlock(PIN).lock()


def test_refused_directives_raise_their_own_errors(vault_path, grant, config, issuer):
    clock = FakeClock()
    vault = oa.PinVault.open_with_clock(vault_path, DictKeystore(), clock, config())
    vault.enroll(PIN, grant(now=clock.now), backend.generate_sync_key()).lock()
    with pytest.raises(oa.VaultError.DirectiveInvalid):
        vault.apply_directive("not.a.directive")
    stranger = backend.GrantIssuer.generate(issuer.issuer_key().kid)
    with pytest.raises(oa.VaultError.DirectiveInvalid):
        vault.apply_directive(stranger.issue_directive(DEVICE, "wipe", clock.now))
    with pytest.raises(oa.VaultError.DirectiveForAnotherDevice):
        vault.apply_directive(issuer.issue_directive("device-2", "wipe", clock.now))
    vault.apply_directive(issuer.issue_directive(DEVICE, "biometrics_off", clock.now + 10))
    with pytest.raises(oa.VaultError.DirectiveOutdated):
        vault.apply_directive(issuer.issue_directive(DEVICE, "wipe", clock.now))
    with pytest.raises(backend.BackendError.InvalidInput):
        issuer.issue_directive(DEVICE, "explode", clock.now)
    assert vault.status().enrolled
