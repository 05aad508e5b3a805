//! On SIGTERM the binary stops accepting (the port is closed: a new
//! connection is refused), lets the uploads in flight finish and answer,
//! and exits 0; a request that does not finish within `--drain-secs` does
//! not hold the exit longer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use common::{Answer, Device, Rng, USERS};

/// A started server, killed when dropped (a failing test leaves none running).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args`; returns it and its `host:port`.
fn start(args: &[&str]) -> (Server, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_offline-auth-server"))
        .args(args)
        .env_remove("OFFLINE_AUTH_DRAIN_SECS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut server = Server(child);
    BufReader::new(server.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("server said {line:?}"));
    (server, addr.to_owned())
}

fn sigterm(server: &Server) {
    let sent = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert!(sent.success());
}

/// Waits (at most `limit`) for the process to exit.
fn exit_within(server: &mut Server, limit: Duration) -> Option<ExitStatus> {
    let child = &mut server.0;
    let tenth = Duration::from_millis(100);
    for _ in 0..(limit.as_millis() / tenth.as_millis()) {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(tenth);
    }
    None
}

/// Reads up to the end of a response head.
fn read_head(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "closed mid-head: {:?}", String::from_utf8_lossy(&seen));
        seen.push(byte[0]);
    }
    String::from_utf8(seen).unwrap()
}

/// Sends an upload's head (with `Expect: 100-continue`) and waits for the
/// server's `100 Continue`: the server has read the head and is reading the body.
fn begin_upload(addr: &str, device: &Device, length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "POST {} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n",
        device.sync_path()
    )
    .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 100"), "{head}");
    stream
}

/// Tries new connections until one is refused (at most 100 tries, 10 s).
fn refused_soon(addr: &str) -> bool {
    for _ in 0..100 {
        match TcpStream::connect(addr) {
            Err(error) if error.kind() == ErrorKind::ConnectionRefused => return true,
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    false
}

#[test]
fn an_upload_in_flight_at_sigterm_gets_its_200_and_the_server_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let (mut server, addr) = start(&[db.to_str().unwrap(), "127.0.0.1:0", "--drain-secs", "30"]);
    let mut device = Device::enroll(&format!("http://{addr}"), "draining-1", USERS[0]);
    device.edit(20, &mut Rng(7));
    let batch = device.queue.next_batch(100).unwrap().unwrap();
    let (first, rest) = batch.bytes.split_at(batch.bytes.len() / 2);

    let mut upload = begin_upload(&addr, &device, batch.bytes.len());
    upload.write_all(first).unwrap();
    sigterm(&server);
    assert!(refused_soon(&addr), "a new connection is still accepted after SIGTERM");
    upload.write_all(rest).unwrap();

    let mut answer = Vec::new();
    upload.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{answer}");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["applied"], 20, "{body}");
    device.acknowledge(&Answer { status: 200, retry_after: None, body });
    assert_eq!(device.queue.pending_count().unwrap(), 0);

    let status = exit_within(&mut server, Duration::from_secs(30)).expect("the server did not exit after draining");
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn a_stalled_upload_does_not_hold_the_exit_past_the_drain_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    // Body timeouts far beyond the drain deadline: only the deadline can end the wait.
    let args = ["--drain-secs", "1", "--body-idle-secs", "600", "--body-timeout-secs", "600"];
    let (mut server, addr) = start(&[&[db.to_str().unwrap(), "127.0.0.1:0"][..], &args].concat());
    let device = Device::enroll(&format!("http://{addr}"), "stalled-1", USERS[0]);

    let mut upload = begin_upload(&addr, &device, 1000);
    upload.write_all(b"four").unwrap();
    sigterm(&server);
    let status = exit_within(&mut server, Duration::from_secs(60)).expect("the stalled upload held the exit");
    assert_eq!(status.code(), Some(0), "{status}");
    drop(upload);
}
