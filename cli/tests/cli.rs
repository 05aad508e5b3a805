//! The operators' tool end to end: keygen → JWKS → issue → a device enrols
//! and edits → verify-batch, with the exit codes scripts rely on.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // a panic is how a test fails

use std::path::Path;
use std::process::{Command, Output};

use offline_auth::{issuer_keys_from_jwks, PinVault, SoftwareKeystore, VaultConfig};

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_offline-auth")).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn one_line_error(output: &Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "stdout {}", String::from_utf8_lossy(&output.stdout));
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    stderr
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn keygen_writes_a_private_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let key = path(dir.path(), "issuer.jwk");
    let jwks = stdout(&tool(&["keygen", "--kid", "2026-11", "--out", &key]));
    let keys = issuer_keys_from_jwks(jwks.clone()).unwrap();
    assert_eq!(keys[0].kid, "2026-11");
    assert!(!jwks.contains("\"d\""), "the public output carries no private key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let before = std::fs::read(&key).unwrap();
    one_line_error(&tool(&["keygen", "--kid", "other", "--out", &key]), 3);
    assert_eq!(std::fs::read(&key).unwrap(), before);
    // `jwks` prints the same public key from the file.
    assert_eq!(issuer_keys_from_jwks(stdout(&tool(&["jwks", &key]))).unwrap(), keys);
}

#[test]
fn issue_inspect_and_verify_a_device_batch() {
    let dir = tempfile::tempdir().unwrap();
    let key = path(dir.path(), "issuer.jwk");
    let jwks_text = stdout(&tool(&["keygen", "--kid", "k1", "--out", &key]));
    let jwks = path(dir.path(), "jwks.json");
    std::fs::write(&jwks, &jwks_text).unwrap();

    let grant = stdout(&tool(&[
        "issue",
        "--key",
        &key,
        "--user",
        "amira",
        "--device",
        "tab-1",
        "--scope",
        "visits",
        "--valid-for",
        "3600",
    ]));
    let grant = grant.trim();
    let shown: serde_json::Value = serde_json::from_str(&stdout(&tool(&["inspect", grant, "--jwks", &jwks]))).unwrap();
    assert_eq!(shown["header"]["alg"], "EdDSA");
    assert_eq!(shown["claims"]["sub"], "amira");
    assert_eq!(shown["verified"]["signature"], "valid");

    // A device enrols with it and makes two edits.
    let sync_key = [7u8; 32];
    let config = VaultConfig::new("tab-1", issuer_keys_from_jwks(jwks_text).unwrap());
    let vault = PinVault::open(path(dir.path(), "vault.db"), SoftwareKeystore::new(), config).unwrap();
    let session = vault.enroll("482915".into(), grant.into(), sync_key.to_vec()).unwrap();
    session.put("visits".into(), "v1".into(), b"ok".to_vec()).unwrap();
    session.delete("visits".into(), "v0".into()).unwrap();
    let batch = session.sync_queue().next_batch(10).unwrap().unwrap();
    let batch_file = path(dir.path(), "batch.bin");
    std::fs::write(&batch_file, &batch.bytes).unwrap();

    let key_hex = hex::encode(sync_key);
    let args = ["verify-batch", "--batch", &batch_file, "--jwks", &jwks, "--sync-key", &key_hex];
    let verified: serde_json::Value = serde_json::from_str(&stdout(&tool(&args))).unwrap();
    assert_eq!(verified["operations"][0]["value_utf8"], "ok");
    assert_eq!(verified["operations"][1]["value_utf8"], serde_json::Value::Null);
    assert_eq!(verified["cursor"]["last_seq"], 2);

    // From that cursor the same batch is all replay.
    let mac = verified["cursor"]["last_mac"].as_str().unwrap().to_owned();
    let mut again = args.to_vec();
    again.extend(["--cursor-seq", "2", "--cursor-mac", &mac]);
    let replay: serde_json::Value = serde_json::from_str(&stdout(&tool(&again))).unwrap();
    assert_eq!((replay["duplicates"].as_u64(), replay["operations"].as_array().map(Vec::len)), (Some(2), Some(0)));

    // Rejections exit 1 with one line.
    let mut flipped = batch.bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    std::fs::write(&batch_file, &flipped).unwrap();
    one_line_error(&tool(&args), 1);
    std::fs::write(&batch_file, &batch.bytes).unwrap();
    let wrong_key = hex::encode([8u8; 32]);
    let stderr =
        one_line_error(&tool(&["verify-batch", "--batch", &batch_file, "--jwks", &jwks, "--sync-key", &wrong_key]), 1);
    assert!(stderr.contains("MAC chain"), "{stderr}");
    let other_jwks = path(dir.path(), "other.json");
    std::fs::write(&other_jwks, stdout(&tool(&["keygen", "--kid", "k1", "--out", &path(dir.path(), "k2.jwk")])))
        .unwrap();
    one_line_error(&tool(&["inspect", grant, "--jwks", &other_jwks]), 1);
}

#[test]
fn bad_input_gives_a_reason_and_a_distinct_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(tool(&["issue"]).status.code(), Some(2), "missing arguments are usage errors");
    assert_eq!(tool(&["no-such-command"]).status.code(), Some(2));
    one_line_error(&tool(&["jwks", &path(dir.path(), "missing.jwk")]), 3);
    let junk = path(dir.path(), "junk.jwk");
    std::fs::write(&junk, "{\"kty\":\"RSA\"}").unwrap();
    one_line_error(&tool(&["issue", "--key", &junk, "--user", "u", "--device", "d"]), 3);
    one_line_error(&tool(&["inspect", "not-a-token"]), 1);
    let jwks = path(dir.path(), "jwks.json");
    std::fs::write(&jwks, "{\"keys\": []}").unwrap();
    let batch = path(dir.path(), "batch.bin");
    std::fs::write(&batch, b"OASB\x00").unwrap();
    one_line_error(&tool(&["verify-batch", "--batch", &batch, "--jwks", &jwks, "--sync-key", "00"]), 3);
}
