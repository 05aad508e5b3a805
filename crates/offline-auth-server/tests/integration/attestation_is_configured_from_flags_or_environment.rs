//! The binary's attestation settings (DEPLOYMENT.md, "Attestation"): the
//! policy from `--attestation` or `OFFLINE_AUTH_ATTESTATION`, Google's roots
//! built in, and a roots or revocation file that cannot be read stops the
//! server at start instead of running without it; App Attest is on only
//! with an App ID (`--attestation-apple-app-id`), and a malformed one stops it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;

fn server(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_offline-auth-server"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OFFLINE_AUTH_") {
            command.env_remove(name);
        }
    }
    command.arg(dir.join("server.db")).arg("127.0.0.1:0");
    command
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_production_policy_from_the_environment_refuses_a_software_enrolment() {
    let dir = tempfile::tempdir().unwrap();
    let child = server(dir.path())
        .env("OFFLINE_AUTH_ATTESTATION", "production")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut line = String::new();
    BufReader::new(running.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    let (user, password) = common::USERS[0];
    let credentials = json!({"user": user, "password": password, "device_id": "soft"});
    let challenge = common::post(&addr, "/challenge", "application/json", credentials.to_string().as_bytes()).unwrap();
    assert_eq!(challenge.status, 200, "{challenge:?}");
    let mut enrolment = credentials.clone();
    enrolment["challenge"] = challenge.body["challenge"].clone();
    enrolment["evidence"] = json!({"kind": "none"});
    let refused = common::post(&addr, "/enroll", "application/json", enrolment.to_string().as_bytes()).unwrap();
    assert_eq!((refused.status, refused.body["error"].as_str()), (403, Some("level_refused")), "{refused:?}");
    // Without evidence or challenge at all: refused too, never the old 72 hours.
    let bare = common::post(&addr, "/enroll", "application/json", credentials.to_string().as_bytes()).unwrap();
    assert_eq!(bare.status, 403, "{bare:?}");
}

#[test]
fn an_unreadable_roots_or_revocation_file_or_an_unknown_mode_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, b"{\"entries\": [").unwrap();
    for args in [
        vec!["--attestation", "production", "--attestation-roots", missing.to_str().unwrap()],
        vec!["--attestation", "production", "--attestation-revoked", garbage.to_str().unwrap()],
        vec!["--attestation", "sometimes"],
    ] {
        let output = server(dir.path()).args(&args).stdin(Stdio::null()).output().unwrap();
        assert!(!output.status.success(), "{args:?} started");
        assert!(String::from_utf8_lossy(&output.stdout).is_empty(), "{args:?} listened");
    }
    assert!(!dir.path().join("server.db").exists(), "a refused configuration created the database");
}

/// A server started with `envs`, and its address.
fn start(dir: &std::path::Path, envs: &[(&str, &str)]) -> (Running, String) {
    let mut command = server(dir);
    command.envs(envs.iter().copied()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut running = Running(command.spawn().unwrap());
    let mut line = String::new();
    BufReader::new(running.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (running, line.trim().strip_prefix("listening on ").unwrap().to_owned())
}

/// `/challenge` then `/enroll` with App Attest evidence whose object is not CBOR.
fn enroll_app_attest(addr: &str, device_id: &str) -> common::Answer {
    let (user, password) = common::USERS[0];
    let credentials = json!({"user": user, "password": password, "device_id": device_id});
    let challenge = common::post(addr, "/challenge", "application/json", credentials.to_string().as_bytes()).unwrap();
    assert_eq!(challenge.status, 200, "{challenge:?}");
    let mut enrolment = credentials;
    enrolment["challenge"] = challenge.body["challenge"].clone();
    enrolment["evidence"] = json!({"kind": "apple_app_attest", "key_id": "AAAA", "attestation_object": "AAAA"});
    common::post(addr, "/enroll", "application/json", enrolment.to_string().as_bytes()).unwrap()
}

#[test]
fn an_apple_app_id_from_the_environment_turns_app_attest_on_and_a_malformed_one_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    // Without an App ID: refused as unsupported.
    let (_off, addr) = start(dir.path(), &[("OFFLINE_AUTH_ATTESTATION", "production")]);
    let refused = enroll_app_attest(&addr, "iphone-off");
    assert_eq!((refused.status, refused.body["error"].as_str()), (403, Some("unsupported_evidence")), "{refused:?}");
    drop(_off);
    // With one (Apple's root built in): the object is verified, and this one is not CBOR.
    let other = tempfile::tempdir().unwrap();
    let (_on, addr) = start(
        other.path(),
        &[
            ("OFFLINE_AUTH_ATTESTATION", "production"),
            ("OFFLINE_AUTH_ATTESTATION_APPLE_APP_ID", "ABCDE12345.org.example.fieldapp"),
        ],
    );
    let refused = enroll_app_attest(&addr, "iphone-on");
    assert_eq!(
        (refused.status, refused.body["error"].as_str()),
        (403, Some("attestation_malformed_attestation_object")),
        "{refused:?}"
    );
    // An App ID without a team id, or an unreadable App Attest roots file: no start.
    let third = tempfile::tempdir().unwrap();
    let missing = third.path().join("missing.json");
    for args in [
        vec!["--attestation", "production", "--attestation-apple-app-id", "fieldapp"],
        vec![
            "--attestation",
            "production",
            "--attestation-apple-app-id",
            "A.b",
            "--attestation-apple-roots",
            missing.to_str().unwrap(),
        ],
    ] {
        let output = server(third.path()).args(&args).stdin(Stdio::null()).output().unwrap();
        assert!(!output.status.success(), "{args:?} started");
        assert!(String::from_utf8_lossy(&output.stdout).is_empty(), "{args:?} listened");
    }
    assert!(!third.path().join("server.db").exists(), "a refused configuration created the database");
}
