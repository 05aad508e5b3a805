//! Stalled connections, as an attacker holding no credentials makes them
//! (strangers_cannot_stall_or_grow_the_server.rs).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const OCTETS: &str = "application/octet-stream";
/// How long an attacker thread runs at most, whatever happens.
const ATTACKER_MAX: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, Debug)]
pub enum Stall {
    /// Connects and sends nothing.
    Silent,
    /// Half a request head.
    Head,
    /// A whole head for `/sync?device_id=…`, `Content-Length: 1000`, 4 bytes of body.
    Body,
    /// One whole request (answered), then nothing: an idle keep-alive connection.
    KeptAlive,
}

pub fn stalled(addr: &str, how: Stall, device_id: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr.trim_start_matches("http://")).unwrap();
    let head = format!("POST /sync?device_id={device_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {OCTETS}\r\n");
    match how {
        Stall::Silent => {}
        Stall::Head => stream.write_all(head.as_bytes()).unwrap(),
        Stall::Body => stream.write_all(format!("{head}Content-Length: 1000\r\n\r\nabcd").as_bytes()).unwrap(),
        Stall::KeptAlive => stream.write_all(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap(),
    }
    stream
}

/// True if the server has neither answered nor closed `stream`.
pub fn still_open(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let open = matches!((&*stream).read(&mut [0u8; 64]), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).unwrap();
    open
}

/// Reads until the server closes `stream` (an answer such as 408 may come
/// first); true if it did within `within`.
pub fn closed_by_server(mut stream: TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buffer = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return false,
            Err(_) => return true, // reset
        }
    }
}

/// An attacker thread keeping `count` stalled connections of each kind open,
/// opening a new one whenever the server closes one, until dropped.
pub struct Attacker {
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Attacker {
    pub fn start(addr: &str, kinds: &[Stall], count: usize, device_id: &str) -> Self {
        let (stop, opened) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let (addr, kinds, device_id) = (addr.to_owned(), kinds.to_vec(), device_id.to_owned());
        let (stopping, counter) = (stop.clone(), opened.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut held: Vec<(Stall, TcpStream)> = Vec::new();
            // Bounded: stops when told, or after ten minutes whatever happens.
            while !stopping.load(Ordering::SeqCst) && started.elapsed() < ATTACKER_MAX {
                held.retain(|(_, s)| still_open(s));
                for &kind in &kinds {
                    while held
                        .iter()
                        .filter(|(k, _)| std::mem::discriminant(k) == std::mem::discriminant(&kind))
                        .count()
                        < count
                    {
                        held.push((kind, stalled(&addr, kind, &device_id)));
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Self { stop, opened, thread: Some(thread) }
    }

    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::SeqCst)
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
