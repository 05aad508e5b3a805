//! Issue 26, section 1, replayed against a real server on loopback: a
//! client holding no credentials can neither delay another device's upload
//! nor keep memory beyond the stated bounds (`src/limits.rs`).
//!
//! 1. A body that stalls on the victim's device id while the victim uploads.
//! 2. 20 000 requests naming distinct unknown device ids.
//! 3. Stalled connections (nothing sent, a head never finished, a body never
//!    finished, an idle keep-alive connection): closed by the server's
//!    timeouts, honest uploads go through while they are held; past the
//!    connection cap, 503 at once; past an address's share of the bodies
//!    budget, 503 with `Retry-After`.
//!
//! Assertions are about outcomes and order, never about speed; each test
//! prints `FIGURE` lines (honest upload p99 with and without the attack,
//! this process's RSS) for docs/BACKEND_PERFORMANCE.md. The tests run one at
//! a time (they share this process's RSS and file descriptors).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::stall::{closed_by_server, stalled, still_open, Attacker, Stall};
use common::{post, Device, Rng, USERS};
use offline_auth_server::{Limits, LocalServer};

const OCTETS: &str = "application/octet-stream";
/// Longer than any test: a stall that must outlive the assertions.
const LONG: Duration = Duration::from_secs(600);
/// How long a test waits for something the server must do (generous: CI is a loaded 2-core machine).
const PATIENCE: Duration = Duration::from_secs(60);

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Unmeasured uploads first (caches, first connections), then `n` measured.
fn baseline(addr: &str, device: &mut Device, n: usize, rng: &mut Rng) -> Vec<Duration> {
    honest_uploads(addr, device, 10, rng);
    honest_uploads(addr, device, n, rng)
}

/// A server with `limits` and the rate limits off: these floods come from
/// one address and would be refused by the per-address limit before they
/// reach what is tested here (the rate limits have their own test,
/// `rate_limits_refuse_floods_and_keep_honest_uploads`).
fn start(dir: &tempfile::TempDir, limits: Limits) -> (LocalServer, String) {
    let limits = Limits { address_rate: None, device_rate: None, ..limits };
    let server = LocalServer::start_with(&dir.path().join("server.db"), limits).unwrap();
    let addr = server.url("");
    (server, addr)
}

/// This process's resident set, in MiB (server and clients together).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 =
        status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

/// Waits (bounded) until `done`, or fails saying `what`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `n` honest uploads of `device` (one edit each), each answered 200 and
/// acknowledged; their latencies (the upload only, not the device's work).
fn honest_uploads(addr: &str, device: &mut Device, n: usize, rng: &mut Rng) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        device.edit(1, rng);
        let batch = device.queue.next_batch(100).unwrap().unwrap().bytes;
        let start = Instant::now();
        let answer = post(addr, &device.sync_path(), OCTETS, &batch).unwrap();
        latencies.push(start.elapsed());
        assert_eq!((answer.status, answer.body["applied"].as_u64()), (200, Some(1)), "{answer:?}");
        device.acknowledge(&answer);
    }
    latencies
}

fn p99_ms(mut latencies: Vec<Duration>) -> f64 {
    latencies.sort();
    let at = (latencies.len() * 99 / 100).min(latencies.len() - 1);
    latencies[at].as_secs_f64() * 1000.0
}

#[test]
fn a_stalled_body_on_a_device_id_does_not_delay_that_devices_upload() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { body_idle_timeout: LONG, body_read_timeout: LONG, ..Limits::default() };
    let (server, addr) = start(&dir, limits);
    let mut rng = Rng::seeded();
    let mut victim = Device::enroll(&addr, "victim", USERS[0]);
    let unattacked = baseline(&addr, &mut victim, 100, &mut rng);
    victim.edit(5, &mut rng);
    let batch = victim.queue.next_batch(100).unwrap().unwrap().bytes;

    // The attacker's body is being read (its first bytes are held) before the victim uploads.
    let attacker = stalled(&addr, Stall::Body, &victim.id);
    wait_until("the attacker's body is being read", || server.probe().bodies_in_flight() == 1);
    let answer = post(&addr, &victim.sync_path(), OCTETS, &batch).unwrap();
    assert_eq!((answer.status, answer.body["applied"].as_u64()), (200, Some(5)), "{answer:?}");
    victim.acknowledge(&answer);
    assert!(still_open(&attacker), "the attacker's connection was closed before the victim's upload was answered");

    // Fifty such attackers on the victim's id, held while the victim uploads.
    let rss_before = rss_mib();
    let many = Attacker::start(&addr, &[Stall::Body], 50, &victim.id);
    wait_until("fifty stalled bodies are held", || server.probe().open_connections() >= 51);
    let attacked = honest_uploads(&addr, &mut victim, 100, &mut rng);
    assert!(still_open(&attacker), "the first attacker is still held");
    println!(
        "FIGURE test=a_stalled_body_on_a_device_id_does_not_delay_that_devices_upload attack=\"51 stalled bodies on the victim's id\" \
         p99_unattacked_ms={:.1} p99_attacked_ms={:.1} rss_before_mib={rss_before:.1} rss_attacked_mib={:.1} attacker_connections={}",
        p99_ms(unattacked),
        p99_ms(attacked),
        rss_mib(),
        many.opened() + 1
    );
    drop((many, attacker));
    server.stop().unwrap();
}

#[test]
fn unknown_device_ids_leave_nothing_behind() {
    const REQUESTS: u64 = 20_000;
    const THREADS: u64 = 4;
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start(&dir, Limits::default());
    let mut rng = Rng::seeded();
    let mut honest = Device::enroll(&addr, "honest", USERS[0]);
    let unattacked = baseline(&addr, &mut honest, 100, &mut rng);
    let rss_before = rss_mib();

    let sent = Arc::new(AtomicU64::new(0));
    let flood_started = Instant::now();
    let flood: Vec<_> = (0..THREADS)
        .map(|t| {
            let (addr, sent) = (addr.clone(), sent.clone());
            std::thread::spawn(move || {
                // One keep-alive connection per client, as a flooding script would.
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(PATIENCE))
                    .build()
                    .into();
                let started = Instant::now();
                // Bounded in count and in time (a slow machine sends fewer; the figure says how many).
                for i in 0..REQUESTS / THREADS {
                    if started.elapsed() > Duration::from_secs(300) {
                        break;
                    }
                    let path = format!("/sync?device_id=stranger-{t}-{i}-{}", "x".repeat(100));
                    let mut response = agent
                        .post(&format!("{addr}{path}"))
                        .header("Content-Type", OCTETS)
                        .send(&b"not a batch, and no device"[..])
                        .unwrap();
                    // Read whole, so the connection is kept for the next request.
                    let _ = response.body_mut().read_to_string();
                    assert_eq!(response.status().as_u16(), 404);
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let mut attacked = Vec::new();
    while !flood.iter().all(std::thread::JoinHandle::is_finished) && attacked.len() < 2000 {
        attacked.extend(honest_uploads(&addr, &mut honest, 1, &mut rng));
    }
    for thread in flood {
        thread.join().unwrap();
    }
    let flood_s = flood_started.elapsed().as_secs_f64();
    let rss_flooded = rss_mib();

    // Nothing is held for the strangers: no connection, no body, and no
    // per-device entry (the server has no per-device state outside the store).
    wait_until("the flood's connections are closed", || server.probe().open_connections() == 0);
    assert_eq!((server.probe().bodies_in_flight(), server.probe().addresses_holding_bodies()), (0, 0));
    let after = honest_uploads(&addr, &mut honest, 40, &mut rng);
    let rss_after = rss_mib();
    println!(
        "FIGURE test=unknown_device_ids_leave_nothing_behind attack=\"{} requests naming distinct unknown device ids, {THREADS} clients\" \
         p99_unattacked_ms={:.1} p99_attacked_ms={:.1} p99_after_ms={:.1} rss_before_mib={rss_before:.1} \
         rss_flooded_mib={rss_flooded:.1} rss_after_mib={rss_after:.1} honest_uploads_during={} flood_s={flood_s:.1}",
        sent.load(Ordering::SeqCst),
        p99_ms(unattacked),
        p99_ms(attacked.clone()),
        p99_ms(after),
        attacked.len()
    );
    server.stop().unwrap();
}

#[test]
fn stalled_connections_are_closed_and_honest_uploads_go_through() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let second = Duration::from_secs(1);
    let limits = Limits {
        header_read_timeout: second,
        body_idle_timeout: second,
        body_read_timeout: 3 * second,
        ..Limits::default()
    };
    let (server, addr) = start(&dir, limits);
    let mut rng = Rng::seeded();
    let mut honest = Device::enroll(&addr, "honest", USERS[0]);
    let unattacked = baseline(&addr, &mut honest, 100, &mut rng);
    let rss_before = rss_mib();

    // 300 stalled connections, renewed as the server closes them, while the honest device uploads.
    let kinds = [Stall::Silent, Stall::Head, Stall::Body];
    let attacker = Attacker::start(&addr, &kinds, 100, "honest");
    wait_until("most of 300 stalled connections are held", || server.probe().open_connections() >= 200);
    // Upload until the server has cut and the attacker renewed every stall
    // at least twice (bounded in count; the wait above bounds the time).
    let mut attacked = Vec::new();
    while attacked.len() < 100 || (attacker.opened() < 900 && attacked.len() < 2000) {
        attacked.extend(honest_uploads(&addr, &mut honest, 1, &mut rng));
    }
    let rss_attacked = rss_mib();
    let renewed = attacker.opened();
    drop(attacker);

    // Each kind, and idle keep-alive connections, closed by the server, well within the test's patience.
    let kinds = [Stall::Silent, Stall::Head, Stall::Body, Stall::KeptAlive];
    let fresh: Vec<_> = kinds.iter().cycle().take(400).map(|&kind| (kind, stalled(&addr, kind, "honest"))).collect();
    let start = Instant::now();
    for (kind, stream) in fresh {
        assert!(closed_by_server(stream, PATIENCE), "a {kind:?} stall was not closed by the server");
    }
    let all_closed_s = start.elapsed().as_secs_f64();
    wait_until("every stalled connection is gone", || server.probe().open_connections() == 0);
    assert_eq!((server.probe().bodies_in_flight(), server.probe().addresses_holding_bodies()), (0, 0));
    println!(
        "FIGURE test=stalled_connections_are_closed_and_honest_uploads_go_through attack=\"300 stalled connections (100 silent, 100 half heads, 100 half bodies), renewed; 1 s timeouts\" \
         p99_unattacked_ms={:.1} p99_attacked_ms={:.1} rss_before_mib={rss_before:.1} rss_attacked_mib={rss_attacked:.1} \
         rss_after_mib={:.1} attacker_connections={renewed} honest_uploads_during={} fresh_400_closed_after_s={all_closed_s:.1}",
        p99_ms(unattacked),
        p99_ms(attacked.clone()),
        rss_mib(),
        attacked.len()
    );
    server.stop().unwrap();
}

#[test]
fn connections_over_the_cap_are_answered_503_and_closed() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { max_connections: 20, header_read_timeout: LONG, ..Limits::default() };
    let (server, addr) = start(&dir, limits);
    let held: Vec<_> = (0..20).map(|_| stalled(&addr, Stall::Silent, "")).collect();
    wait_until("20 connections are held", || server.probe().open_connections() == 20);
    let mut over = stalled(&addr, Stall::Silent, "");
    over.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut answer = String::new();
    let _ = over.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("Retry-After: 1") && answer.contains("\"error\""), "{answer:?}");
    drop(held);
    wait_until("the held connections are gone", || server.probe().open_connections() == 0);
    let mut rng = Rng::seeded();
    let mut device = Device::enroll(&addr, "after-the-cap", USERS[0]);
    honest_uploads(&addr, &mut device, 1, &mut rng);
    server.stop().unwrap();
}

#[test]
fn bodies_past_an_address_share_are_answered_503_with_retry_after() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // One address may hold 128 KiB of budget (what a body holds past its first, free 64 KiB).
    let limits = Limits {
        per_address_body_bytes: 128 * 1024,
        body_idle_timeout: LONG,
        body_read_timeout: LONG,
        ..Limits::default()
    };
    let (server, addr) = start(&dir, limits);
    let mut rng = Rng::seeded();
    let mut device = Device::enroll(&addr, "budget", USERS[0]);

    // A stalled body holding 64 KiB of budget (100 KiB sent, a 128 KiB buffer).
    let mut holder = stalled(&addr, Stall::Head, &device.id);
    holder.write_all(b"Content-Length: 1000000\r\n\r\n").unwrap();
    holder.write_all(&[7u8; 100 * 1024]).unwrap();
    wait_until("the stalled body holds its share", || server.probe().addresses_holding_bodies() == 1);

    // 200 KiB more from the same address would need 192 KiB: 503, read whole, nothing kept.
    let answer = post(&addr, &device.sync_path(), OCTETS, &vec![7u8; 200 * 1024]).unwrap();
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.retry_after.as_deref(), Some("1"), "{answer:?}");
    assert!(answer.body["error"].is_string(), "{answer:?}");
    assert!(still_open(&holder));
    // A small batch needs no budget: it goes through while the share is spent.
    honest_uploads(&addr, &mut device, 1, &mut rng);

    drop(holder);
    wait_until("the stalled body's share is given back", || server.probe().bodies_in_flight() == 0);
    assert_eq!(server.probe().addresses_holding_bodies(), 0);
    server.stop().unwrap();
}
