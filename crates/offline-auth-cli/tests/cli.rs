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
    let keys = issuer_keys_from_jwks(&jwks).unwrap();
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
    assert_eq!(issuer_keys_from_jwks(&stdout(&tool(&["jwks", &key]))).unwrap(), keys);
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
    let config = VaultConfig::new("tab-1", issuer_keys_from_jwks(&jwks_text).unwrap());
    let vault = PinVault::open(path(dir.path(), "vault.db"), SoftwareKeystore::new(), config).unwrap();
    let session = vault.enroll("482915".into(), grant, sync_key.to_vec()).unwrap();
    session.put("visits", "v1", b"ok".to_vec()).unwrap();
    session.delete("visits", "v0").unwrap();
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
    let key = hex::encode([7u8; 32]);
    one_line_error(&tool(&["verify-batch", "--batch", &batch, "--jwks", &jwks, "--sync-key", &key]), 3);
}

/// Runs the tool with `input` on its stdin. Also says whether the tool
/// stopped reading before all of `input` was written (the write failed).
fn tool_with_stdin(args: &[&str], input: Vec<u8>) -> (Output, bool) {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_offline-auth"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input).is_err());
    let output = child.wait_with_output().unwrap();
    (output, writer.join().unwrap())
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output)).unwrap()
}

#[cfg(unix)]
fn chmod(path: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Writes a secret file readable by its owner only.
fn write_private(path: &str, contents: &[u8]) {
    std::fs::write(path, contents).unwrap();
    #[cfg(unix)]
    chmod(path, 0o600);
}

/// An issuer key, its JWKS, a grant, and a batch of two edits a device made
/// under it with `sync_key`.
struct Fixture {
    key: String,
    jwks: String,
    grant: String,
    batch: Vec<u8>,
    sync_key: [u8; 32],
}

fn fixture(dir: &Path) -> Fixture {
    let key = path(dir, "issuer.jwk");
    let jwks_text = stdout(&tool(&["keygen", "--kid", "k1", "--out", &key]));
    let jwks = path(dir, "jwks.json");
    std::fs::write(&jwks, &jwks_text).unwrap();
    let grant = stdout(&tool(&["issue", "--key", &key, "--user", "amira", "--device", "tab-1", "--scope", "visits"]));
    let grant = grant.trim().to_owned();
    let sync_key = [7u8; 32];
    let config = VaultConfig::new("tab-1", issuer_keys_from_jwks(&jwks_text).unwrap());
    let vault = PinVault::open(path(dir, "vault.db"), SoftwareKeystore::new(), config).unwrap();
    let session = vault.enroll("482915".into(), &grant, sync_key.to_vec()).unwrap();
    session.put("visits", "v1", b"ok".to_vec()).unwrap();
    session.delete("visits", "v0").unwrap();
    let batch = session.sync_queue().next_batch(10).unwrap().unwrap().bytes;
    Fixture { key, jwks, grant, batch, sync_key }
}

#[test]
fn issue_refuses_out_of_range_times_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let key = path(dir.path(), "issuer.jwk");
    stdout(&tool(&["keygen", "--kid", "k1", "--out", &key]));
    let issue = |extra: &[&str]| {
        let mut args = vec!["issue", "--key", &key, "--user", "u", "--device", "d"];
        args.extend(extra);
        tool(&args)
    };
    for extra in [
        &["--issued-at", "9223372036854775807"][..],
        &["--issued-at", "253402300800"],
        &["--issued-at=-1"],
        &["--issued-at", "-9223372036854775808"],
        &["--valid-for", "0"],
        &["--valid-for", "4294967296"],
    ] {
        let stderr = one_line_error(&issue(extra), 2);
        assert!(!stderr.contains("panicked"), "{extra:?}: {stderr}");
        assert!(stderr.contains(extra[0].split('=').next().unwrap()), "{extra:?} names the option: {stderr}");
    }
    let stderr = one_line_error(&issue(&["--issued-at", "9223372036854775807"]), 2);
    assert!(stderr.contains("253402300799"), "says the range: {stderr}");

    // The largest issue time with the longest window still works, and is dated.
    let grant = stdout(&issue(&["--issued-at", "253402300799", "--valid-for", "4294967295"]));
    let shown = json(&tool(&["inspect", grant.trim(), "--now", "9223372036854775807"]));
    assert_eq!(shown["times"]["iat"]["utc"], "9999-12-31T23:59:59Z");
    assert!(shown["times"]["exp"]["utc"].as_str().unwrap().starts_with("+10136-"), "{shown}");
    assert_eq!(shown["status"], "expired");
}

#[test]
fn every_path_exits_with_its_documented_code() {
    let dir = tempfile::tempdir().unwrap();
    let key = path(dir.path(), "issuer.jwk");
    let jwks_text = stdout(&tool(&["keygen", "--kid", "k1", "--out", &key]));
    let jwks = path(dir.path(), "jwks.json");
    std::fs::write(&jwks, &jwks_text).unwrap();
    let batch = path(dir.path(), "batch.bin");
    std::fs::write(&batch, b"OASB\x00").unwrap();
    let sync_key = hex::encode([7u8; 32]);
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify-batch", "--batch", &batch, "--jwks", &jwks];
        args.extend(extra);
        tool(&args)
    };

    // 0: success, and help and version.
    assert_eq!(issuer_keys_from_jwks(&stdout(&tool(&["jwks", &key]))).unwrap()[0].kid, "k1");
    assert!(stdout(&tool(&["--help"])).contains("verify-batch"));
    assert!(stdout(&tool(&["--version"])).contains("offline-auth"));

    // 1: the grant or batch is rejected.
    one_line_error(&tool(&["inspect", "not-a-token"]), 1);
    one_line_error(&verify(&["--sync-key", &sync_key]), 1);

    // 2: usage errors, each on one line and none a panic.
    assert_eq!(tool(&[]).status.code(), Some(2), "no command prints the help and exits 2");
    let usage: &[&[&str]] = &[
        &["no-such-command"],
        &["issue"],
        &["issue", "--key", &key, "--user", "u", "--device", "d", "--no-such-option"],
        &["issue", "--key", &key, "--user", "", "--device", "d"],
        &["issue", "--key", &key, "--user", "u", "--device", "d", "--scope", "two words"],
        &["issue", "--key", &key, "--user", "u", "--device", "d", "--valid-for", "soon"],
        &["keygen", "--kid", "", "--out", &path(dir.path(), "new.jwk")],
        &["jwks", &key, &key],
        &["inspect", "x", "--now", "tomorrow"],
        &["verify-batch", "--batch", &batch, "--jwks", &jwks],
        &["verify-batch", "--batch", &batch, "--jwks", &jwks, "--sync-key", &sync_key, "--sync-key-file", &key],
        &["verify-batch", "--batch", &batch, "--jwks", &jwks, "--sync-key", "zz"],
        &["verify-batch", "--batch", &batch, "--jwks", &jwks, "--sync-key", "00"],
        &["verify-batch", "--batch", &batch, "--jwks", &jwks, "--sync-key", &sync_key, "--cursor-mac", "zz"],
        &["verify-batch", "--batch", &batch, "--jwks", &jwks, "--sync-key", &sync_key, "--cursor-mac", "0000"],
        &["verify-batch", "--batch", &batch, "--jwks", &jwks, "--sync-key", &sync_key, "--cursor-seq=-1"],
    ];
    for args in usage {
        let stderr = one_line_error(&tool(args), 2);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let (output, _) =
        tool_with_stdin(&["verify-batch", "--batch", "-", "--jwks", "-", "--sync-key", &sync_key], vec![]);
    assert!(one_line_error(&output, 2).contains("stdin"));
    assert!(one_line_error(&tool(&["verify-batch", "--batch", &batch, "--jwks", &jwks, "--sync-key", "zz"]), 2)
        .contains("--sync-key is not hex"));

    // 3: files that cannot be read, written or used.
    one_line_error(&tool(&["jwks", &path(dir.path(), "missing.jwk")]), 3);
    one_line_error(&tool(&["keygen", "--kid", "k2", "--out", &key]), 3);
    let junk = path(dir.path(), "junk.jwk");
    write_private(&junk, b"{\"kty\":\"RSA\"}");
    one_line_error(&tool(&["issue", "--key", &junk, "--user", "u", "--device", "d"]), 3);
    let empty_jwks = path(dir.path(), "empty.json");
    std::fs::write(&empty_jwks, "{\"keys\": []}").unwrap();
    one_line_error(&tool(&["verify-batch", "--batch", &batch, "--jwks", &empty_jwks, "--sync-key", &sync_key]), 3);
    one_line_error(&tool(&["inspect", "x.y.z", "--jwks", &empty_jwks]), 3);
    let missing = path(dir.path(), "missing.bin");
    one_line_error(&tool(&["verify-batch", "--batch", &missing, "--jwks", &jwks, "--sync-key", &sync_key]), 3);
    one_line_error(&verify(&["--sync-key-file", &path(dir.path(), "missing.key")]), 3);
    let not_hex = path(dir.path(), "not-hex.key");
    write_private(&not_hex, b"not hex\n");
    one_line_error(&verify(&["--sync-key-file", &not_hex]), 3);
    // Stdout closed before the output is written (`| head -0`): 3, not a panic.
    let grant = stdout(&tool(&["issue", "--key", &key, "--user", "u", "--device", "d"]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_offline-auth"))
        .args(["inspect", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(grant.as_bytes()).unwrap();
    }
    assert!(one_line_error(&child.wait_with_output().unwrap(), 3).contains("stdout"));
}

#[cfg(unix)]
#[test]
fn secret_files_open_to_group_or_others_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = path(dir.path(), "issuer.jwk");
    stdout(&tool(&["keygen", "--kid", "k1", "--out", &key]));
    let issue = ["issue", "--key", &key, "--user", "u", "--device", "d"];
    for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o700 | 0o010] {
        chmod(&key, mode);
        let stderr = one_line_error(&tool(&issue), 3);
        assert!(stderr.contains(&key) && stderr.contains(&format!("chmod 600 {key}")), "{mode:o}: {stderr}");
        assert!(stderr.contains(&format!("{mode:04o}")), "shows the mode: {stderr}");
        one_line_error(&tool(&["jwks", &key]), 3);
    }
    chmod(&key, 0o600);
    stdout(&tool(&issue));
    chmod(&key, 0o400);
    stdout(&tool(&issue));

    let sync_key = path(dir.path(), "sync.key");
    write_private(&sync_key, hex::encode([7u8; 32]).as_bytes());
    chmod(&sync_key, 0o644);
    let args = ["verify-batch", "--batch", "b", "--jwks", "j", "--sync-key-file", &sync_key];
    let stderr = one_line_error(&tool(&args), 3);
    assert!(stderr.contains("sync key file") && stderr.contains(&format!("chmod 600 {sync_key}")), "{stderr}");
}

#[test]
fn the_sync_key_comes_from_a_file_and_large_inputs_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture(dir.path());
    let batch = path(dir.path(), "batch.bin");
    std::fs::write(&batch, &fx.batch).unwrap();
    let key_hex = hex::encode(fx.sync_key);
    let sync_key = path(dir.path(), "sync.key");
    write_private(&sync_key, format!("{key_hex}\n").as_bytes());
    let last_seq = |output: &Output| json(output)["cursor"]["last_seq"].as_u64();

    let from_file = tool(&["verify-batch", "--batch", &batch, "--jwks", &fx.jwks, "--sync-key-file", &sync_key]);
    assert_eq!(last_seq(&from_file), Some(2));
    // The same from stdin: the batch, the JWKS, or the sync key.
    let (output, _) = tool_with_stdin(
        &["verify-batch", "--batch", "-", "--jwks", &fx.jwks, "--sync-key-file", &sync_key],
        fx.batch.clone(),
    );
    assert_eq!(json(&output), json(&from_file));
    let (output, _) = tool_with_stdin(
        &["verify-batch", "--batch", &batch, "--jwks", "-", "--sync-key-file", &sync_key],
        std::fs::read(&fx.jwks).unwrap(),
    );
    assert_eq!(last_seq(&output), Some(2));
    let (output, _) = tool_with_stdin(
        &["verify-batch", "--batch", &batch, "--jwks", &fx.jwks, "--sync-key-file", "-"],
        key_hex.clone().into_bytes(),
    );
    assert_eq!(last_seq(&output), Some(2));
    // --sync-key still works, and its help says who can see it.
    assert_eq!(
        last_seq(&tool(&["verify-batch", "--batch", &batch, "--jwks", &fx.jwks, "--sync-key", &key_hex])),
        Some(2)
    );
    let help = stdout(&tool(&["verify-batch", "--help"]));
    assert!(help.contains("--sync-key-file") && help.contains("ps"), "{help}");
    // A wrong key from a file is a rejection like any other.
    let wrong = path(dir.path(), "wrong.key");
    write_private(&wrong, hex::encode([8u8; 32]).as_bytes());
    one_line_error(&tool(&["verify-batch", "--batch", &batch, "--jwks", &fx.jwks, "--sync-key-file", &wrong]), 1);

    // A grant and a private key from stdin.
    let (output, _) = tool_with_stdin(&["inspect", "-", "--jwks", &fx.jwks], format!("{}\n", fx.grant).into_bytes());
    assert_eq!(json(&output)["verified"]["signature"], "valid");
    let (output, _) =
        tool_with_stdin(&["issue", "--key", "-", "--user", "u", "--device", "d"], std::fs::read(&fx.key).unwrap());
    assert_eq!(stdout(&output).matches('.').count(), 2);
}

#[test]
fn inputs_are_refused_as_soon_as_they_pass_their_limit() {
    let dir = tempfile::tempdir().unwrap();
    let key = path(dir.path(), "issuer.jwk");
    let jwks = path(dir.path(), "jwks.json");
    std::fs::write(&jwks, stdout(&tool(&["keygen", "--kid", "k1", "--out", &key]))).unwrap();
    let sync_key = hex::encode([7u8; 32]);
    let extra = 8 << 20; // well beyond any pipe buffer

    // A batch one byte over the library's limit, followed by much more: the
    // tool stops reading (the writer sees the pipe close) and rejects it.
    let (output, stopped_early) = tool_with_stdin(
        &["verify-batch", "--batch", "-", "--jwks", &jwks, "--sync-key", &sync_key],
        vec![0; offline_auth::MAX_BATCH_BYTES + extra],
    );
    let stderr = one_line_error(&output, 1);
    assert!(stderr.contains(&format!("larger than {} bytes", offline_auth::MAX_BATCH_BYTES)), "{stderr}");
    assert!(stopped_early, "the tool read the whole input");
    // A batch of exactly the limit is read, then judged by the library.
    let (output, _) = tool_with_stdin(
        &["verify-batch", "--batch", "-", "--jwks", &jwks, "--sync-key", &sync_key],
        vec![0; offline_auth::MAX_BATCH_BYTES],
    );
    assert!(!one_line_error(&output, 1).contains("larger than"));

    // A grant on stdin (rejected) and a JWKS on stdin (input error).
    let (output, stopped_early) = tool_with_stdin(&["inspect", "-"], vec![b'a'; 16 * 1024 + extra]);
    assert!(one_line_error(&output, 1).contains("larger than 16384 bytes"));
    assert!(stopped_early);
    let long_grant = "a".repeat(16 * 1024 + 1);
    assert!(one_line_error(&tool(&["inspect", &long_grant]), 1).contains("larger than 16384 bytes"));
    let (output, stopped_early) = tool_with_stdin(&["inspect", "x.y.z", "--jwks", "-"], vec![b' '; 256 * 1024 + extra]);
    assert!(one_line_error(&output, 3).contains("larger than 262144 bytes"));
    assert!(stopped_early);

    // Key files have small fixed limits.
    let big_key = path(dir.path(), "big.jwk");
    write_private(&big_key, &[b' '; 8 * 1024 + 1]);
    assert!(one_line_error(&tool(&["jwks", &big_key]), 3).contains("larger than 8192 bytes"));
    let big_sync_key = path(dir.path(), "big.key");
    write_private(&big_sync_key, &[b'0'; 1025]);
    let args = ["verify-batch", "--batch", "-", "--jwks", &jwks, "--sync-key-file", &big_sync_key];
    assert!(one_line_error(&tool(&args), 3).contains("larger than 1024 bytes"));
}

#[test]
fn inspect_says_expired_or_valid_until_with_iso_dates() {
    let dir = tempfile::tempdir().unwrap();
    let key = path(dir.path(), "issuer.jwk");
    let jwks = path(dir.path(), "jwks.json");
    std::fs::write(&jwks, stdout(&tool(&["keygen", "--kid", "k1", "--out", &key]))).unwrap();
    // Issued 2023-01-01T00:00:00Z for an hour.
    let issue_at = |issued_at: &str, valid_for: &str| {
        let args = ["issue", "--key", &key, "--user", "u", "--device", "d", "--issued-at", issued_at];
        stdout(&tool(&[&args[..], &["--valid-for", valid_for]].concat())).trim().to_owned()
    };
    let grant = issue_at("1672531200", "3600");
    let grant = grant.as_str();
    let at = |now: &str| json(&tool(&["inspect", grant, "--jwks", &jwks, "--now", now]));

    let shown = at("1700000000");
    assert_eq!(shown["status"], "expired");
    assert_eq!(shown["verified"]["signature"], "valid");
    assert_eq!(shown["claims"]["iat"], 1_672_531_200, "the claims stay as they are");
    assert_eq!(shown["times"]["iat"], serde_json::json!({"unix": 1_672_531_200, "utc": "2023-01-01T00:00:00Z"}));
    assert_eq!(shown["times"]["exp"], serde_json::json!({"unix": 1_672_534_800, "utc": "2023-01-01T01:00:00Z"}));
    assert_eq!(shown["times"].get("nbf"), None);
    assert_eq!(at("1672534800")["status"], "expired", "expired at exp itself");
    assert_eq!(at("1672534799")["status"], "valid until 2023-01-01T01:00:00Z");
    assert_eq!(at("1672531140")["status"], "valid until 2023-01-01T01:00:00Z", "60 s early is within the skew");
    assert_eq!(at("1672531139")["status"], "not valid before 2023-01-01T00:00:00Z");
    // Without --jwks the status says the signature was not checked.
    let unchecked = json(&tool(&["inspect", grant, "--now", "1672531200"]));
    assert_eq!(unchecked["status"], "not verified (pass --jwks); expires 2023-01-01T01:00:00Z");
    assert_eq!(unchecked["verified"], serde_json::Value::Null);
    // With the system clock, a grant that ended in 1970 is expired.
    let old = issue_at("0", "1");
    assert_eq!(json(&tool(&["inspect", &old, "--jwks", &jwks]))["status"], "expired");

    // Any token's dates, nbf too: a leap day, before 1970, past year 9999.
    let part = |value: serde_json::Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let token = format!(
        "{}.{}.sig",
        part(serde_json::json!({"alg": "EdDSA"})),
        part(serde_json::json!({"iat": -1, "nbf": 1_709_210_096, "exp": 253_402_300_800_i64}))
    );
    let shown = json(&tool(&["inspect", &token, "--now", "0"]));
    assert_eq!(shown["times"]["iat"]["utc"], "1969-12-31T23:59:59Z");
    assert_eq!(shown["times"]["nbf"]["utc"], "2024-02-29T12:34:56Z");
    assert_eq!(shown["times"]["exp"]["utc"], "+10000-01-01T00:00:00Z");
    let token = format!("{}.{}.sig", part(serde_json::json!({})), part(serde_json::json!({"exp": "soon"})));
    let shown = json(&tool(&["inspect", &token, "--now", "0"]));
    assert_eq!(shown["status"], "no exp claim: not a grant");
    assert_eq!(shown["times"], serde_json::json!({}));
}
