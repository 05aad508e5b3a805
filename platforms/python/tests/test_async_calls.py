"""The asyncio forms (UniFFI async exports) run the blocking call on a thread
of its own: the event loop keeps running other tasks while the vault works."""
import asyncio
import threading
import time

import pytest

import offline_auth as oa
import offline_auth_backend as backend
from conftest import PIN, USER, DictKeystore


class TickGatedKeystore(DictKeystore):
    """Its unwrap (inside the PIN attempt) waits until the event loop has
    ticked `needed` times. If the call blocked the loop, no tick could happen:
    the wait gives up and the unlock fails."""

    def __init__(self, needed):
        super().__init__()
        self.needed = needed
        self.ticks = 0
        self.ticked = threading.Condition()
        self.gated = False

    def tick(self):
        with self.ticked:
            self.ticks += 1
            self.ticked.notify_all()

    def unwrap(self, alias, protection, wrapped):
        if self.gated:
            with self.ticked:
                if not self.ticked.wait_for(lambda: self.ticks >= self.needed, timeout=120):
                    raise oa.KeystoreError.Failed("the event loop never ticked")
        return super().unwrap(alias, protection, wrapped)


def test_unlock_async_leaves_the_event_loop_free(vault_path, grant, config):
    keystore = TickGatedKeystore(needed=3)
    vault = oa.PinVault.open(vault_path, keystore, config())
    vault.enroll(PIN, grant(), backend.generate_sync_key()).lock()
    keystore.gated = True

    async def main():
        unlocking = asyncio.ensure_future(vault.unlock_async(PIN))
        ticks_while_pending = 0
        while not unlocking.done():
            ticks_while_pending += 1
            keystore.tick()
            await asyncio.sleep(0.001)
        return ticks_while_pending, unlocking.result()

    ticks, session = asyncio.run(main())
    assert ticks >= 3
    assert session.user_id() == USER


def test_async_forms_return_and_raise_what_the_blocking_forms_do(vault_path, grant, config):
    vault = oa.PinVault.open(vault_path, DictKeystore(), config())

    async def main():
        with pytest.raises(oa.VaultError.NotEnrolled):
            await vault.unlock_async(PIN)
        session = await vault.enroll_async(PIN, grant(), backend.generate_sync_key())
        await session.enable_biometrics_async()
        session.lock()
        (await vault.unlock_with_biometrics_async()).lock()
        await vault.change_pin_async(PIN, "739164")
        with pytest.raises(oa.VaultError.WrongPin) as wrong:
            await vault.unlock_async(PIN)
        assert wrong.value.attempts_remaining == 9
        # A renewal must be newer than the grant in force.
        renewal = grant(now=int(time.time()) + 1)
        (await vault.unlock_with_grant_async("739164", renewal)).lock()
        await vault.wipe_async()

    asyncio.run(main())
    assert vault.is_enrolled() is False
