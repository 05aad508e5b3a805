//! PostgreSQL restarts (fast shutdown, a pause, start) while devices upload
//! to two instances: requests fail with 503, `Retry-After` and a JSON
//! reason (never another status, never a half-applied batch), and after
//! retries every edit has arrived exactly once. Skipped unless
//! OFFLINE_AUTH_PG_URL, OFFLINE_AUTH_PG_STOP and OFFLINE_AUTH_PG_START (shell
//! commands) are set, as scripts/test-postgres.sh does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{assert_applied_exactly_once, drain, pg_url, run_id, Device, Instance, Rng, Stats, USERS};

const DEVICES: usize = 10;

fn shell(command: &str) {
    let status = std::process::Command::new("sh").arg("-c").arg(command).status().unwrap();
    assert!(status.success(), "{command}: {status}");
}

#[test]
fn a_database_restart_under_load_answers_503_with_retry_after_and_loses_nothing() {
    let Some(url) = pg_url("a_database_restart_under_load") else { return };
    let (Ok(stop), Ok(start)) = (std::env::var("OFFLINE_AUTH_PG_STOP"), std::env::var("OFFLINE_AUTH_PG_START")) else {
        assert!(std::env::var_os("OFFLINE_AUTH_REQUIRE_PG").is_none(), "OFFLINE_AUTH_PG_STOP/START missing");
        eprintln!("SKIPPED: set OFFLINE_AUTH_PG_STOP and OFFLINE_AUTH_PG_START (bash scripts/test-postgres.sh does)");
        return;
    };
    let instances = [Instance::postgres(&url), Instance::postgres(&url)];
    let addrs: Vec<String> = instances.iter().map(|i| i.addr.clone()).collect();
    let run = run_id();
    let seed = Rng::seeded().0;
    let stats = Stats::default();
    // 0: before the restart, 1: database down, 2: back up.
    let phase = AtomicU8::new(0);

    let devices: Vec<Device> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..DEVICES)
            .map(|n| {
                let (addrs, run, stats, phase) = (&addrs, &run, &stats, &phase);
                s.spawn(move || {
                    let mut rng = Rng(seed.wrapping_add(n as u64 * 0x9e37_79b9) | 1);
                    let mut device = Device::enroll(&addrs[n % 2], &format!("restart-{run}-{n}"), USERS[n % 2]);
                    let mut rounds_after_restart = 0;
                    while rounds_after_restart < 3 {
                        device.edit(1 + rng.below(5) as u64, &mut rng);
                        let mut target = rng.below(2);
                        drain(&device, addrs, &mut target, false, stats);
                        if phase.load(SeqCst) == 2 {
                            rounds_after_restart += 1;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    device
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while stats.uploads.load(SeqCst) < 30 {
            assert!(Instant::now() < deadline, "no load before the restart");
            std::thread::sleep(Duration::from_millis(10));
        }
        phase.store(1, SeqCst);
        shell(&stop);
        std::thread::sleep(Duration::from_millis(1500));
        shell(&start);
        phase.store(2, SeqCst);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut edits = 0;
    for device in &devices {
        edits += assert_applied_exactly_once(&url, &addrs[0], device);
    }
    let unavailable = stats.unavailable.load(SeqCst);
    assert!(unavailable > 0, "no request saw the database down");
    eprintln!(
        "PostgreSQL restarted under load: {unavailable} answers were 503 with Retry-After, no other failure; \
         {} uploads: {edits} edits applied exactly once, lost 0",
        stats.uploads.load(SeqCst)
    );
}
