//! Attestation challenges in PostgreSQL (migration 0003): issued by one
//! instance, taken by another, never twice, even when two instances are
//! asked at once; the device's evidence summary is stored beside it.
//! Skipped unless OFFLINE_AUTH_PG_URL is set (bash scripts/test-postgres.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use common::{pg_query, pg_url, post, run_id, Instance, USERS};
use serde_json::{json, Value};

fn credentials(device_id: &str) -> Value {
    json!({"user": USERS[0].0, "password": USERS[0].1, "device_id": device_id})
}

fn challenge(addr: &str, device_id: &str) -> String {
    let answer = post(addr, "/challenge", "application/json", credentials(device_id).to_string().as_bytes()).unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["challenge"].as_str().unwrap().to_owned()
}

fn enroll(addr: &str, device_id: &str, challenge: &str) -> common::Answer {
    let mut body = credentials(device_id);
    body["challenge"] = json!(challenge);
    body["evidence"] = json!({"kind": "none"});
    post(addr, "/enroll", "application/json", body.to_string().as_bytes()).unwrap()
}

#[test]
fn a_challenge_is_taken_once_across_instances() {
    let Some(url) = pg_url("a_challenge_is_taken_once_across_instances") else { return };
    let a = Instance::postgres_with(&url, &["--attestation", "development"]);
    let b = Instance::postgres_with(&url, &["--attestation", "development"]);
    let device = format!("challenge-{}", run_id());

    // Issued by A, taken by B; a replay on A is refused.
    let c = challenge(&a.addr, &device);
    let accepted = enroll(&b.addr, &device, &c);
    assert_eq!(accepted.status, 200, "{accepted:?}");
    assert_eq!(accepted.body["attestation"], json!({"level": "unattested", "window_secs": 3600}));
    let replayed = enroll(&a.addr, &device, &c);
    assert_eq!((replayed.status, replayed.body["error"].as_str()), (403, Some("challenge_reused")), "{replayed:?}");
    let rows =
        pg_query(&url, "SELECT level, policy, window_secs FROM device_evidence WHERE device_id = $1", &[&device]);
    let (level, policy, window): (String, String, i64) = (rows[0].get(0), rows[0].get(1), rows[0].get(2));
    assert_eq!((level.as_str(), policy.as_str(), window), ("unattested", "development", 3600));

    // Both instances asked at once, several times: exactly one takes it.
    for round in 0..8 {
        let c = challenge(&a.addr, &device);
        let (x, y) = std::thread::scope(|s| {
            let x = s.spawn(|| enroll(&a.addr, &device, &c));
            let y = s.spawn(|| enroll(&b.addr, &device, &c));
            (x.join().unwrap(), y.join().unwrap())
        });
        let mut statuses = [x.status, y.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 403], "round {round}: {x:?} {y:?}");
        let refused = if x.status == 403 { &x } else { &y };
        assert_eq!(refused.body["error"], "challenge_reused", "round {round}");
    }
}
