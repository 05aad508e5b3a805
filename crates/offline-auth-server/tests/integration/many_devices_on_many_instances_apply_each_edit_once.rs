//! 50 devices upload at once to two server processes sharing one
//! PostgreSQL, each batch sent to a random instance, with duplicated,
//! overlapping and replayed batches racing each other: every edit is
//! applied exactly once (the receipts recorded cover each device's seqs
//! back to back), no upload is lost, and the server's records equal each
//! device's. Skipped unless OFFLINE_AUTH_PG_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::{assert_applied_exactly_once, pg_url, post, run_id, Answer, Device, Instance, Rng, USERS};

const DEVICES: usize = 50;
const ROUNDS: usize = 3;

/// Sends `body` to `addr` until it is answered other than 503; panics on 4xx/500.
fn send(addr: &str, path: &str, body: &[u8]) -> Answer {
    loop {
        let answer = post(addr, path, "application/octet-stream", body).unwrap();
        match answer.status {
            200 => return answer,
            503 => std::thread::sleep(std::time::Duration::from_millis(50)),
            _ => panic!("{path}: {answer:?}"),
        }
    }
}

#[test]
fn fifty_devices_racing_duplicates_overlaps_and_replays_apply_each_edit_once() {
    let Some(url) = pg_url("fifty_devices_racing") else { return };
    let instances = [Instance::postgres(&url), Instance::postgres(&url)];
    let addrs: Vec<String> = instances.iter().map(|i| i.addr.clone()).collect();
    let run = run_id();
    let seed = Rng::seeded().0;
    let (uploads, applied_in_answers) = (AtomicU64::new(0), AtomicU64::new(0));

    let devices: Vec<Device> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..DEVICES)
            .map(|n| {
                let addrs = &addrs;
                let run = &run;
                let uploads = &uploads;
                let applied_in_answers = &applied_in_answers;
                s.spawn(move || {
                    let mut rng = Rng(seed.wrapping_add(n as u64 * 0x9e37_79b9) | 1);
                    let id = format!("race-{run}-{n}");
                    let mut device = Device::enroll(&addrs[rng.below(2)], &id, USERS[n % 2]);
                    let mut old_batches: Vec<Vec<u8>> = Vec::new();
                    for _ in 0..ROUNDS {
                        device.edit(3 + rng.below(6) as u64, &mut rng);
                        // Overlapping batches from the same start, one sent twice,
                        // and an old batch replayed: all at once, to random instances.
                        let short = device.queue.next_batch(2).unwrap().unwrap().bytes;
                        let full = device.queue.next_batch(100).unwrap().unwrap().bytes;
                        let mut bodies = vec![short, full.clone(), full.clone()];
                        if let Some(old) = old_batches.get(rng.below(old_batches.len().max(1))) {
                            bodies.push(old.clone());
                        }
                        let targets: Vec<usize> = bodies.iter().map(|_| rng.below(2)).collect();
                        let answers: Vec<Answer> = std::thread::scope(|s| {
                            let sent: Vec<_> = bodies
                                .iter()
                                .zip(&targets)
                                .map(|(body, t)| s.spawn(|| send(&addrs[*t], &device.sync_path(), body)))
                                .collect();
                            sent.into_iter().map(|h| h.join().unwrap()).collect()
                        });
                        for answer in &answers {
                            device.acknowledge(answer);
                            applied_in_answers.fetch_add(answer.body["applied"].as_u64().unwrap(), Ordering::Relaxed);
                        }
                        uploads.fetch_add(answers.len() as u64, Ordering::Relaxed);
                        old_batches.push(full);
                    }
                    device
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut edits = 0;
    for device in &devices {
        edits += assert_applied_exactly_once(&url, &addrs[0], device);
    }
    let answered = applied_in_answers.load(Ordering::Relaxed);
    assert_eq!(answered, edits, "the answers' `applied` add up to the edits: none applied twice");
    eprintln!(
        "{DEVICES} devices, {} uploads on 2 instances: {edits} edits applied exactly once, lost 0",
        uploads.load(Ordering::Relaxed)
    );
}
