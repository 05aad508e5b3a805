//! `kill -9` of a server instance while uploads to it are in flight: the
//! devices retry on the other instance (same PostgreSQL), and every edit is
//! applied exactly once, none lost: an upload that committed on the killed
//! instance before its answer was lost is answered again (nothing applied
//! twice), one that did not commit is applied by the survivor. Skipped
//! unless OFFLINE_AUTH_PG_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{assert_applied_exactly_once, drain, pg_url, run_id, Device, Instance, Rng, Stats, USERS};

const DEVICES: usize = 12;
const ROUNDS: usize = 12;

#[test]
fn killing_an_instance_mid_upload_loses_nothing_and_applies_nothing_twice() {
    let Some(url) = pg_url("killing_an_instance_mid_upload") else { return };
    let mut doomed = Instance::postgres(&url);
    let survivor = Instance::postgres(&url);
    let addrs = vec![doomed.addr.clone(), survivor.addr.clone()];
    let run = run_id();
    let seed = Rng::seeded().0;
    let stats = Stats::default();
    let killed = AtomicBool::new(false);

    let (devices, in_flight_at_kill) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..DEVICES)
            .map(|n| {
                let (addrs, run, stats, killed) = (&addrs, &run, &stats, &killed);
                s.spawn(move || {
                    let mut rng = Rng(seed.wrapping_add(n as u64 * 0x9e37_79b9) | 1);
                    let mut device = Device::enroll(&addrs[1], &format!("kill-{run}-{n}"), USERS[n % 2]);
                    // Every device starts on the doomed instance and fails over once it is gone.
                    let mut target = 0;
                    for round in 0..ROUNDS {
                        device.edit(2 + rng.below(5) as u64, &mut rng);
                        drain(&device, addrs, &mut target, true, stats);
                        // Keep loading the doomed instance until it is killed.
                        if round + 1 == ROUNDS && !killed.load(SeqCst) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    device
                })
            })
            .collect();
        // Kill once uploads are under way and some are in flight right now.
        let deadline = Instant::now() + Duration::from_secs(60);
        while stats.uploads.load(SeqCst) < 40 || stats.in_flight.load(SeqCst) == 0 {
            assert!(Instant::now() < deadline, "no upload in flight to kill");
            std::hint::spin_loop();
        }
        let in_flight = stats.in_flight.load(SeqCst);
        doomed.kill();
        killed.store(true, SeqCst);
        let devices: Vec<Device> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (devices, in_flight)
    });

    let mut edits = 0;
    for device in &devices {
        edits += assert_applied_exactly_once(&url, &survivor.addr, device);
    }
    assert!(in_flight_at_kill > 0);
    let failed = stats.transport_errors.load(SeqCst);
    eprintln!(
        "kill -9 with {in_flight_at_kill} uploads in flight; {failed} uploads failed over; \
         {} uploads in all: {edits} edits applied exactly once, lost 0",
        stats.uploads.load(SeqCst)
    );
}
