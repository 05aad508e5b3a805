//! Peak resident memory while writing N records (default 100 000, or the
//! `RSS_RECORDS` environment variable) and draining them through batches of
//! 1 000 with acknowledgement. Not a criterion benchmark: it prints one line
//! that `compare.sh` reads. Bounded means the peak does not grow with N
//! (`compare.sh` runs it with 10 000 and 100 000).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

/// `VmHWM` (peak) and `VmRSS` (current) of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn main() {
    // `cargo test --benches` runs bench binaries without `--bench`: do nothing then.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let records: u64 = std::env::var("RSS_RECORDS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let dir = common::scratch_dir();
    let fixture = common::Fixture::enrol(&dir.path().join("vault.db"));
    let (_, enrolled_rss) = memory_kib();

    let start = std::time::Instant::now();
    for i in 0..records {
        fixture.session.put(common::COLLECTION, &common::key(i), common::value(176, i)).unwrap();
    }
    let (write_peak, _) = memory_kib();

    let queue = fixture.session.clone().sync_queue();
    let verifier = offline_auth_backend::SyncVerifier::new(vec![fixture.issuer.issuer_key()]).unwrap();
    let mut cursor = offline_auth_backend::SyncCursor::initial();
    let mut drained = 0u64;
    while let Some(batch) = queue.next_batch(1_000).unwrap() {
        drained += u64::from(batch.entry_count);
        let verified = verifier.verify(&batch.bytes, &fixture.sync_key, &cursor).unwrap();
        cursor = verified.cursor;
        queue.acknowledge(verified.receipt).unwrap();
    }
    assert_eq!(drained, records);
    assert_eq!(queue.pending_count().unwrap(), 0);
    let (peak, rss) = memory_kib();
    println!(
        "rss records={records} enrolled_kib={enrolled_rss} write_peak_kib={write_peak} peak_kib={peak} \
         final_rss_kib={rss} secs={:.1}",
        start.elapsed().as_secs_f64()
    );
}
