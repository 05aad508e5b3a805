//! Secrets in memory: after `lock()` and after the session
//! is dropped, the vault key and the PIN are not in this process's memory.
//!
//! The test reads every readable mapping of its own process through
//! `/proc/self/maps` and `/proc/self/mem` and counts occurrences of:
//! - the vault key `VK` (learnt from the keystore when biometrics are
//!   enabled: `wrap(alias_bio, Biometric, VK)`),
//! - the device secret `DK` (learnt from `wrap(alias_device, Device, DK)`),
//! - the sync key `SK` (provisioned by this test),
//! - the PIN as UTF-8 and as UTF-32 (`Vec<char>`).
//!
//! The test never holds these secrets in clear: it keeps them XOR-masked and
//! compares masked, so the only clear copies in memory are the library's.
//! The scan reuses one buffer, so it cannot itself plant a copy that was not
//! already in memory somewhere.
//!
//! Linux only (`/proc`). This file holds a single test so no other test of
//! the same binary runs (and leaves secrets) alongside it.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

mod common;

use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use common::*;
use offline_auth::{KeyProtection, KeystoreError, PinVault, PlatformKeystore, SoftwareKeystore, VaultError};

const MASK: u8 = 0xA5;

fn masked(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| b ^ MASK).collect()
}

fn unmask(masked: &[u8]) -> Vec<u8> {
    masked.iter().map(|b| b ^ MASK).collect()
}

/// A software keystore that remembers, masked, what it was asked to wrap.
struct CapturingKeystore {
    inner: Arc<SoftwareKeystore>,
    captured: Mutex<Vec<(KeyProtection, Vec<u8>)>>,
}

impl PlatformKeystore for CapturingKeystore {
    fn wrap(&self, alias: String, protection: KeyProtection, plaintext: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        let copy = masked(&plaintext);
        let mut captured = self.captured.lock().unwrap();
        if !captured.contains(&(protection, copy.clone())) {
            captured.push((protection, copy));
        }
        drop(captured);
        self.inner.wrap(alias, protection, plaintext)
    }
    fn unwrap(&self, alias: String, protection: KeyProtection, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.inner.unwrap(alias, protection, wrapped)
    }
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        self.inner.delete_key(alias)
    }
}

/// A needle, masked, with a name.
struct Needle {
    name: &'static str,
    masked: Vec<u8>,
}

/// Occurrences of each needle in every readable mapping of this process.
fn scan(needles: &[Needle]) -> Vec<usize> {
    scan_where(needles).0
}

/// Occurrences of each needle, and the mapping (name or address) of each hit.
fn scan_where(needles: &[Needle]) -> (Vec<usize>, Vec<String>) {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut mem = std::fs::File::open("/proc/self/mem").unwrap();
    let longest = needles.iter().map(|n| n.masked.len()).max().unwrap();
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK + longest];
    let mut counts = vec![0usize; needles.len()];
    let mut regions = Vec::new();
    let mut hits = Vec::new();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (range, perms) = (fields[0], fields[1]);
        let name = fields.get(5).copied().unwrap_or("");
        if !perms.starts_with('r') || name == "[vvar]" || name == "[vsyscall]" || name == "[vvar_vclock]" {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let label = if name.is_empty() { format!("anonymous {range}") } else { name.to_owned() };
        regions.push((u64::from_str_radix(start, 16).unwrap(), u64::from_str_radix(end, 16).unwrap(), label));
    }
    for (start, end, label) in regions {
        let mut at = start;
        while at < end {
            let len = usize::try_from((end - at).min((CHUNK + longest) as u64)).unwrap();
            let window = &mut buf[..len];
            if mem.seek(SeekFrom::Start(at)).is_err() || mem.read_exact(window).is_err() {
                at += CHUNK as u64;
                continue;
            }
            for (needle, count) in needles.iter().zip(counts.iter_mut()) {
                let n = needle.masked.len();
                // Only count starts inside this chunk; the overlap belongs to the next.
                let starts = len.saturating_sub(n - 1).min(CHUNK);
                for i in 0..starts {
                    if window[i] ^ MASK == needle.masked[0]
                        && window[i..i + n].iter().zip(&needle.masked).all(|(a, b)| a ^ MASK == *b)
                    {
                        *count += 1;
                        hits.push(format!("{} in {label}", needle.name));
                    }
                }
            }
            at += CHUNK as u64;
        }
    }
    (counts, hits)
}

fn report(stage: &str, needles: &[Needle], counts: &[usize]) -> String {
    let parts: Vec<String> = needles.iter().zip(counts).map(|(n, c)| format!("{}={c}", n.name)).collect();
    let mut line = format!("memory scan {stage}: {}", parts.join(" "));
    if counts.iter().any(|c| *c > 0) {
        line.push_str(&format!(" (where, on a second scan: {:?})", scan_where(needles).1));
    }
    println!("{line}");
    line
}

/// A random 12-digit PIN the policy accepts, masked.
fn random_pin() -> Vec<u8> {
    loop {
        let mut raw = [0u8; 12];
        getrandom::fill(&mut raw).unwrap();
        let digits: Vec<u8> = raw.iter().map(|b| b'0' + b % 10).collect();
        // Policy: no repetition of a short pattern, no straight run (checked by the vault too).
        if digits.windows(2).all(|w| w[0] != w[1]) {
            return masked(&digits);
        }
    }
}

fn pin_string(masked_pin: &[u8]) -> String {
    String::from_utf8(unmask(masked_pin)).unwrap()
}

#[test]
fn keys_and_pin_leave_memory_after_lock_and_drop() {
    if !std::path::Path::new("/proc/self/mem").exists() {
        eprintln!("no /proc/self/mem: skipped");
        return;
    }
    let device = Device::new();
    let keystore = Arc::new(CapturingKeystore { inner: SoftwareKeystore::new(), captured: Mutex::new(Vec::new()) });
    let pin = random_pin();
    let mut sk = [0u8; 32];
    getrandom::fill(&mut sk).unwrap();
    let sk_masked = masked(&sk);
    let sk_vec = sk.to_vec();
    sk.fill(0);

    let vault =
        PinVault::open_with_clock(device.path_str(), keystore.clone(), device.clock.clone(), device.backend.config())
            .unwrap();
    let session = vault.enroll(pin_string(&pin), &device.backend.grant(T0, 7), sk_vec).unwrap();
    session.put("visits", "station-4", b"seal ok".to_vec()).unwrap();
    session.enable_biometrics().unwrap();

    let captured = keystore.captured.lock().unwrap().clone();
    let find = |p: KeyProtection| captured.iter().find(|(q, _)| *q == p).unwrap().1.clone();
    let utf32: Vec<u8> = unmask(&pin).iter().flat_map(|b| u32::from(*b).to_le_bytes()).collect();
    let needles = vec![
        Needle { name: "VK", masked: find(KeyProtection::Biometric) },
        Needle { name: "DK", masked: find(KeyProtection::Device) },
        Needle { name: "SK", masked: sk_masked },
        Needle { name: "PIN(utf8)", masked: pin.clone() },
        Needle { name: "PIN(utf32)", masked: masked(&utf32) },
    ];
    drop(utf32);

    // While unlocked the vault key must be found: proves the scanner sees the heap.
    let unlocked = scan(&needles);
    report("while unlocked", &needles, &unlocked);
    assert!(unlocked[0] >= 1, "the scanner did not find VK in an unlocked session: the scan is broken");

    let mut findings = Vec::new();
    session.lock();
    let after_lock = scan(&needles);
    findings.push(report("after enroll + put + enable_biometrics, lock()", &needles, &after_lock));
    drop(session);
    let after_drop = scan(&needles);
    findings.push(report("after the session is dropped", &needles, &after_drop));

    // A PIN unlock, a wrong PIN, a biometric unlock; lock and drop each.
    assert!(matches!(vault.unlock("135792468024".into()), Err(VaultError::WrongPin { .. })));
    let session = vault.unlock(pin_string(&pin)).unwrap();
    session.get("visits", "station-4").unwrap();
    session.lock();
    drop(session);
    let session = vault.unlock_with_biometrics().unwrap();
    session.put("visits", "station-5", b"ok".to_vec()).unwrap();
    let queue = session.clone().sync_queue();
    queue.next_batch(10).unwrap();
    session.lock();
    drop(queue);
    drop(session);
    let after_unlocks = scan(&needles);
    findings.push(report(
        "after PIN unlock, wrong PIN, biometric unlock, sync batch; locked and dropped",
        &needles,
        &after_unlocks,
    ));

    // No copy of any of them once the session is locked: VK, DK, SK, PIN.
    for (stage, counts) in [("lock", &after_lock), ("drop", &after_drop), ("unlocks", &after_unlocks)] {
        for (needle, count) in needles.iter().zip(counts.iter()) {
            assert_eq!(*count, 0, "{} still in memory after {stage}: {findings:#?}", needle.name);
        }
    }
}
