//! `offline-auth revoke` and `offline-auth directive` against the
//! reference server: the token comes from a private file, the device gets
//! no renewal afterwards and the queued directive in its next answer, and a
//! wrong token, an unknown action or a plain-HTTP remote server is refused
//! with the documented exit codes.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use std::process::{Command, Output};

use offline_auth_server::{Admin, Limits, LocalServer, RevocationPolicy};
use serde_json::{json, Value};

const TOKEN: &str = "cli-admin-token-0123456789abcdef";

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_offline-auth")).args(args).output().unwrap()
}

fn private_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_string_lossy().into_owned()
}

#[test]
fn revoke_stops_renewals_and_refuses_a_wrong_token() {
    let dir = tempfile::tempdir().unwrap();
    let admin = Admin::new(Some(TOKEN.into()), RevocationPolicy::default()).unwrap();
    let server = LocalServer::start_admin(&dir.path().join("server.db"), Limits::default(), admin).unwrap();
    let credentials = json!({"user": "amira", "password": "correct horse battery", "device_id": "tablet-9"});
    let credentials = credentials.to_string().into_bytes();
    assert_eq!(server.post_json("/enroll", &credentials).unwrap().0, 200);
    let base = server.url("");
    let base = base.trim_end_matches('/');

    let wrong = private_file(dir.path(), "wrong.token", "cli-admin-token-0123456789abcdeX\n");
    let args = |token: &str| {
        ["revoke", "--server", base, "--device", "tablet-9", "--reason", "lost", "--token-file", token]
            .map(str::to_owned)
    };
    let refused = tool(&args(&wrong).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));
    assert_eq!(server.post_json("/renew", &credentials).unwrap().0, 200, "nothing revoked");

    let right = private_file(dir.path(), "admin.token", &format!("{TOKEN}\n"));
    let done = tool(&args(&right).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let answer: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!((answer["device_id"].as_str(), answer["reason"].as_str()), (Some("tablet-9"), Some("lost")));
    let (status, renewal) = server.post_json("/renew", &credentials).unwrap();
    assert_eq!(status, 403, "{renewal}");
    assert_eq!(renewal["revoked"]["reason"], "lost");

    let remote = tool(&[
        "revoke",
        "--server",
        "http://auth.example.org",
        "--device",
        "d",
        "--reason",
        "r",
        "--token-file",
        &right,
    ]);
    assert_eq!(remote.status.code(), Some(2), "the token never goes over plain HTTP to another host");
    server.stop().unwrap();
}

#[test]
fn directive_queues_a_wipe_that_the_next_renewal_answer_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let admin = Admin::new(Some(TOKEN.into()), RevocationPolicy::default()).unwrap();
    let server = LocalServer::start_admin(&dir.path().join("server.db"), Limits::default(), admin).unwrap();
    let credentials = json!({"user": "amira", "password": "correct horse battery", "device_id": "tablet-9"});
    let credentials = credentials.to_string().into_bytes();
    assert_eq!(server.post_json("/enroll", &credentials).unwrap().0, 200);
    let base = server.url("");
    let base = base.trim_end_matches('/');
    let token = private_file(dir.path(), "admin.token", &format!("{TOKEN}\n"));
    let args = |action: &str| {
        ["directive", "--server", base, "--device", "tablet-9", "--action", action, "--token-file", &token]
            .map(str::to_owned)
    };
    let run = |action: &str| tool(&args(action).iter().map(String::as_str).collect::<Vec<_>>());

    assert_eq!(run("explode").status.code(), Some(2), "an unknown action is a usage error");
    let done = run("wipe");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let answer: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!((answer["device_id"].as_str(), answer["action"].as_str()), (Some("tablet-9"), Some("wipe")));
    let (status, renewal) = server.post_json("/renew", &credentials).unwrap();
    assert_eq!(status, 200, "{renewal}");
    assert_eq!(renewal["directives"].as_array().map(Vec::len), Some(1), "{renewal}");
    server.stop().unwrap();
}
