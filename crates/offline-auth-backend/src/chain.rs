//! The chain the backend applied, as far as a caller showed it to the
//! verifier, and the answer to a device whose queue parted from it.
//!
//! A device whose files were written back with an older copy holds a queue
//! behind the backend's cursor: its older entries are the ones applied, its
//! newer ones reuse seqs the backend already applied to other edits. The
//! cursor alone (one seq, one MAC) cannot tell the two apart, so a backend
//! that keeps each applied entry's MAC ([`AppliedEntry`]) shows the verifier
//! those the batch overlaps. The verifier then finds the last seq on which
//! both chains agree and, if the batch's next entry is a genuine device
//! entry (its MAC chains from that agreed point under the sync key) that
//! differs, answers with a [`ChainPosition`] MACed with the sync key: the
//! device re-bases only on that, never on an unauthenticated claim
//! (`docs/decisions/0010-re-basing-a-written-back-queue.md`).

use std::collections::HashMap;

use offline_auth_proto::crypto::{Mac32, MacKey};
use offline_auth_proto::limits::MAX_BATCH_ENTRIES;
use offline_auth_proto::receipt::ChainPosition;

use crate::cursor::AppliedEntry;
use crate::error::{BackendError as Error, Result};

/// Most applied entries a caller may show for one batch: one per entry it
/// can carry, plus the one before its first.
pub const MAX_APPLIED_ENTRIES: usize = MAX_BATCH_ENTRIES as usize + 1;

/// The applied chain's MACs by seq: those shown, the cursor's, and seq 0's.
pub(crate) struct KnownChain {
    macs: HashMap<u64, Mac32>,
    cursor_seq: u64,
    cursor_mac: Mac32,
}

impl KnownChain {
    /// Checks what the caller showed against its cursor: at most
    /// [`MAX_APPLIED_ENTRIES`], none past the cursor, 32-byte MACs, the
    /// cursor's own seq with the cursor's MAC.
    pub(crate) fn new(applied: &[AppliedEntry], cursor_seq: u64, cursor_mac: Mac32) -> Result<Self> {
        if applied.len() > MAX_APPLIED_ENTRIES {
            return Err(Error::invalid(format!("at most {MAX_APPLIED_ENTRIES} applied entries per batch")));
        }
        let mut macs = HashMap::with_capacity(applied.len());
        for entry in applied {
            let mac: Mac32 = entry
                .mac
                .as_slice()
                .try_into()
                .map_err(|_| Error::invalid("an applied entry's MAC must be 32 bytes"))?;
            if entry.seq == 0 || entry.seq > cursor_seq {
                return Err(Error::invalid("an applied entry's seq must be between 1 and the cursor's"));
            }
            if entry.seq == cursor_seq && mac != cursor_mac {
                return Err(Error::invalid("the applied entry at the cursor's seq has another MAC"));
            }
            macs.insert(entry.seq, mac);
        }
        Ok(Self { macs, cursor_seq, cursor_mac })
    }

    /// The applied MAC of `seq`, if known (32 zero bytes before seq 1).
    pub(crate) fn mac_at(&self, seq: u64) -> Option<Mac32> {
        match seq {
            0 => Some([0; 32]),
            s if s == self.cursor_seq => Some(self.cursor_mac),
            s => self.macs.get(&s).copied(),
        }
    }

    /// The answer to a batch whose entries agree with the applied chain
    /// through `common_seq` and then either end (`diverged` is `None`) or
    /// go on with a genuine entry of MAC `diverged` that differs.
    pub(crate) fn position(
        &self,
        device_id: &str,
        sync_key: &MacKey,
        common: (u64, Mac32),
        diverged: Option<Mac32>,
    ) -> Result<Vec<u8>> {
        let position = ChainPosition {
            device_id: device_id.to_owned(),
            through_seq: self.cursor_seq,
            head_mac: self.cursor_mac,
            common_seq: common.0,
            common_mac: common.1,
            diverged_mac: diverged,
        };
        Ok(position.to_bytes(sync_key)?)
    }

    /// The typed refusal of a batch that parted from the applied chain
    /// after `common`, with the answer for the device.
    pub(crate) fn diverged(
        &self,
        device_id: &str,
        sync_key: &MacKey,
        common: (u64, Mac32),
        device_mac: Mac32,
    ) -> Result<Error> {
        let answer = self.position(device_id, sync_key, common, Some(device_mac))?;
        let lost_from = common.0.saturating_add(1);
        let lost_through = self.cursor_seq;
        let lost_count = lost_through.saturating_sub(common.0);
        Ok(Error::Diverged { lost_from, lost_through, lost_count, answer })
    }
}
