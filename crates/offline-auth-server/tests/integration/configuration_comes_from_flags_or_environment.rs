//! The binary takes its configuration from flags or from `OFFLINE_AUTH_*`
//! environment variables (a command-line value wins), keeps the positional
//! `DB ADDR` the scripts use, documents every variable and default in
//! `--help`, and refuses a bad value with a message naming it and exit
//! code 2, before it opens or creates anything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The server binary with no `OFFLINE_AUTH_*` variable inherited from the test's environment.
fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_offline-auth-server"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OFFLINE_AUTH_") {
            command.env_remove(name);
        }
    }
    command
}

/// A started server, killed when dropped (a failing test leaves none running).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command`; returns the server and the `host:port` it printed.
fn started(command: &mut Command) -> (Server, String) {
    let child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    let mut server = Server(child);
    BufReader::new(server.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("server said {line:?}"));
    (server, addr.to_owned())
}

/// Sends one keep-alive `GET path` on `stream` and reads its answer: status and body.
fn get(stream: &mut TcpStream, path: &str) -> (u16, String) {
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "closed mid-head: {:?}", String::from_utf8_lossy(&seen));
        seen.push(byte[0]);
    }
    let head = String::from_utf8(seen).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap();
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

#[test]
fn the_server_starts_with_its_configuration_from_the_environment_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-env.db");
    let (server, addr) = started(
        server()
            .env("OFFLINE_AUTH_DB", &db)
            .env("OFFLINE_AUTH_ADDR", "127.0.0.1:0")
            .env("OFFLINE_AUTH_MAX_CONNECTIONS", "1"),
    );
    assert!(!addr.ends_with(":8787"), "OFFLINE_AUTH_ADDR (port 0) was not used: {addr}");
    assert!(db.exists(), "OFFLINE_AUTH_DB was not used");

    // One connection, answered, holds the only slot OFFLINE_AUTH_MAX_CONNECTIONS allows ...
    let mut first = TcpStream::connect(&addr).unwrap();
    assert_eq!(get(&mut first, "/healthz").0, 200);
    // ... so a second one is over the cap (the default is 1024): answered
    // 503 at once and closed, before it sends anything (so it sends nothing).
    let mut second = TcpStream::connect(&addr).unwrap();
    second.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut answer = String::new();
    second.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many connections"), "{answer}");
    drop(server);
}

/// Runs the binary to its end (it must end by itself); `None` if it ran 30 s.
fn run(command: &mut Command) -> Option<Output> {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(Server(child));
    None
}

#[test]
fn a_bad_value_is_refused_with_a_clear_message_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let cases: [(&str, &str, &[&str]); 4] = [
        ("OFFLINE_AUTH_BODY_IDLE_SECS", "soon", &["--body-idle-secs", "soon", "OFFLINE_AUTH_BODY_IDLE_SECS"]),
        ("OFFLINE_AUTH_MAX_CONNECTIONS", "0", &["--max-connections", "'0'"]),
        ("OFFLINE_AUTH_DRAIN_SECS", "-1", &["--drain-secs", "'-1'"]),
        ("OFFLINE_AUTH_ADDR", "0.0.0.0:8787", &["only listens on loopback", "0.0.0.0:8787"]),
    ];
    for (variable, value, said) in cases {
        let output =
            run(server().env("OFFLINE_AUTH_DB", &db).env("OFFLINE_AUTH_ADDR", "127.0.0.1:0").env(variable, value))
                .unwrap_or_else(|| panic!("{variable}={value}: the server started"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{variable}={value}: {stderr}");
        for words in said {
            assert!(stderr.contains(words), "{variable}={value}: {words:?} not in {stderr}");
        }
        assert!(output.stdout.is_empty(), "{variable}={value}: it said {:?}", String::from_utf8_lossy(&output.stdout));
        assert!(!db.exists(), "{variable}={value}: the database was created");
    }
    // The same value as a flag: refused, without the environment's tip.
    let output = run(server().args(["--body-idle-secs", "soon"]).env("OFFLINE_AUTH_DB", &db)).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--body-idle-secs") && !stderr.contains("environment variable"), "{stderr}");
    // The database file given both ways on the command line: refused, not guessed.
    let output = run(server().args(["--db", "a.db", "b.db"]).current_dir(dir.path())).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("given twice"), "{stderr}");
    // With --postgres there is no database file: a DB argument is refused, not taken for the address.
    let url = "postgres://nobody@127.0.0.1:1/none";
    let output = run(server().args(["--postgres", url, "a.db", "127.0.0.1:0"]).current_dir(dir.path())).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the only positional argument is ADDR"), "{stderr}");
    let output = run(server().args(["--postgres", url]).env("OFFLINE_AUTH_DB", &db)).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("OFFLINE_AUTH_DB"), "{stderr}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "a file was created");
}

#[test]
fn the_positional_db_and_addr_still_work_and_win_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (positional, from_env) = (dir.path().join("positional.db"), dir.path().join("env.db"));
    let (server, addr) = started(
        server()
            .arg(&positional)
            .arg("127.0.0.1:0")
            .env("OFFLINE_AUTH_DB", &from_env)
            .env("OFFLINE_AUTH_ADDR", "127.0.0.1:1"),
    );
    assert!(!addr.ends_with(":1"), "{addr}");
    assert!(positional.exists() && !from_env.exists());
    assert_eq!(get(&mut TcpStream::connect(&addr).unwrap(), "/healthz").0, 200);
    drop(server);
}

#[test]
fn help_documents_every_environment_variable_and_default() {
    let output = run(server().arg("--help")).unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for (variable, default) in [
        ("OFFLINE_AUTH_DB", "sync-server.db"),
        ("OFFLINE_AUTH_ADDR", "127.0.0.1:8787"),
        ("OFFLINE_AUTH_MAX_CONNECTIONS", "1024"),
        ("OFFLINE_AUTH_HEADER_TIMEOUT_SECS", "10"),
        ("OFFLINE_AUTH_BODY_TIMEOUT_SECS", "60"),
        ("OFFLINE_AUTH_BODY_IDLE_SECS", "10"),
        ("OFFLINE_AUTH_BODY_BUDGET_MIB", "128"),
        ("OFFLINE_AUTH_PER_ADDRESS_BODY_MIB", "32"),
        ("OFFLINE_AUTH_DRAIN_SECS", "30"),
    ] {
        let line =
            help.lines().find(|l| l.contains(&format!("[env: {variable}="))).unwrap_or_else(|| panic!("{variable}"));
        assert!(line.contains(&format!("[default: {default}]")), "{line}");
    }
    assert!(help.contains("[env: OFFLINE_AUTH_POSTGRES]"), "its value (a URL with a password) is not shown: {help}");
}
