//! Issue 26 §2: per-address and per-device rate limits (`src/rate.rs`),
//! against a real server on loopback, clients connecting from chosen
//! loopback source addresses (127.0.0.0/8 is all this machine's).
//!
//! Small limits are configured so the floods stay short (bounded in count);
//! assertions are about answers and counts, never speed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use common::{Device, Rng, USERS};
use offline_auth_server::{Limits, LocalServer, Rate};
use serde_json::Value;

const OCTETS: &str = "application/octet-stream";

/// An answer read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

/// POSTs `body` to `server` from the source address `from` (HTTP/1.1, one request a connection).
fn post_from(from: Ipv4Addr, server: &LocalServer, path: &str, content_type: &str, body: &[u8]) -> Raw {
    let target: SocketAddr = server.url("").trim_start_matches("http://").parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::new(IpAddr::V4(from), 0).into()).unwrap();
    socket.connect_timeout(&target.into(), Duration::from_secs(10)).unwrap();
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {target}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(body); // a refused request may be closed before its body is read
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let retry_after = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("retry-after")))
        .and_then(|(_, v)| v.trim().parse().ok());
    Raw { status, retry_after, body: serde_json::from_str(body).unwrap_or(Value::Null) }
}

/// One new batch of `device` (one edit).
fn next_batch(device: &mut Device, rng: &mut Rng) -> Vec<u8> {
    device.edit(1, rng);
    device.queue.next_batch(100).unwrap().unwrap().bytes
}

fn acknowledge(device: &Device, raw: &Raw) {
    let answer = common::Answer { status: raw.status, retry_after: None, body: raw.body.clone() };
    device.acknowledge(&answer);
}

fn metric(server: &LocalServer, line_start: &str) -> f64 {
    let text = ureq::get(&server.url("/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in /metrics"))
}

#[test]
fn a_flood_from_one_address_gets_429_while_another_addresss_upload_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { address_rate: Some(Rate { per_second: 1, burst: 20 }), ..Limits::default() };
    let server = LocalServer::start_with(&dir.path().join("server.db"), limits).unwrap();
    let mut rng = Rng::seeded();
    let mut honest = Device::enroll(&server.url(""), "honest-depot-tablet", USERS[0]);
    let (flooder, depot) = (Ipv4Addr::new(127, 0, 0, 3), Ipv4Addr::new(127, 0, 0, 2));

    // Bounded: 60 requests, one a connection.
    let answers: Vec<Raw> =
        (0..60).map(|i| post_from(flooder, &server, &format!("/sync?device_id=x{i}"), OCTETS, b"junk")).collect();
    let refused: Vec<&Raw> = answers.iter().filter(|a| a.status == 429).collect();
    // (At least 10: a loaded machine that took 30 s for the flood refilled 30 tokens.)
    assert!(refused.len() >= 10, "the flood past its burst is refused: {answers:?}");
    assert!(answers.iter().all(|a| a.status == 404 || a.status == 429), "{answers:?}");
    assert!(answers.iter().take(20).all(|a| a.status == 404), "the burst itself is served");
    for answer in &refused {
        assert!(answer.retry_after.is_some_and(|s| s >= 1), "{answer:?}");
        assert_eq!(answer.body["error"], "too many requests; retry later", "{answer:?}");
    }

    // Meanwhile, another address's honest upload goes through.
    let batch = next_batch(&mut honest, &mut rng);
    let answer = post_from(depot, &server, &honest.sync_path(), OCTETS, &batch);
    assert_eq!((answer.status, answer.body["applied"].as_u64()), (200, Some(1)), "{answer:?}");
    acknowledge(&honest, &answer);

    // Counted, by limit; the probes and scrapers are not limited.
    assert_eq!(metric(&server, "offline_auth_rate_limited_total{scope=\"address\"}"), refused.len() as f64);
    assert_eq!(metric(&server, "offline_auth_rate_limited_total{scope=\"device\"}"), 0.0);
    server.stop().unwrap();
}

#[test]
fn a_known_device_past_its_rate_gets_429_and_unknown_ids_keep_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { device_rate: Some(Rate { per_second: 1, burst: 3 }), ..Limits::default() };
    let server = LocalServer::start_with(&dir.path().join("server.db"), limits).unwrap();
    let mut rng = Rng::seeded();
    let mut busy = Device::enroll(&server.url(""), "busy-tablet", USERS[0]);
    let mut other = Device::enroll(&server.url(""), "other-tablet", USERS[1]);
    let home = Ipv4Addr::LOCALHOST;

    let mut statuses = Vec::new();
    for _ in 0..15 {
        let batch = next_batch(&mut busy, &mut rng);
        let answer = post_from(home, &server, &busy.sync_path(), OCTETS, &batch);
        if answer.status == 200 {
            acknowledge(&busy, &answer);
        } else {
            assert_eq!(answer.status, 429, "{answer:?}");
            assert!(answer.retry_after.is_some_and(|s| s >= 1), "{answer:?}");
        }
        statuses.push(answer.status);
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "the burst is served");
    assert!(statuses[3..].contains(&429), "past the burst, refused: {statuses:?}");

    // Another device has its own bucket.
    let batch = next_batch(&mut other, &mut rng);
    let answer = post_from(home, &server, &other.sync_path(), OCTETS, &batch);
    assert_eq!(answer.status, 200, "{answer:?}");

    // Unknown device ids: 404, and no bucket kept for them.
    for i in 0..200 {
        let answer = post_from(home, &server, &format!("/sync?device_id=stranger-{i}"), OCTETS, b"junk");
        assert_eq!(answer.status, 404, "{answer:?}");
    }
    assert_eq!(server.probe().rate_tracked_devices(), 2, "buckets for the two enrolled devices only");
    let refused = statuses.iter().filter(|s| **s == 429).count() as f64;
    assert_eq!(metric(&server, "offline_auth_rate_limited_total{scope=\"device\"}"), refused);
    assert_eq!(metric(&server, "offline_auth_upload_refusals_total{reason=\"rate_limited\"}"), refused);
    server.stop().unwrap();
}

#[test]
fn many_addresses_keep_at_most_the_stated_bound_of_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let bound = 256;
    let limits = Limits { rate_tracked_max: bound, ..Limits::default() };
    let server = LocalServer::start_with(&dir.path().join("server.db"), limits).unwrap();
    // 2000 addresses (127.1.x.y), one request each: bounded in count.
    let mut most = 0;
    for i in 0..2000u32 {
        let from = Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8);
        let answer = post_from(from, &server, "/sync?device_id=nobody", OCTETS, b"junk");
        assert_eq!(answer.status, 404, "{answer:?}");
        most = most.max(server.probe().rate_tracked_addresses());
    }
    assert!(most <= bound, "at most {bound} address buckets, saw {most}");
    assert!(most >= bound / 2, "the map was used: {most}");
    println!("FIGURE test=many_addresses addresses=2000 bound={bound} most_tracked={most}");
    server.stop().unwrap();
}

/// The binary takes the rate limits from its environment (clap's `env`)
/// and from flags: OFFLINE_AUTH_ADDRESS_RATE/BURST make the third request
/// of one address a 429; `--address-rate 0` turns the limit off.
#[test]
fn the_binary_takes_its_rate_limits_from_the_environment_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let envs = [("OFFLINE_AUTH_ADDRESS_RATE", "1"), ("OFFLINE_AUTH_ADDRESS_BURST", "2")];
    let limited = common::Instance::spawn_with(&[db.to_str().unwrap(), "127.0.0.1:0"], &envs);
    let statuses: Vec<u16> = (0..8)
        .map(|i| common::post(&limited.addr, &format!("/sync?device_id=n{i}"), OCTETS, b"junk").unwrap().status)
        .collect();
    assert_eq!(&statuses[..2], &[404, 404], "{statuses:?}");
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    drop(limited);

    let args = [db.to_str().unwrap(), "127.0.0.1:0", "--address-rate", "0"];
    let unlimited = common::Instance::spawn_with(&args, &envs);
    for i in 0..6 {
        let status = common::post(&unlimited.addr, &format!("/sync?device_id=n{i}"), OCTETS, b"junk").unwrap().status;
        assert_eq!(status, 404, "the flag wins over the environment and 0 turns the limit off");
    }
}
